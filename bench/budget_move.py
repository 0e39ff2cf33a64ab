#!/usr/bin/env python3
"""bench/budget_move.py — a budget near its cap moves the next plan toward cost, on the real
service: two loopback `reelscale worker`s priced as T4s behind `reelscale serve` with the policy
{"objective": "fastest", "deadline_s": 180}. Each run, on a fresh job store:
  1. one job under a per-user daily budget far from its cap: the plan is the policy's (fastest);
  2. the service restarted with the cap set to what that job spent plus three of its plans,
     and adapt_at just below what is spent: the next plan is moved (cheapest within the
     deadline) and names the budget; it runs, and its real wall time and cost are read back;
  3. jobs submitted until the cap refuses one (429, naming the budget).
The job: a 3 s 320x180 clip framed to 1280x720 with x264 medium, the planner choosing chunks.
Prints Markdown: per run, the plan before and after (chunks, p90, cost) and what each job
really took, then the medians. Usage: bench/budget_move.py BUILD_DIR [WORK_DIR] [RUNS]"""

import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.join(ROOT, "clients", "python"))
from reelscale_client import Client, ServiceError  # noqa: E402
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from serve_process import free_port, start_serve  # noqa: E402

TOKEN = "budget-move-bench-token-0123456789"
WORKER_TOKEN = "budget-move-worker-token-0123456789"
POLICY = {"objective": "fastest", "deadline_s": 180}
USER = "u1"


def start_workers(binary, work, count):
    """Starts `count` loopback workers; returns (processes, comma-separated URLs)."""
    with open(os.path.join(work, "worker-token"), "w") as f:
        f.write(WORKER_TOKEN + "\n")
    procs, urls = [], []
    for i in range(count):
        port = free_port()
        log = open(os.path.join(work, f"worker{i}.log"), "a")
        procs.append(subprocess.Popen([binary, "worker", "--listen", f"127.0.0.1:{port}", "--scratch", work,
                                       "--allow", work, "--token-file", os.path.join(work, "worker-token")],
                                      stdout=log, stderr=subprocess.STDOUT))
        urls.append(f"http://127.0.0.1:{port}")
        for _ in range(200):
            try:
                with urllib.request.urlopen(urls[-1] + "/healthz", timeout=1):
                    break
            except OSError:
                time.sleep(0.1)
        else:
            raise RuntimeError(f"worker {i} did not answer; see {work}/worker{i}.log")
    return procs, ",".join(urls)


def spec(work, name):
    return {"endpoint": "framing", "input": os.path.join(work, "clip.mp4"), "output": os.path.join(work, name + ".mp4"),
            "output_width": 1280, "output_height": 720, "fps": 30, "preset": "medium",
            "crop_keyframes": [{"time": 0, "x": 0, "y": 0, "width": 320, "height": 180}]}


def write_budgets(work, budget):
    path = os.path.join(work, "budgets.json")
    with open(path, "w") as f:
        json.dump({"time_zone": "UTC", "budgets": [budget]}, f)
    return path


def spent(job):
    return max(job["actual"]["cost_usd"], job["actual"]["cloud_equivalent_usd"])


def serve_with(binary, work, urls, budget):
    args = ["--workers", urls, "--worker-token-file", os.path.join(work, "worker-token"), "--worker-hardware", "T4",
            "--policy", os.path.join(work, "policy.json"), "--max-running", "1",
            "--budgets", write_budgets(work, budget)]
    proc, url = start_serve(binary, work, TOKEN, args)
    return proc, Client(url, token=TOKEN)


def one_job(client, work, name):
    """Submits a job and waits for it; returns (the reply's plan, the finished job)."""
    reply = client.submit(spec(work, name), labels={"user_id": USER})
    return reply["plan"], client.wait(reply["id"], timeout=300)


