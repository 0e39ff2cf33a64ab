"""bench/serve_process.py — what the service benchmarks share: `reelscale serve` started on a
free loopback port over a work folder (its token file, job store and log there), waited for
until /readyz answers."""

import os
import socket
import subprocess
import time
import urllib.request


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def start_serve(binary, work, token, extra=()):
    """Starts the service with `work` as its store's folder and only allowed folder; returns
    (process, base URL). The log is appended to work/serve.log."""
    with open(os.path.join(work, "token"), "w") as f:
        f.write(token + "\n")
    port = free_port()
    log = open(os.path.join(work, "serve.log"), "a")
    proc = subprocess.Popen([binary, "serve", "--listen", f"127.0.0.1:{port}", "--db", os.path.join(work, "jobs.db"),
                             "--token-file", os.path.join(work, "token"), "--allow", work, *extra],
                            stdout=log, stderr=subprocess.STDOUT)
    url = f"http://127.0.0.1:{port}"
    for _ in range(600):
        try:
            with urllib.request.urlopen(url + "/readyz", timeout=1):
                return proc, url
        except OSError:
            if proc.poll() is not None:
                raise RuntimeError("reelscale serve exited; see " + os.path.join(work, "serve.log"))
            time.sleep(0.1)
    raise RuntimeError("reelscale serve did not become ready")
