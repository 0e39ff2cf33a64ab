#!/usr/bin/env python3
"""bench/service_bench.py — the job service's own overhead and throughput, against the
`reelscale run` CLI doing the same trivial jobs in the same run.

Starts `reelscale serve` on loopback (2 jobs at once, local slots), then:
  1. 20 trivial jobs one after another (framing, 15 frames of 192x108, 1 chunk): the submit
     round trip (check, probe, plan, store), accept to first chunk dispatched (queue wait
     + the job's probe and plan), last chunk to record written (join, cleanup, store);
  2. 60 trivial jobs submitted at once: jobs per second from the first submit to the last
     job done;
  3. the reference: the same job through `reelscale run` 10 times (a process each).
Prints Markdown. Usage: bench/service_bench.py BUILD_DIR [WORK_DIR]"""

import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.join(ROOT, "clients", "python"))
from reelscale_client import Client  # noqa: E402
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from serve_process import start_serve  # noqa: E402


def job(work, i):
    return {"endpoint": "framing", "input": os.path.join(work, "tiny.mp4"), "output": os.path.join(work, f"out-{i}.mp4"),
            "output_width": 192, "output_height": 108, "preset": "ultrafast", "chunks": 1,
            "crop_keyframes": [{"time": 0, "x": 0, "y": 0, "width": 192, "height": 108}]}


def start_service(binary, work):
    token = "service-bench-token-0123456789"
    proc, url = start_serve(binary, work, token, ["--max-queued", "200", "--max-running", "2"])
    return proc, Client(url, token=token)


def sequential(client, work, n=20):
    submit_ms, head_ms, tail_ms = [], [], []
    for i in range(n):
        t0 = time.monotonic()
        accepted = client.submit(job(work, i))
        submit_ms.append(1000 * (time.monotonic() - t0))
        j = client.wait(accepted["id"], poll_s=0.01)
        t = j["record"]["timings_s"]
        head_ms.append(1000 * (j["started_unix_s"] - j["created_unix_s"] + t["probe"] + t["plan"]))
        tail_ms.append(1000 * (j["finished_unix_s"] - j["started_unix_s"] - t["probe"] - t["plan"] - t["dispatch"]))
    return submit_ms, head_ms, tail_ms


def burst(client, work, n=60):
    t0 = time.monotonic()
    ids = [client.submit(job(work, 100 + i))["id"] for i in range(n)]
    for i in ids:
        client.wait(i, poll_s=0.02)
    return n / (time.monotonic() - t0)


def reference(binary, work, n=10):
    times = []
    for i in range(n):
        path = os.path.join(work, f"cli-{i}.json")
        with open(path, "w") as f:
            json.dump(job(work, 200 + i), f)
        t0 = time.monotonic()
        subprocess.run([binary, "run", path, "--json"], check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        times.append(time.monotonic() - t0)
    return n / sum(times), statistics.median(times)


def main():
    binary = os.path.join(os.path.abspath(sys.argv[1] if len(sys.argv) > 1 else "build"), "reelscale")
    work = sys.argv[2] if len(sys.argv) > 2 else tempfile.mkdtemp(prefix="reelscale-service-bench-")
    os.makedirs(work, exist_ok=True)
    subprocess.run(["ffmpeg", "-v", "error", "-y", "-f", "lavfi", "-i", "testsrc2=size=192x108:rate=30", "-t", "0.5",
                    "-c:v", "libx264", "-preset", "ultrafast", os.path.join(work, "tiny.mp4")], check=True)
    proc, client = start_service(binary, work)
    try:
        submit_ms, head_ms, tail_ms = sequential(client, work)
        service_jps = burst(client, work)
    finally:
        proc.terminate()
        proc.wait(timeout=30)
    cli_jps, cli_median_s = reference(binary, work)
    med = statistics.median
    print("| measure | median | p90 |\n|---|---|---|")
    for name, v in (("submit round trip (check, probe, plan, store), ms", submit_ms),
                    ("accept to first chunk dispatched, ms", head_ms),
                    ("last chunk to record written, ms", tail_ms)):
        print(f"| {name} | {med(v):.1f} | {sorted(v)[int(0.9 * (len(v) - 1))]:.1f} |")
    print(f"\n| throughput, trivial jobs | jobs/s |\n|---|---|\n| `reelscale serve`, 60 submitted at once, 2 running |"
          f" {service_jps:.1f} |\n| `reelscale run`, one process a job (reference) | {cli_jps:.1f} |\n"
          f"\nservice / CLI: **{service_jps / cli_jps:.1f}x** (a CLI job takes {cli_median_s * 1000:.0f} ms median,"
          f" most of it process start-up)")
    if len(sys.argv) <= 2:
        shutil.rmtree(work)


if __name__ == "__main__":
    main()
