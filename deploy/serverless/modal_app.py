# reelscale worker as a serverless GPU web endpoint (Modal). The function runs the same
# `reelscale worker` binary inside the container and forwards each POST /tasks to it, so
# the platform scales containers while reelscale only runs chunk tasks. Build the image
# from deploy/Dockerfile (or a CUDA variant). Not run in this repository's CI.
import subprocess
import time
import urllib.request

import modal

image = modal.Image.from_dockerfile("deploy/Dockerfile", context_dir=".")
app = modal.App("reelscale-worker", image=image)

WORKER = "http://127.0.0.1:8090"


@app.cls(gpu="T4", scaledown_window=60, max_containers=16,
         secrets=[modal.Secret.from_name("reelscale-storage")])
class Worker:
    @modal.enter()
    def start(self):
        # Model loaded once per container, at start.
        self.proc = subprocess.Popen(["reelscale", "worker", "--listen", "127.0.0.1:8090",
                                      "--model", "realesr-animevideov3", "--device", "auto"])
        for _ in range(300):
            try:
                urllib.request.urlopen(WORKER + "/healthz", timeout=1)
                return
            except OSError:
                time.sleep(0.1)
        raise RuntimeError("reelscale worker did not start")

    @modal.web_endpoint(method="POST", label="reelscale-tasks")
    def tasks(self, task: dict):
        import json
        req = urllib.request.Request(WORKER + "/tasks", data=json.dumps(task).encode(),
                                     headers={"Content-Type": "application/json"})
        try:
            with urllib.request.urlopen(req, timeout=3600) as r:
                return json.loads(r.read())
        except urllib.error.HTTPError as e:
            from fastapi.responses import JSONResponse
            return JSONResponse(status_code=e.code, content=json.loads(e.read() or b"{}"))

    @modal.exit()
    def stop(self):
        self.proc.terminate()
