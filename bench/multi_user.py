#!/usr/bin/env python3
"""bench/multi_user.py — a compressed day of several users with skewed demand through
`reelscale serve` (local slots, one job at a time), three ways in the same run:
  1. first come, first served (the default);
  2. --fair-share user_id;
  3. --fair-share user_id with --budgets: a per-user daily cap (reject at the cap) of half
     what the bulk user spent in run 1.
The demand, the same each time: a bulk user submits 40 exports at once; three users submit
one job every 3, 4 and 6 s for 60 s. Per user it reports the jobs run and refused, its share
of the fleet (its jobs' run time over all run time), the p50 and p95 wait (queued to
started), and the p95 of each job's wait over its fair-share bound: with U users on R
runners each has at least 1/U of the fleet, so a job with k - 1 of its user's jobs queued
ahead of it should start within k x U x (p95 job run time) / R. Above 1, the bound is broken.
Prints Markdown. Usage: bench/multi_user.py BUILD_DIR [WORK_DIR]"""

import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import threading
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.join(ROOT, "clients", "python"))
from reelscale_client import Client, ServiceError  # noqa: E402
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from serve_process import start_serve  # noqa: E402

TOKEN = "multi-user-bench-token-0123456789"
RUNNERS = 1
STEADY = {"steady-3s": 3.0, "steady-4s": 4.0, "steady-6s": 6.0}
BULK_JOBS = 40
DAY_S = 60.0


def spec(work, name):
    return {"endpoint": "framing", "input": os.path.join(work, "clip.mp4"), "output": os.path.join(work, name + ".mp4"),
            "output_width": 640, "output_height": 360, "preset": "veryfast", "chunks": 1,
            "crop_keyframes": [{"time": 0, "x": 0, "y": 0, "width": 640, "height": 360}]}


def submit(client, work, user, name, refused):
    try:
        client.submit(spec(work, name), labels={"user_id": user})
    except ServiceError as e:
        if e.status != 429:
            raise
        refused[user] = refused.get(user, 0) + 1


def drive(client, work):
    """Submits the day's demand; returns the refusals by user."""
    refused = {}
    t0 = time.monotonic()

    def steady(user, every_s):
        n = 0
        while time.monotonic() - t0 < DAY_S:
            submit(client, work, user, f"{user}-{n}", refused)
            n += 1
            time.sleep(max(0.0, t0 + n * every_s - time.monotonic()))

    threads = [threading.Thread(target=steady, args=(u, s)) for u, s in STEADY.items()]
    for t in threads:
        t.start()
    for i in range(BULK_JOBS):
        submit(client, work, "bulk", f"bulk-{i}", refused)
    for t in threads:
        t.join()
    return refused


def p95(values):
    values = sorted(values)
    return values[min(len(values) - 1, int(0.95 * len(values)))] if values else 0.0


def finished_jobs(client):
    while True:
        jobs = list(client.jobs(page_size=1000))
        if all(j["state"] in ("done", "failed", "cancelled") for j in jobs):
            return jobs
        time.sleep(0.5)


def bound_ratios(jobs, users, run_p95):
    """Each job's wait over k x U x run_p95 / RUNNERS, k - 1 its user's jobs queued ahead."""
    ratios = {}
    for j in jobs:
        user = j["labels"]["user_id"]
        ahead = sum(1 for o in jobs if o["labels"]["user_id"] == user and o["created_unix_s"] < j["created_unix_s"]
                    and o["started_unix_s"] > j["created_unix_s"])
        bound = (ahead + 1) * users * run_p95 / RUNNERS
        ratios.setdefault(user, []).append((j["started_unix_s"] - j["created_unix_s"]) / bound)
    return ratios


def run(binary, work, extra):
    if os.path.exists(os.path.join(work, "jobs.db")):
        for name in os.listdir(work):
            if name.startswith("jobs.db") or name.endswith(".mp4") and name != "clip.mp4":
                os.remove(os.path.join(work, name))
    proc, url = start_serve(binary, work, TOKEN, ["--max-running", str(RUNNERS), "--max-queued", "1000", *extra])
    try:
        client = Client(url, token=TOKEN)
        refused = drive(client, work)
        jobs = [j for j in finished_jobs(client) if j["state"] == "done"]
        budgets = client.budgets()
    finally:
        proc.terminate()
        proc.wait()
    return jobs, refused, budgets


def table(title, jobs, refused, budgets):
    runs = [j["finished_unix_s"] - j["started_unix_s"] for j in jobs]
    run_p95 = p95(runs)
    users = ["bulk", *STEADY]
    ratios = bound_ratios(jobs, len(users), run_p95)
    total_run = sum(runs)
    caps = {b["name"]: b for b in budgets.get("budgets", [])}
    lines = [f"**{title}** (job run time p95 {run_p95:.2f} s)", "",
             "| user | jobs run | refused | share of the fleet | wait p50, s | wait p95, s | p95 wait / fair-share bound | spend, $ | daily cap, $ |",
             "|---|---|---|---|---|---|---|---|---|"]
    spend_by_user = {}
    for u in users:
        mine = [j for j in jobs if j["labels"]["user_id"] == u]
        waits = [j["started_unix_s"] - j["created_unix_s"] for j in mine]
        share = sum(j["finished_unix_s"] - j["started_unix_s"] for j in mine) / total_run
        spend = sum(max(j["actual"]["cost_usd"], j["actual"]["cloud_equivalent_usd"]) for j in mine)
        spend_by_user[u] = spend
        cap = caps.get(f"per-user[user_id={u}]")
        lines.append(f"| {u} | {len(mine)} | {refused.get(u, 0)} | {100 * share:.0f} % | {statistics.median(waits):.1f} | "
                     f"{p95(waits):.1f} | {p95(ratios.get(u, [0])):.2f} | {spend:.6f} | "
                     + (f"{cap['usd']:.6f} |" if cap else "— |"))
    return "\n".join(lines), spend_by_user


def main():
    binary = os.path.join(os.path.abspath(sys.argv[1] if len(sys.argv) > 1 else "build"), "reelscale")
    work = sys.argv[2] if len(sys.argv) > 2 else tempfile.mkdtemp(prefix="reelscale-multi-user-")
    os.makedirs(work, exist_ok=True)
    subprocess.run(["ffmpeg", "-v", "error", "-y", "-f", "lavfi", "-i", "testsrc2=size=640x360:rate=30", "-t", "1",
                    "-c:v", "libx264", "-preset", "veryfast", os.path.join(work, "clip.mp4")], check=True)
    print("# A compressed day of four users through `reelscale serve`\n")
    fcfs, spend = table("First come, first served", *run(binary, work, []))
    print(fcfs + "\n")
    fair, _ = table("--fair-share user_id", *run(binary, work, ["--fair-share", "user_id"]))
    print(fair + "\n")
    cap = spend["bulk"] / 2
    with open(os.path.join(work, "budgets.json"), "w") as f:
        json.dump({"time_zone": "UTC", "budgets": [{"name": "per-user", "each": "user_id", "per": "day", "usd": cap,
                                                      "at_cap": "reject"}]}, f)
    budgeted, _ = table(f"--fair-share user_id --budgets (per user ${cap:.6f} a day, reject at the cap)",
                        *run(binary, work, ["--fair-share", "user_id", "--budgets", os.path.join(work, "budgets.json")]))
    print(budgeted)
    if len(sys.argv) <= 2:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
