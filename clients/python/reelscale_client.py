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
    client.submit(spec, labels={"user_id": "u-123"}, webhook_url="https://backend/hooks/reelscale")

Errors from the service raise ServiceError (its HTTP status, kind and message); a job
that ends failed or cancelled raises JobFailed with the job's view.

A backend that receives the service's webhooks checks each one with
``verify_webhook(headers, body, secret)`` (Standard Webhooks 1.0): it returns the event
({"type", "timestamp", "data"}) or raises WebhookVerificationError.
"""

import base64
import hashlib
import hmac
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

    def submit(self, spec, idempotency_key=None, labels=None, webhook_url=None):
        """Submits a job spec, with the backend's labels and a webhook URL if given;
        returns {"id", "state", "plan"}."""
        headers = {"Idempotency-Key": idempotency_key} if idempotency_key else None
        body = dict(spec)
        if labels:
            body["labels"] = labels
        if webhook_url:
            body["webhook_url"] = webhook_url
        return self._request("POST", "/v1/jobs", body, headers)[1]

    def job(self, job_id):
        return self._request("GET", "/v1/jobs/" + urllib.parse.quote(job_id))[1]

    def jobs(self, state=None, endpoint=None, since=None, page_size=100, labels=None):
        """Every job matching the filters (labels: every key and value must match), oldest
        first, fetched page by page."""
        cursor = None
        while True:
            query = {k: v for k, v in (("state", state), ("endpoint", endpoint), ("since", since),
                                       ("limit", page_size), ("cursor", cursor)) if v is not None}
            query.update({"label." + k: v for k, v in (labels or {}).items()})
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

    def budgets(self):
        """Each --budgets budget with its spend, reservations, forecast and reset."""
        return self._request("GET", "/v1/budgets")[1]

    def queue(self):
        return self._request("GET", "/v1/queue")[1]

    def deliveries(self, job_id):
        """The job's webhook events and every attempt to deliver them."""
        return self._request("GET", "/v1/jobs/" + urllib.parse.quote(job_id) + "/deliveries")[1]["deliveries"]

    def stats(self, hours=24):
        """The dashboard's aggregates; stats()["by_label"]["user_id"] is the cost per user."""
        return self._request("GET", "/v1/stats?" + urllib.parse.urlencode({"hours": hours}))[1]

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


class WebhookVerificationError(Exception):
    """A webhook that is not from the service, was changed, or is too old to trust."""


def verify_webhook(headers, body, secret, tolerance_s=300, now=None):
    """Checks a webhook the service sent (Standard Webhooks 1.0) and returns its event.

    headers: the request's headers (any mapping; names are matched case-insensitively).
    body: the raw request body, bytes or str, exactly as received.
    secret: the "whsec_..." secret, or a list of them while rotating.
    A timestamp more than tolerance_s from now is refused, so a captured request cannot
    be replayed later. Deduplicate on headers["webhook-id"]: a retried event keeps its id.
    """
    lower = {k.lower(): v for k, v in dict(headers).items()}
    try:
        msg_id, timestamp, signatures = lower["webhook-id"], lower["webhook-timestamp"], lower["webhook-signature"]
    except KeyError as missing:
        raise WebhookVerificationError(f"the {missing.args[0]} header is missing") from None
    try:
        sent = int(timestamp)
    except ValueError:
        raise WebhookVerificationError(f"webhook-timestamp {timestamp!r} is not a number") from None
    if abs((time.time() if now is None else now) - sent) > tolerance_s:
        raise WebhookVerificationError(f"webhook-timestamp {sent} is more than {tolerance_s} s from now")
    if isinstance(body, str):
        body = body.encode()
    signed = f"{msg_id}.{sent}.".encode() + body
    offered = [s.split(",", 1)[1] for s in signatures.split(" ") if s.startswith("v1,")]
    for one in [secret] if isinstance(secret, str) else list(secret):
        if not one.startswith("whsec_"):
            raise ValueError("a webhook secret starts with whsec_")
        expected = base64.b64encode(hmac.new(base64.b64decode(one[len("whsec_"):]), signed, hashlib.sha256).digest()).decode()
        if any(hmac.compare_digest(expected, o) for o in offered):
            return json.loads(body)
    raise WebhookVerificationError("no signature matches the secret")
