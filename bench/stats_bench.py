#!/usr/bin/env python3
"""bench/stats_bench.py — the monitoring with 100,000 jobs in the job store: runs one real job
through `reelscale serve` for a real record, fills the store with N jobs like it (spread over 30
days, mixed endpoints, hardware, states, lengths, and labelled by 2,000 users and 3 features),
then measures:

  - bytes per job in the store, and after `--retain-days 7` keeps only the summary of older jobs;
  - GET /v1/stats?hours=24 (every job in the window): median and worst of 10 calls, and bytes;
  - the dashboard's first paint in headless Chromium (Debian's, through tests/web's
    playwright-core): navigation to every chart drawn, signed in (and the first load, which
    signs in with the token in the address, apart).

Targets (issue 21): /v1/stats <= 100 ms and <= 200 kB; first paint <= 1 s.
Usage: bench/stats_bench.py BUILD_DIR [--jobs N]"""

import argparse
import json
import os
import random
import shutil
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.join(ROOT, "clients", "python"))
from reelscale_client import Client  # noqa: E402
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from serve_process import start_serve  # noqa: E402

TOKEN = "stats-bench-token-0123456789"


def start(binary, work, extra=()):
    return start_serve(binary, work, TOKEN, extra)


def one_real_job(binary, work):
    clip = os.path.join(work, "clip.mp4")
    subprocess.run(["ffmpeg", "-v", "error", "-y", "-f", "lavfi", "-i", "testsrc2=s=640x360:r=30:d=3", "-c:v", "libx264",
                    clip], check=True)
    proc, url = start(binary, work)
    try:
        client = Client(url, token=TOKEN)
        job = client.submit({"endpoint": "framing", "input": clip, "output": os.path.join(work, "out.mp4"),
                             "output_width": 360, "output_height": 640, "chunks": 3, "preset": "ultrafast",
                             "crop_keyframes": [{"time": 0, "x": 0, "y": 0, "width": 202, "height": 360}]})
        client.wait(job["id"])
    finally:
        proc.terminate()
        proc.wait()


def fill(work, jobs):
    db = sqlite3.connect(os.path.join(work, "jobs.db"))
    cols = [r[1] for r in db.execute("PRAGMA table_info(jobs)")]
    template = dict(zip(cols, db.execute("SELECT * FROM jobs WHERE state = 'done' LIMIT 1").fetchone()))
    chunks = db.execute("SELECT * FROM chunks WHERE job_id = ?", (template["id"],)).fetchall()
    rng = random.Random(21)
    now = time.time()
    rows, chunk_rows, label_rows = [], [], []
    users = [f"u-{n}" for n in range(2000)]
    weights = [1 / (n + 1) for n in range(len(users))]  # a few heavy users, a long tail
    for i in range(jobs):
        row = dict(template)
        row["id"] = f"{i:012x}"
        row["seq"] = i + 10
        row["idempotency_key"] = None
        row["created_unix_s"] = now - rng.random() * 86400  # a production day
        row["started_unix_s"] = row["created_unix_s"] + 0.01
        row["wall_s"] = template["wall_s"] * rng.uniform(0.5, 3)
        row["finished_unix_s"] = row["started_unix_s"] + row["wall_s"]
        row["state"] = rng.choices(["done", "failed", "cancelled"], [0.95, 0.04, 0.01])[0]
        row["endpoint"] = rng.choice(["framing", "framing", "overlay", "framing_ai", "detect"])
        row["hardware"] = rng.choice(["CPU", "CPU", "T4", "A10G"])
        row["cost_usd"] = 0 if row["hardware"] == "CPU" else rng.uniform(0.001, 0.05)
        row["billed_seconds"] = 0 if row["hardware"] == "CPU" else rng.uniform(5, 120)
        row["clip_s"] = rng.choice([3, 8, 15, 30, 45, 90])
        row["chunks_total"] = rng.choice([1, 2, 4, 8])
        labels = {"user_id": rng.choices(users, weights)[0], "feature": rng.choice(["export", "preview", "share"])}
        row["labels"] = json.dumps(labels)
        label_rows += [(row["id"], k, v) for k, v in labels.items()]
        rows.append(tuple(row[c] for c in cols))
        chunk_rows += [(row["id"],) + tuple(c[1:]) for c in chunks]
    db.execute("DELETE FROM jobs")
    db.execute("DELETE FROM chunks")
    db.execute("DELETE FROM job_labels")
    db.executemany("INSERT INTO job_labels (job_id, key, value) VALUES (?, ?, ?)", label_rows)
    db.executemany(f"INSERT INTO jobs ({', '.join(cols)}) VALUES ({', '.join('?' * len(cols))})", rows)
    db.executemany(f"INSERT INTO chunks VALUES ({', '.join('?' * len(chunks[0]))})", chunk_rows)
    # The roll-up `finish` keeps, made as the schema's migration makes it from stored jobs.
    db.execute("DELETE FROM hourly")
    db.execute("""INSERT INTO hourly SELECT CAST(created_unix_s / 3600 AS INTEGER), endpoint, hardware, state,
         MAX(1, chunks_total), CASE WHEN clip_s < 5 THEN 0 WHEN clip_s < 10 THEN 1 WHEN clip_s < 20 THEN 2
         WHEN clip_s < 30 THEN 3 WHEN clip_s < 60 THEN 4 WHEN clip_s < 120 THEN 5 WHEN clip_s < 300 THEN 6 ELSE 7 END,
         COUNT(*), SUM(cost_usd), SUM(cloud_equivalent_usd), SUM(billed_seconds), SUM(clip_s) FROM jobs
         GROUP BY 1, 2, 3, 4, 5, 6""")
    db.execute("DELETE FROM label_hourly")
    db.execute("""INSERT INTO label_hourly SELECT l.key, CAST(j.created_unix_s / 3600 AS INTEGER), l.value, COUNT(*),
         SUM(j.state = 'done'), SUM(j.state = 'failed'), SUM(j.cost_usd), SUM(j.cloud_equivalent_usd), SUM(j.billed_seconds),
         SUM(j.clip_s) FROM job_labels l JOIN jobs j ON j.id = l.job_id GROUP BY 1, 2, 3""")
    db.commit()
    db.execute("VACUUM")
    db.close()


