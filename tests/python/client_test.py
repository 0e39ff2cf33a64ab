"""tests/python/client_test.py — the Python client (clients/python) against a real
`reelscale serve` started here on loopback: remote() with progress to a finished output,
spawn() then cancel, plan, the listing, the service's refusals as ServiceError, and a
backend's webhook receiver (http.server) checking events with verify_webhook, with
labels listed and summed.

Usage: client_test.py REELSCALE_BINARY"""

import http.server
import json
import os
import re
import shutil
import threading
import socket
import subprocess
import sys
import tempfile
import time
import unittest
import urllib.request

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
sys.path.insert(0, os.path.join(ROOT, "clients", "python"))
from reelscale_client import Client, JobFailed, ServiceError, WebhookVerificationError, verify_webhook  # noqa: E402

BINARY = sys.argv.pop(1) if len(sys.argv) > 1 else os.path.join(ROOT, "build", "reelscale")
TOKEN = "python-client-token-0123456789"
WEBHOOK_SECRET = "whsec_c2VjcmV0IG9mIHRoZSBweXRob24gY2xpZW50IHRlc3Q="


class Receiver(http.server.ThreadingHTTPServer):
    """A backend's webhook endpoint: keeps each request's headers and raw body."""

    def __init__(self):
        self.received = []
        outer = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_POST(self):
                body = self.rfile.read(int(self.headers["Content-Length"]))
                outer.received.append((dict(self.headers), body))
                self.send_response(204)
                self.end_headers()

            def log_message(self, *args):
                pass

        super().__init__(("127.0.0.1", 0), Handler)
        threading.Thread(target=self.serve_forever, daemon=True).start()

    def url(self, path):
        return f"http://127.0.0.1:{self.server_address[1]}{path}"
SAMPLE = os.path.join(ROOT, "samples", "tears_of_steel_10s_640x360.mp4")


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def framing(output, width=404, height=720, preset="veryfast", seconds=None):
    spec = {"endpoint": "framing", "input": SAMPLE, "output": output, "output_width": width,
            "output_height": height, "preset": preset, "chunks": 2,
            "crop_keyframes": [{"time": 0, "x": 100, "y": 0, "width": 202, "height": 360}]}
    if seconds:
        spec["segments"] = [{"start": 0, "end": seconds}]
    return spec


def documented_tables(path):
    """The fields each `## heading` table of a reference names in its first column."""
    tables, heading = {}, None
    with open(path) as f:
        for line in f:
            if line.startswith("## "):
                heading = line[3:].strip()
            elif heading and line.startswith("| `"):
                tables.setdefault(heading, set()).update(re.findall(r"`([a-z_0-9]+)`", line.split("|")[1]))
    return tables


def openapi_job_spec_fields():
    """The property names of the JobSpec schema in docs/api/openapi.yaml (read as text:
    the lines indented eight spaces between `JobSpec:` and the next schema)."""
    with open(os.path.join(ROOT, "docs", "api", "openapi.yaml")) as f:
        text = f.read()
    section = text[text.index("\n    JobSpec:\n"):]
    section = section[:section.index("\n    Plan:\n")]
    return set(re.findall(r"^        ([a-z_]+):", section, re.M))


