"""One writer per cache key: an ``O_EXCL`` lock file with stale-lock recovery.

Several processes (notebooks of a run, workers of a Dask cluster, ranks of a DDP job) may ask
:func:`~genxai.models.cache.get_or_train` for the same uncached model at the same time, on one
machine or on several that share ``GENXAI_CACHE_DIR``.  The first creates ``<key>.lock`` with
``O_CREAT | O_EXCL`` (atomic on local file systems and on NFSv3+) and trains; the others wait
until the file is gone and then load what it wrote.

The lock file holds the holder's host, pid, a random token and its start time (JSON).  Its
*modification time* is the heartbeat: a thread of the holder refreshes it every
``heartbeat_s`` seconds with ``os.utime``.  The heartbeat is the mtime rather than a field
rewritten inside the file because rewriting the content in place could hand a waiter a
half-written file; ``utime`` is atomic, and on NFS the server stamps it with its own clock.

A waiter takes a lock over when its holder is gone:

* same host and the pid is not running (a killed process, ``kill -9`` included), or the pid
  is the waiter's own without the waiter holding the lock (a pid reused after a restart);
* any host, when the heartbeat is older than ``stale_after_s`` (a dead machine, a pid reused
  by another program).

Breaking a lock renames it to a unique name first (atomic; only one waiter wins) and checks
that the renamed file still carries the token judged stale, so a lock that was broken and
re-acquired in between is put back instead of deleted.

Why hand-written: ``filelock`` (the usual library) relies on ``flock``/``fcntl`` locks, which
a killed process releases but which are unreliable on the network file systems a cluster's
shared cache lives on, and it records no holder to report or to judge stale across hosts.
"""

from __future__ import annotations

import json
import os
import socket
import sys
import threading
import time
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import Any, Self

#: Seconds between the holder's heartbeats.
HEARTBEAT_S = 15.0
#: A lock whose heartbeat is older than this is stale even when its host cannot be checked.
STALE_AFTER_S = 300.0
#: Seconds between a waiter's looks at the lock.
POLL_S = 0.5
#: Seconds between two "still waiting" messages.
REPORT_EVERY_S = 60.0

# locks this process holds: path -> [token, depth, owner].  A nested acquire of a held lock (a DDP rank 0
# that locks a key and then trains it through get_or_train) only deepens it.
_held: dict[str, list[Any]] = {}
_held_guard = threading.Lock()


class LockTimeout(TimeoutError):
    pass


def _host() -> str:
    return socket.gethostname()


def _pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # a process of another user: alive
        return True
    except OSError:
        return False
    return True


def read_lock(path: Path) -> dict[str, Any] | None:
    """The holder record of ``path`` plus ``heartbeat`` (its mtime), or None when there is no lock."""
    try:
        text = Path(path).read_text()
        mtime = os.stat(path).st_mtime
    except FileNotFoundError:
        return None
    try:
        info = json.loads(text)
    except json.JSONDecodeError:  # created but not yet written: judged by its heartbeat alone
        info = {}
    info["heartbeat"] = mtime
    return info


def stale_reason(info: dict[str, Any], stale_after_s: float = STALE_AFTER_S) -> str | None:
    """Why the lock described by ``info`` is stale, or None while its holder may be alive."""
    age = time.time() - info["heartbeat"]
    if info.get("host") == _host() and isinstance(info.get("pid"), int):
        pid = info["pid"]
        if not _pid_alive(pid):
            return f"its holder (pid {pid} on this host) is not running"
        if pid == os.getpid() and info.get("token") not in {entry[0] for entry in _held.values()}:
            return f"it names this process (pid {pid}) which does not hold it (a pid reused after a restart)"
    if age > stale_after_s:
        return f"its heartbeat is {age:.0f} s old (limit {stale_after_s:.0f} s)"
    return None


def describe(info: dict[str, Any]) -> str:
    who = f"pid {info.get('pid', '?')} on {info.get('host', '?')}"
    age = time.time() - info["heartbeat"]
    return f"{who}, heartbeat {age:.0f} s ago"