def used_bytes(path):
    db = sqlite3.connect(path)
    page, pages, free = (db.execute(f"PRAGMA {p}").fetchone()[0] for p in ("page_size", "page_count", "freelist_count"))
    db.close()
    return page * (pages - free)


def time_stats(url):
    times, size = [], 0
    for _ in range(10):
        request = urllib.request.Request(url + "/v1/stats?hours=24", headers={"Authorization": "Bearer " + TOKEN})
        t0 = time.monotonic()
        with urllib.request.urlopen(request) as r:
            body = r.read()
        times.append(1000 * (time.monotonic() - t0))
        size = len(body)
    return statistics.median(times), max(times), size, json.loads(body)["jobs"]


FIRST_PAINT = """
import { chromium } from "playwright-core";
const browser = await chromium.launch({ executablePath: "/usr/bin/chromium", headless: true, args: ["--no-sandbox",
  "--disable-gpu", "--disable-quic", "--no-first-run", "--disable-background-networking", "--disable-component-update",
  "--disable-sync"] });
const page = await browser.newPage({ viewport: { width: 1280, height: 900 } });
const drawn = () => page.waitForFunction(() => document.getElementById("status").textContent.startsWith("updated")
  && [...document.querySelectorAll(".charts canvas")].every((c) => Chart.getChart(c)), null, { timeout: 30000 });
// Signing in (the token in the address, a cookie, a redirect) happens once a session.
let t0 = Date.now();
await page.goto(process.argv[2] + "/?token=" + process.argv[3]);
await drawn();
const signIn = Date.now() - t0;
const times = [];
for (let i = 0; i < 5; i++) {
  t0 = Date.now();
  await page.goto(process.argv[2] + "/");
  await drawn();
  times.push(Date.now() - t0);
}
console.log(JSON.stringify({ signIn, times }));
await browser.close();
"""


def first_paint_ms(url):
    script = os.path.join(ROOT, "tests", "web", ".first_paint.mjs")
    with open(script, "w") as f:
        f.write(FIRST_PAINT)
    try:
        run = subprocess.run(["node", script, url, TOKEN], capture_output=True, text=True)
        if run.returncode != 0:
            raise RuntimeError("first paint: " + run.stderr[-2000:])
        out = run.stdout
    finally:
        os.remove(script)
    return json.loads(out.strip().splitlines()[-1])


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("build")
    parser.add_argument("--jobs", type=int, default=100000)
    args = parser.parse_args()
    binary = os.path.join(args.build, "reelscale")
    work = tempfile.mkdtemp(prefix="reelscale-stats-bench-")
    try:
        one_real_job(binary, work)
        fill(work, args.jobs)
        full = used_bytes(os.path.join(work, "jobs.db"))
        proc, url = start(binary, work)
        try:
            median_ms, worst_ms, size, counted = time_stats(url)
            paints = first_paint_ms(url)
        finally:
            proc.terminate()
            proc.wait()
        proc, url = start(binary, work, ["--retain-days", "0.000001"])  # retention runs at start
        proc.terminate()
        proc.wait()
        kept = used_bytes(os.path.join(work, "jobs.db"))
        print(f"- {args.jobs} jobs in the store ({counted} in the stats window)")
        print(f"- store: {full / args.jobs:.0f} bytes per job with full records; {kept / args.jobs:.0f} bytes per job "
              f"after retention keeps only the summary of every job")
        print(f"- GET /v1/stats?hours=24: median {median_ms:.0f} ms, worst {worst_ms:.0f} ms of 10; {size / 1000:.0f} kB")
        print(f"- dashboard first paint (navigation to every chart drawn), signed in, 5 loads: {paints['times']} ms; "
              f"median {statistics.median(paints['times']):.0f} ms; the first load with the sign-in: "
              f"{paints['signIn']} ms")
    finally:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
