"""reelscale_client — a client for `reelscale serve`, standard library only.

The old backend called its serverless GPU functions in two ways: a call that blocks until
the result (``f.remote(...)``) and one that returns a handle to wait on later
(``f.spawn(...)`` then ``.get()``). This client offers the same two over the job service:

    from reelscale_client import Client
    client = Client("http://127.0.0.1:8080", token="...")   # or REELSCALE_TOKEN
    job = client.remote(spec, progress=lambda j: print(j["progress"]))  # blocks
    handle = client.spawn(spec)                             # returns at once
    handle.get(timeout=600)                                 # the finished job
    handle.cancel()
    client.plan("framing_ai", length=30, width=810, height=1440)

Errors from the service raise ServiceError (its HTTP status, kind and message); a job
that ends failed or cancelled raises JobFailed with the job's view.
"""

import json
import os
import time
import urllib.error
import urllib.parse
import urllib.request

__all__ = ["Client", "JobHandle", "ServiceError", "JobFailed"]


class ServiceError(Exception):
    """The service refused or failed a request."""

    def __init__(self, status, kind, message, retry_after=None):
        super().__init__(f"{status} {kind}: {message}")
        self.status = status
        self.kind = kind
        self.message = message
        self.retry_after = retry_after


class JobFailed(Exception):
    """A job ended failed or cancelled; `job` is its view."""

    def __init__(self, job):
        error = job.get("error") or {}
        super().__init__(f"job {job.get('id')} {job.get('state')}: {error.get('kind')}: {error.get('message')}")
        self.job = job


class Client:
    def __init__(self, base_url, token=None, timeout_s=30.0):
        self.base_url = base_url.rstrip("/")
        self.token = token if token is not None else os.environ.get("REELSCALE_TOKEN", "").split(",")[0]
        self.timeout_s = timeout_s

    def _request(self, method, path, body=None, headers=None):
        data = None if body is None else json.dumps(body).encode()
        request = urllib.request.Request(self.base_url + path, data=data, method=method)
        request.add_header("Accept", "application/json")
        if data is not None:
            request.add_header("Content-Type", "application/json")
        if self.token:
            request.add_header("Authorization", "Bearer " + self.token)
        for name, value in (headers or {}).items():
            request.add_header(name, value)
        try:
            with urllib.request.urlopen(request, timeout=self.timeout_s) as reply:
                return reply.status, json.loads(reply.read() or b"{}")
        except urllib.error.HTTPError as e:
            try:
                payload = json.loads(e.read() or b"{}")
            except ValueError:
                payload = {}
            retry = e.headers.get("Retry-After")
            raise ServiceError(e.code, payload.get("error", "http_error"), payload.get("message", str(e)),
                               float(retry) if retry else None) from None

    def submit(self, spec, idempotency_key=None):
        """Submits a job spec; returns {"id", "state", "plan"}."""
        headers = {"Idempotency-Key": idempotency_key} if idempotency_key else None
        return self._request("POST", "/v1/jobs", spec, headers)[1]

    def job(self, job_id):
        return self._request("GET", "/v1/jobs/" + urllib.parse.quote(job_id))[1]

    def jobs(self, state=None, endpoint=None, since=None, page_size=100):
        """Every job matching the filters, oldest first, fetched page by page."""
        cursor = None
        while True:
            query = {k: v for k, v in (("state", state), ("endpoint", endpoint), ("since", since),
                                       ("limit", page_size), ("cursor", cursor)) if v is not None}
            page = self._request("GET", "/v1/jobs?" + urllib.parse.urlencode(query))[1]
            yield from page["jobs"]
            cursor = page.get("next_cursor")
            if not cursor:
                return

    def wait(self, job_id, progress=None, timeout=None, poll_s=0.25):
        """Polls until the job finishes; calls progress(job) on each poll. Returns the job
        when done, raises JobFailed when it failed or was cancelled, TimeoutError after `timeout`."""
        deadline = None if timeout is None else time.monotonic() + timeout
        while True:
            job = self.job(job_id)
            if progress:
                progress(job)
            if job["state"] == "done":
                return job
            if job["state"] in ("failed", "cancelled"):
                raise JobFailed(job)
            if deadline is not None and time.monotonic() > deadline:
                raise TimeoutError(f"job {job_id} still {job['state']} after {timeout} s")
            time.sleep(poll_s)

    def cancel(self, job_id):
        return self._request("DELETE", "/v1/jobs/" + urllib.parse.quote(job_id))[1]

    def plan(self, endpoint, length, **shape):
        """The planner's answer (width, height, fps, model, source_width, source_height, codec, preset)."""
        query = {"endpoint": endpoint, "length": length, **shape}
        return self._request("GET", "/v1/plan?" + urllib.parse.urlencode(query))[1]

    def queue(self):
        return self._request("GET", "/v1/queue")[1]

    def spawn(self, spec, idempotency_key=None):
        """Submits and returns a handle at once (like the old backend's spawn)."""
        return JobHandle(self, self.submit(spec, idempotency_key)["id"])

    def remote(self, spec, progress=None, timeout=None, idempotency_key=None):
        """Submits and blocks until the job has finished (like the old backend's remote call)."""
        return self.spawn(spec, idempotency_key).get(timeout=timeout, progress=progress)


class JobHandle:
    def __init__(self, client, job_id):
        self.client = client
        self.id = job_id

    def get(self, timeout=None, progress=None):
        return self.client.wait(self.id, progress=progress, timeout=timeout)

    def status(self):
        return self.client.job(self.id)

    def cancel(self):
        return self.client.cancel(self.id)