class KeyLock:
    """A cross-process, cross-host lock on one cache key; use as a context manager.

    Args:
        path: the lock file (``<cache>/models/<family>/<key>.lock``).
        what: how messages name the locked thing (e.g. ``ganmex/0123abcd``).
        timeout_s: give up waiting after this long (``None``: wait while the holder lives).
        heartbeat_s, stale_after_s, poll_s: see the module constants.
        report: where waiting messages go (default: a line on stderr).
    """

    def __init__(
        self,
        path: str | os.PathLike,
        what: str | None = None,
        timeout_s: float | None = None,
        heartbeat_s: float = HEARTBEAT_S,
        stale_after_s: float = STALE_AFTER_S,
        poll_s: float = POLL_S,
        report: Callable[[str], None] | None = None,
    ):
        if stale_after_s <= heartbeat_s:
            raise ValueError(
                f"stale_after_s ({stale_after_s}) must exceed heartbeat_s ({heartbeat_s}), "
                "or a live holder's lock would be taken over"
            )
        self.path = Path(path)
        self.what = what or self.path.stem
        self.timeout_s = timeout_s
        self.heartbeat_s = heartbeat_s
        self.stale_after_s = stale_after_s
        self.poll_s = poll_s
        self.report = report or (lambda msg: print(msg, file=sys.stderr, flush=True))
        self.took_over = False  # this acquisition broke a stale lock (leftovers of its holder may exist)
        self.waited_s = 0.0
        self._token: str | None = None
        self._stop = threading.Event()
        self._beat: threading.Thread | None = None

    # ------------------------------------------------------------------ acquire / release
    def _try_create(self) -> bool:
        token = uuid.uuid4().hex
        try:
            fd = os.open(self.path, os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o644)
        except FileExistsError:
            return False
        record = {
            "host": _host(),
            "pid": os.getpid(),
            "token": token,
            "started": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
            "what": self.what,
        }
        with os.fdopen(fd, "w") as fh:
            fh.write(json.dumps(record))
            fh.flush()
            os.fsync(fh.fileno())
        self._token = token
        return True

    def _break(self, info: dict[str, Any]) -> bool:
        """Remove the stale lock ``info`` describes; False when someone else got there first."""
        aside = self.path.with_name(f"{self.path.name}.stale-{uuid.uuid4().hex[:8]}")
        try:
            os.rename(self.path, aside)
        except FileNotFoundError:
            return False
        moved = read_lock(aside) or {}
        if moved.get("token") != info.get("token"):
            # broken and re-acquired by another process between our look and our rename: put it back
            try:
                os.link(aside, self.path)
            except FileExistsError:
                pass  # yet another lock exists already; the worst case is one duplicate training
            os.unlink(aside)
            return False
        os.unlink(aside)
        return True

    def acquire(self) -> KeyLock:
        key = str(self.path.resolve())
        with _held_guard:
            if key in _held:  # this process holds it already (nested use): deepen
                _held[key][1] += 1
                self._token = _held[key][0]
                self.took_over = _held[key][2].took_over
                return self
        self.path.parent.mkdir(parents=True, exist_ok=True)
        started = last_report = time.time()
        announced = False
        while not self._try_create():
            info = read_lock(self.path)
            if info is None:
                continue  # released between our create and our read: try again at once
            reason = stale_reason(info, self.stale_after_s)
            if reason is not None:
                if self._break(info):
                    self.report(f"genxai: took over the lock of {self.what} ({self.path}): {reason}")
                    self.took_over = True
                continue
            now = time.time()
            if not announced or now - last_report >= REPORT_EVERY_S:
                self.report(
                    f"genxai: waiting for {self.what}, being trained by {describe(info)} "
                    f"(waited {now - started:.0f} s; it is loaded once written; lock {self.path})"
                )
                announced, last_report = True, now
            if self.timeout_s is not None and now - started > self.timeout_s:
                raise LockTimeout(
                    f"gave up after {self.timeout_s:.0f} s waiting for {self.what} held by "
                    f"{describe(info)}; if that process is gone, delete {self.path}"
                )
            time.sleep(self.poll_s)
        self.waited_s = time.time() - started
        with _held_guard:
            _held[key] = [self._token, 1, self]
        self._stop.clear()
        self._beat = threading.Thread(target=self._heartbeat, name=f"genxai-lock-{self.what}", daemon=True)
        self._beat.start()
        return self

    def _heartbeat(self) -> None:
        while not self._stop.wait(self.heartbeat_s):
            info = read_lock(self.path)
            if info is not None and info.get("token") == self._token:
                try:
                    os.utime(self.path)
                except FileNotFoundError:
                    pass

    def release(self) -> None:
        key = str(self.path.resolve())
        with _held_guard:
            entry = _held.get(key)
            if entry is None:
                return
            entry[1] -= 1
            if entry[1] > 0:
                return
            del _held[key]
        owner = entry[2]  # the instance that created the file runs the heartbeat
        owner._stop.set()
        if owner._beat is not None:
            owner._beat.join()
        info = read_lock(self.path)
        if info is not None and info.get("token") == self._token:
            self.path.unlink(missing_ok=True)

    def __enter__(self) -> Self:
        return self.acquire()

    def __exit__(self, *exc: object) -> None:
        self.release()
