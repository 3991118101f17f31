"""Answers per second the study app commits with 50 participants answering at once.

    .venv/bin/python benchmarks/study_load.py [--participants 50] [--rounds 2]

Starts ``python -m genxai.study serve`` (uvicorn, one process) on 127.0.0.1 with the demo items and a
fresh database, then runs ``--participants`` client threads at once; each thread takes part
``--rounds`` times (consent, then every question of the study answered in order over one keep-alive
connection).  Every answer is committed (WAL, synchronous=FULL) before its reply.  Prints the committed
answers per second over the answering phase, the reply latency (median, 95th percentile), and checks
that the database holds exactly the answers sent.  Clients and server share this machine's cores.
"""

from __future__ import annotations

import argparse
import http.client
import json
import os
import socket
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

ADMIN = "benchmark-admin-token-0123456789"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def request(conn: http.client.HTTPConnection, method: str, path: str, body=None, token=None):
    headers = {"Content-Type": "application/json"} if body is not None else {}
    if token:
        headers["Authorization"] = f"Bearer {token}"
    conn.request(method, path, body=None if body is None else json.dumps(body), headers=headers)
    resp = conn.getresponse()
    return resp.status, json.loads(resp.read())


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--participants", type=int, default=50)
    parser.add_argument("--rounds", type=int, default=2, help="visits per client thread")
    args = parser.parse_args()

    from genxai.study.demo import demo_items

    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        demo_items(tmp / "items", n_images=4, scale=2)
        db, port = tmp / "study.db", free_port()
        server = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "genxai.study",
                "serve",
                "--items",
                str(tmp / "items"),
                "--db",
                str(db),
                "--port",
                str(port),
                "--admin-token",
                ADMIN,
                "--log-level",
                "warning",
            ],
            stdout=subprocess.DEVNULL,
            env=dict(os.environ),
        )
        try:
            deadline = time.time() + 60
            while True:
                try:
                    socket.create_connection(("127.0.0.1", port), timeout=1).close()
                    break
                except OSError:
                    if time.time() > deadline or server.poll() is not None:
                        raise RuntimeError("the study server did not start") from None
                    time.sleep(0.1)

            latencies: list[float] = []
            errors: list[str] = []
            lock = threading.Lock()
            ready = threading.Barrier(args.participants + 1)
            t_start = [0.0]

            def client() -> None:
                conn = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
                mine = []
                try:
                    ready.wait()
                    for _ in range(args.rounds):
                        status, body = request(conn, "POST", "/api/participants", {"consent": True})
                        token = body["token"]
                        _, state = request(conn, "GET", "/api/state", token=token)
                        for q in state["questions"]:
                            answer = q["options"][0]["attribute"] if q["kind"] == "classification" else "bigger shape"
                            t = time.perf_counter()
                            status, body = request(
                                conn, "POST", "/api/answers", {"question": q["id"], "answer": answer}, token=token
                            )
                            mine.append(time.perf_counter() - t)
                            if status != 200:
                                raise RuntimeError(f"{status}: {body}")
                except Exception as err:  # noqa: BLE001 -- reported below
                    with lock:
                        errors.append(repr(err))
                finally:
                    conn.close()
                    with lock:
                        latencies.extend(mine)

            threads = [threading.Thread(target=client) for _ in range(args.participants)]
            for t in threads:
                t.start()
            ready.wait()
            t_start[0] = time.perf_counter()
            for t in threads:
                t.join(timeout=600)
            wall = time.perf_counter() - t_start[0]
        finally:
            server.terminate()
            server.wait(timeout=30)
        with sqlite3.connect(db) as conn:
            stored = conn.execute("SELECT COUNT(*) FROM answers").fetchone()[0]
            integrity = conn.execute("PRAGMA integrity_check").fetchone()[0]
    if errors:
        print(f"{len(errors)} client errors, first: {errors[0]}", file=sys.stderr)
        return 1
    lat = sorted(latencies)
    print(
        f"{args.participants} participants x {args.rounds} visits on {os.cpu_count()} cores: "
        f"{stored} answers committed in {wall:.2f} s = {stored / wall:.0f} answers/s "
        f"(includes consent and state requests); reply latency median {statistics.median(lat) * 1000:.1f} ms, "
        f"p95 {lat[int(0.95 * (len(lat) - 1))] * 1000:.1f} ms; answers sent {len(lat)}, stored {stored}, "
        f"integrity {integrity}"
    )
    return 0 if stored == len(lat) and integrity == "ok" else 1


if __name__ == "__main__":
    sys.exit(main())
