// exec/worker.h — `reelscale worker`: a stateless HTTP service that runs one chunk task
// per request (POST /tasks, JSON in, timings out), reading only the byte ranges of the
// input it needs from storage and writing its chunk to storage. GET /healthz reports its
// load; DELETE /tasks/ID cancels a running task. Concurrency is bounded (429 when full);
// models are loaded once and kept. With tokens, every route but /healthz needs one (401)
// and /healthz says only that the worker is up; a task's input and output must pass the
// storage allowlist (403, nothing written); bodies, job specs and running time are
// bounded (413, 400, 408). A refused request never stops the worker serving.
#pragma once

#include <atomic>
#include <filesystem>
#include <map>
#include <memory>
#include <mutex>
#include <string>

#include "access/allowlist.h"
#include "access/tokens.h"
#include "exec/executor.h"
#include "exec/worker_metrics.h"

namespace httplib {
class Server;
}

namespace reelscale::exec {

struct WorkerOptions {
  std::string host = "127.0.0.1";
  int port = 8090;  // 0: any free port
  int max_concurrency = 1;
  std::filesystem::path scratch = "/tmp";
  std::string name;  // how results name this worker (default http://host:port)
  access::TokenSet tokens;            // empty: no authentication (loopback tests, trusted networks)
  access::StorageAllowlist allow;     // default: s3:// only, no local paths
  size_t max_body_bytes = 1 << 20;    // a task is a few kB
  double max_task_seconds = 3600;     // a task running longer is cancelled (408)
  media::MediaLimits media_limits;    // what a task's decoder may take on (a frame over them: 400)
  // The networks' CPU threads: set to a task's cores (at most this machine's) when the worker
  // runs one task at a time; with several at once each keeps its share of the cores.
  ThreadSetter set_threads;
};

class WorkerService {
 public:
  WorkerService(WorkerOptions options, ProcessorFactoryMaker maker, store::ObjectStore& store);
  ~WorkerService();
  // Binds the socket; returns the port.
  int bind();
  // Serves until stop() (from another thread or a signal watcher).
  void serve();
  void stop();

 private:
  WorkerOptions options_;
  ProcessorFactoryMaker maker_;
  store::ObjectStore& store_;
  std::unique_ptr<httplib::Server> server_;
  std::atomic<int> active_{0};
  std::atomic<int64_t> completed_{0};
  std::atomic<int64_t> failed_{0};
  std::unique_ptr<WorkerMetrics> metrics_ = std::make_unique<WorkerMetrics>();
  std::mutex cancels_mutex_;
  std::map<std::string, std::shared_ptr<std::atomic<bool>>> cancels_;

  void add_routes();
  void run_task(const std::string& body, std::string& task_id, std::string& reply);
};

}  // namespace reelscale::exec