def until_refused(client, work):
    """Submits jobs until one is refused; returns (jobs admitted, the refusal), waiting for the admitted."""
    admitted = []
    for i in range(20):
        try:
            admitted.append(client.submit(spec(work, f"more{i}"), labels={"user_id": USER})["id"])
        except ServiceError as e:
            for job_id in admitted:
                client.wait(job_id, timeout=300)
            return len(admitted), e
    raise RuntimeError("twenty jobs did not reach the cap")


def one_run(binary, work, urls):
    for name in os.listdir(work):
        if name.startswith("jobs.db") or (name.endswith(".mp4") and name != "clip.mp4"):
            os.remove(os.path.join(work, name))
    budget = {"name": "per-user", "each": "user_id", "per": "day", "usd": 1000, "at_cap": "reject"}
    proc, client = serve_with(binary, work, urls, budget)
    try:
        fastest, first = one_job(client, work, "first")
    finally:
        proc.terminate()
        proc.wait()
    cap = spent(first) + 3 * fastest["cost_usd"]
    proc, client = serve_with(binary, work, urls, dict(budget, usd=cap, adapt_at=0.9 * spent(first) / cap))
    try:
        moved, second = one_job(client, work, "second")
        admitted, refusal = until_refused(client, work)
    finally:
        proc.terminate()
        proc.wait()
    return {"fastest": fastest, "first": first, "moved": moved, "second": second, "admitted": admitted,
            "refusal": refusal}


def plan_cells(plan):
    return f"{plan['chunks']} | {plan['wall_p90_s']:.2f} | {plan['cost_usd']:.6f}"


def real_cells(job):
    return f"{job['finished_unix_s'] - job['started_unix_s']:.2f} | {spent(job):.6f}"


def report(runs):
    print("# A budget near its cap moves the next plan toward cost\n")
    print("Plans are the replies' `plan`; real wall is started to finished, real cost the job's bill.\n")
    print("| run | before: chunks | p90 s | plan $ | real wall s | real $ | after: chunks | p90 s | plan $ "
          "| real wall s | real $ | moved by | admitted, then | refusal |")
    print("|---|---|---|---|---|---|---|---|---|---|---|---|---|---|")
    for i, r in enumerate(runs, 1):
        print(f"| {i} | {plan_cells(r['fastest'])} | {real_cells(r['first'])} | {plan_cells(r['moved'])} | "
              f"{real_cells(r['second'])} | {r['moved'].get('budget_moved', 'not moved')} | {r['admitted']} | "
              f"{r['refusal'].status} {r['refusal'].kind} |")

    def median(f):
        return statistics.median(f(r) for r in runs)
    print(f"\nMedians: planned cost after over before "
          f"{median(lambda r: r['moved']['cost_usd'] / r['fastest']['cost_usd']):.3f}, real cost after over before "
          f"{median(lambda r: spent(r['second']) / spent(r['first'])):.3f}, planned p90 after over before "
          f"{median(lambda r: r['moved']['wall_p90_s'] / r['fastest']['wall_p90_s']):.3f} "
          f"(deadline {POLICY['deadline_s']} s).")


def main():
    binary = os.path.join(os.path.abspath(sys.argv[1] if len(sys.argv) > 1 else "build"), "reelscale")
    work = sys.argv[2] if len(sys.argv) > 2 else tempfile.mkdtemp(prefix="reelscale-budget-move-")
    runs = int(sys.argv[3]) if len(sys.argv) > 3 else 3
    os.makedirs(work, exist_ok=True)
    with open(os.path.join(work, "policy.json"), "w") as f:
        json.dump(POLICY, f)
    subprocess.run(["ffmpeg", "-v", "error", "-y", "-f", "lavfi", "-i", "testsrc2=size=320x180:rate=30", "-t", "3",
                    "-c:v", "libx264", "-preset", "veryfast", "-g", "30", os.path.join(work, "clip.mp4")], check=True)
    workers, urls = start_workers(binary, work, 2)
    try:
        report([one_run(binary, work, urls) for _ in range(runs)])
    finally:
        for w in workers:
            w.terminate()
            w.wait()
    if len(sys.argv) <= 2:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