class ClientAgainstService(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.dir = tempfile.mkdtemp(prefix="reelscale-client-")
        with open(os.path.join(cls.dir, "token"), "w") as f:
            f.write(TOKEN + "\n")
        with open(os.path.join(cls.dir, "webhook-secrets"), "w") as f:
            f.write(WEBHOOK_SECRET + "\n")
        cls.receiver = Receiver()
        cls.port = free_port()
        cls.log = open(os.path.join(cls.dir, "serve.log"), "w")
        cls.service = subprocess.Popen(
            [BINARY, "serve", "--listen", f"127.0.0.1:{cls.port}", "--db", os.path.join(cls.dir, "jobs.db"),
             "--token-file", os.path.join(cls.dir, "token"), "--allow", cls.dir, "--allow", os.path.join(ROOT, "samples"),
             "--webhook-secret-file", os.path.join(cls.dir, "webhook-secrets"),
             "--webhook-allow", cls.receiver.url("/hooks/")],
            stdout=cls.log, stderr=subprocess.STDOUT)
        cls.url = f"http://127.0.0.1:{cls.port}"
        for _ in range(200):
            try:
                with urllib.request.urlopen(cls.url + "/readyz", timeout=1) as r:
                    if r.status == 200:
                        break
            except OSError:
                time.sleep(0.1)
        cls.client = Client(cls.url, token=TOKEN)

    @classmethod
    def tearDownClass(cls):
        cls.service.terminate()
        cls.service.wait(timeout=30)
        cls.receiver.shutdown()
        cls.log.close()
        shutil.rmtree(cls.dir)

    def test_remote_blocks_until_done_and_reports_progress(self):
        out = os.path.join(self.dir, "remote.mp4")
        seen = []
        job = self.client.remote(framing(out), progress=lambda j: seen.append(j["state"]), timeout=120)
        self.assertEqual(job["state"], "done")
        self.assertEqual(job["output"], out)
        self.assertTrue(os.path.getsize(out) > 0)
        self.assertEqual(job["record"]["job_id"], job["id"])
        self.assertIn("done", seen)
        self.assertEqual(job["progress"]["frames_done"], job["progress"]["frames_total"])

    def test_spawn_then_cancel_raises_job_failed(self):
        out = os.path.join(self.dir, "cancelled.mp4")
        handle = self.client.spawn(framing(out, width=1080, height=1920, preset="slow"))
        for _ in range(400):
            if handle.status()["state"] == "running":
                break
            time.sleep(0.05)
        handle.cancel()
        with self.assertRaises(JobFailed) as failed:
            handle.get(timeout=60)
        self.assertEqual(failed.exception.job["state"], "cancelled")
        self.assertFalse(os.path.exists(out))

    def test_plan_and_listing(self):
        plan = self.client.plan("framing", length=10, width=404, height=720)
        self.assertEqual(plan["hardware"], "CPU")
        self.assertGreaterEqual(plan["chunks"], 1)
        self.assertGreater(plan["wall_mean_s"], 0)
        job = self.client.remote(framing(os.path.join(self.dir, "listed.mp4"), seconds=1), timeout=120)
        ids = [j["id"] for j in self.client.jobs(page_size=1)]
        self.assertIn(job["id"], ids)
        self.assertEqual(len(ids), len(set(ids)))
        self.assertIn("queued", self.client.queue())

    def test_the_docs_example_specs_run(self):
        """Every example spec in docs/jobs.md, submitted as written (its samples/ and out/
        paths made absolute), finishes; every field it uses is in openapi.yaml's JobSpec."""
        with open(os.path.join(ROOT, "docs", "jobs.md")) as f:
            blocks = re.findall(r"```json\n(.*?)```", f.read(), re.S)
        specs = [json.loads(b) for b in blocks]
        self.assertEqual(sorted(s["endpoint"] for s in specs), ["copy", "detect", "framing", "framing_ai", "overlay"])
        documented = openapi_job_spec_fields()
        for spec in specs:
            self.assertLessEqual(set(spec), documented, spec["endpoint"])
            spec["input"] = os.path.join(ROOT, spec["input"])
            spec["output"] = os.path.join(self.dir, spec["output"].removeprefix("out/"))
            job = self.client.remote(spec, timeout=300)
            self.assertEqual(job["state"], "done", json.dumps(job)[:2000])
            self.assertGreater(os.path.getsize(spec["output"]), 0, spec["endpoint"])
        # The reference's tables and the API document name the same fields.
        with open(os.path.join(ROOT, "docs", "jobs.md")) as f:
            tabled = set()
            for line in f:
                if line.startswith("| `"):
                    tabled.update(re.findall(r"`([a-z_]+)`", line.split("|")[1]))
        self.assertEqual(tabled, documented)

    def test_the_record_reference_names_every_field(self):
        """docs/records.md lists exactly the fields a real record has, at every level."""
        job = self.client.remote(framing(os.path.join(self.dir, "recorded.mp4"), seconds=1), timeout=120)
        record = job["record"]
        tables = documented_tables(os.path.join(ROOT, "docs", "records.md"))
        self.assertEqual(tables["The job (top level)"], set(record))
        self.assertEqual(tables["`source`"], set(record["source"]))
        self.assertEqual(tables["`plan`"], set(record["plan"]))
        self.assertEqual(tables["`chunk_results[]`"], set(record["chunk_results"][0]))
        with open(os.path.join(ROOT, "docs", "records.md")) as f:
            text = f.read()
        for key in list(record["timings_s"]) + list(record["chunk_results"][0]["timings_s"]):
            self.assertIn("`" + key + "`", text, "a timing the reference does not name")

    def test_refusals_are_service_errors(self):
        with self.assertRaises(ServiceError) as no_token:
            Client(self.url, token="").queue()
        self.assertEqual(no_token.exception.status, 401)
        bad = framing(os.path.join(self.dir, "bad.mp4"))
        bad["output_width"] = 333
        with self.assertRaises(ServiceError) as bad_spec:
            self.client.submit(bad)
        self.assertEqual(bad_spec.exception.status, 400)
        self.assertIn("output_width", bad_spec.exception.message)
        with self.assertRaises(ServiceError) as outside:
            self.client.submit(framing("/tmp/reelscale-client-outside.mp4"))
        self.assertEqual(outside.exception.status, 403)
        with self.assertRaises(ServiceError) as missing:
            self.client.job("0123456789ab")
        self.assertEqual(missing.exception.status, 404)

    def test_webhooks_verify_and_labels_sum(self):
        out = os.path.join(self.dir, "hooked.mp4")
        labels = {"user_id": "u-py", "feature": "export"}
        accepted = self.client.submit(framing(out, seconds=1), labels=labels,
                                      webhook_url=self.receiver.url("/hooks/reelscale"))
        job = self.client.wait(accepted["id"], timeout=120)
        for _ in range(200):
            mine = [(h, b) for h, b in self.receiver.received if json.loads(b)["data"]["id"] == job["id"]]
            if len(mine) >= 2:
                break
            time.sleep(0.1)
        events = [verify_webhook(h, b, WEBHOOK_SECRET) for h, b in mine]
        self.assertEqual([e["type"] for e in events], ["job.started", "job.succeeded"])
        self.assertEqual(events[1]["data"]["labels"], labels)
        headers, body = mine[1]
        with self.assertRaises(WebhookVerificationError):
            verify_webhook(headers, body.replace(b"done", b"DONE"), WEBHOOK_SECRET)
        with self.assertRaises(WebhookVerificationError):
            verify_webhook(headers, body, "whsec_" + "b3RoZXIgc2VjcmV0IG9mIGFub3RoZXIgYmFja2VuZA==")
        with self.assertRaises(WebhookVerificationError):
            verify_webhook(headers, body, WEBHOOK_SECRET, now=int(headers["webhook-timestamp"]) + 600)
        self.assertEqual(verify_webhook(headers, body, ["whsec_b2xkIHNlY3JldCwgcm90YXRlZCBvdXQh", WEBHOOK_SECRET])["type"],
                         "job.succeeded")
        delivered = self.client.deliveries(job["id"])
        self.assertEqual([d["state"] for d in delivered], ["delivered", "delivered"])
        self.assertEqual([j["id"] for j in self.client.jobs(labels={"user_id": "u-py"})], [job["id"]])
        by_user = {row["value"]: row for row in self.client.stats()["by_label"]["user_id"]}
        self.assertEqual(by_user["u-py"]["jobs"], 1)
        self.assertAlmostEqual(by_user["u-py"]["cloud_equivalent_usd"], job["record"]["cloud_equivalent_usd"], places=9)


if __name__ == "__main__":
    unittest.main(verbosity=2)
