"""Helpers for the study tests: demo items, a uvicorn server in a subprocess, a tiny HTTP client."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path

ADMIN = "admin-token-for-tests-0123456789"


def make_items(folder: Path) -> Path:
    from genxai.study.demo import demo_items

    demo_items(folder, n_images=4, scale=2)
    return folder


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def call(method: str, url: str, body=None, token: str | None = None, timeout: float = 30.0):
    """(status, parsed JSON or text) of one request; never raises for HTTP errors."""
    data = None if body is None else json.dumps(body).encode()
    req = urllib.request.Request(url, data=data, method=method)
    if data is not None:
        req.add_header("Content-Type", "application/json")
    if token:
        req.add_header("Authorization", f"Bearer {token}")
    try:
        with urllib.request.urlopen(req, timeout=timeout) as resp:
            status, raw, ctype = resp.status, resp.read(), resp.headers.get("content-type", "")
    except urllib.error.HTTPError as err:
        status, raw, ctype = err.code, err.read(), err.headers.get("content-type", "")
    return status, (json.loads(raw) if "json" in ctype else raw.decode())


class StudyServer:
    """``python -m genxai.study serve`` on 127.0.0.1 and a free port, in its own process."""

    def __init__(self, items: Path, db: Path, log: Path):
        self.items, self.db, self.log = items, db, log
        self.proc: subprocess.Popen | None = None
        self.port = 0

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self, timeout: float = 60.0, port: int | None = None) -> StudyServer:
        self.port = port or free_port()
        cmd = [
            sys.executable,
            "-m",
            "genxai.study",
            "serve",
            "--items",
            str(self.items),
            "--db",
            str(self.db),
            "--host",
            "127.0.0.1",
            "--port",
            str(self.port),
            "--admin-token",
            ADMIN,
            "--log-level",
            "warning",
        ]
        with open(self.log, "ab") as log:
            self.proc = subprocess.Popen(cmd, stdout=log, stderr=subprocess.STDOUT, env=dict(os.environ))
        deadline = time.time() + timeout
        while time.time() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"the study server exited ({self.proc.returncode}):\n{self.log.read_text()}")
            try:
                if call("GET", self.url + "/static/style.css", timeout=2)[0] == 200:
                    return self
            except OSError:
                pass
            time.sleep(0.1)
        self.kill()
        raise RuntimeError(f"the study server did not answer within {timeout} s:\n{self.log.read_text()}")

    def kill(self) -> None:
        """SIGKILL: no shutdown handler runs, as in a crash."""
        if self.proc is not None and self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait(timeout=30)

    def stop(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.kill()
