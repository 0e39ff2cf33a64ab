// exec/worker.cpp — the worker's HTTP handlers.
#include "exec/worker.h"

#include <httplib.h>

#include <nlohmann/json.hpp>

#include <spdlog/spdlog.h>

#include <condition_variable>
#include <thread>

#include "common/cores.h"
#include "common/error.h"
#include "common/stopwatch.h"
#include "exec/http_auth.h"

namespace reelscale::exec {

namespace {

void reply_error(httplib::Response& res, int status, const std::string& kind, const std::string& message) {
  reply_json_error(res, status, kind, message);
}

// Cancels a task that outlives the worker's limit (or its own deadline, if shorter).
class TaskTimer {
 public:
  TaskTimer(double seconds, std::shared_ptr<std::atomic<bool>> cancel)
      : thread_([this, seconds, cancel] {
          std::unique_lock lock(mutex_);
          if (!cv_.wait_for(lock, std::chrono::duration<double>(seconds), [this] { return done_; })) {
            expired_ = true;
            cancel->store(true);
          }
        }) {}
  ~TaskTimer() {
    {
      std::lock_guard lock(mutex_);
      done_ = true;
    }
    cv_.notify_all();
    thread_.join();
  }
  bool expired() {
    std::lock_guard lock(mutex_);
    return expired_;
  }

 private:
  std::mutex mutex_;
  std::condition_variable cv_;
  bool done_ = false;
  bool expired_ = false;
  std::thread thread_;
};

}  // namespace

WorkerService::WorkerService(WorkerOptions options, ProcessorFactoryMaker maker, store::ObjectStore& store)
    : options_(std::move(options)), maker_(std::move(maker)), store_(store), server_(std::make_unique<httplib::Server>()) {
  server_->set_payload_max_length(options_.max_body_bytes);  // httplib answers 413 beyond it
  server_->set_pre_routing_handler([this](const httplib::Request& req, httplib::Response& res) {
    const bool open = req.path == "/healthz" || options_.tokens.empty();
    return !open && refuse_without_token(options_.tokens, req, res) ? httplib::Server::HandlerResponse::Handled
                                                                     : httplib::Server::HandlerResponse::Unhandled;
  });
  server_->set_error_handler([](const httplib::Request&, httplib::Response& res) {
    if (res.status == 413) reply_error(res, 413, "too_large", "the request body is over the worker's limit");
  });
  add_routes();
}

void WorkerService::add_routes() {
  server_->Get("/healthz", [](const httplib::Request&, httplib::Response& res) {
    res.set_content(R"({"status":"ok"})", "application/json");
  });
  server_->Get("/metrics", [this](const httplib::Request&, httplib::Response& res) {
    res.set_content(metrics_->text(active_.load(), options_.max_concurrency), "text/plain; version=0.0.4");
  });
  server_->Get("/status", [this](const httplib::Request&, httplib::Response& res) {
    const nlohmann::json j = {{"status", "ok"}, {"active", active_.load()}, {"max_concurrency", options_.max_concurrency},
                              {"completed", completed_.load()}, {"failed", failed_.load()},
                              {"allow", options_.allow.describe()}};
    res.set_content(j.dump(), "application/json");
  });
  server_->Delete(R"(/tasks/(.+))", [this](const httplib::Request& req, httplib::Response& res) {
    std::lock_guard lock(cancels_mutex_);
    auto it = cancels_.find(req.matches[1]);
    if (it == cancels_.end()) return reply_error(res, 404, "not_found", "no such running task");
    it->second->store(true);
    res.set_content(R"({"status":"cancelling"})", "application/json");
  });
  server_->Post("/tasks", [this](const httplib::Request& req, httplib::Response& res) {
    if (active_.fetch_add(1) >= options_.max_concurrency) {
      active_--;
      metrics_->busy_refusal();
      return reply_error(res, 429, "busy", "the worker is running as many tasks as it may");
    }
    std::string task_id, reply;
    const Stopwatch clock;
    try {
      run_task(req.body, task_id, reply);
      res.set_content(reply, "application/json");
      ++completed_;
      metrics_->task_ended("done", clock.seconds());
    } catch (const Error& e) {
      ++failed_;
      metrics_->task_ended("failed", clock.seconds());
      spdlog::warn("task {} refused or failed ({}): {}", task_id.empty() ? "?" : task_id, error_kind_name(e.kind()), e.what());
      reply_error(res, e.kind() == ErrorKind::kTimeout ? 408 : error_http_status(e.kind()), error_kind_name(e.kind()),
                  e.what());
    } catch (const std::exception& e) {
      ++failed_;
      metrics_->task_ended("failed", clock.seconds());
      spdlog::error("task {} failed: {}", task_id.empty() ? "?" : task_id, e.what());
      reply_error(res, 500, error_kind_name(ErrorKind::kInternal), e.what());
    }
    if (!task_id.empty()) {
      std::lock_guard lock(cancels_mutex_);
      cancels_.erase(task_id);
    }
    active_--;
  });
}

// Parses and checks a task (the spec's limits, the allowlist for its input and output)
// before anything is read or written, then runs it under the time limit.
void WorkerService::run_task(const std::string& body, std::string& task_id, std::string& reply) {
  nlohmann::json j = nlohmann::json::parse(body, nullptr, false);
  if (j.is_discarded()) fail(ErrorKind::kBadInput, "the task is not valid JSON");
  const ChunkTaskSpec task = task_from_json(j);
  task_id = task.task_id;
  options_.allow.check(task.job.input, "input");
  options_.allow.check(task.output, "output");
  auto cancel = std::make_shared<std::atomic<bool>>(false);
  {
    std::lock_guard lock(cancels_mutex_);
    cancels_[task_id] = cancel;
  }
  const double limit = task.deadline_s > 0 ? std::min(task.deadline_s, options_.max_task_seconds) : options_.max_task_seconds;
  const Stopwatch clock;
  TaskTimer timer(limit, cancel);
  try {
    if (options_.set_threads && options_.max_concurrency == 1) {
      options_.set_threads(task.cores > 0 ? granted_cores(task) : threads_per_slot(1));
    }
    std::unique_ptr<process::FrameProcessor> processor = maker_(task.job)(task.probe);
    record::ChunkRecord r = execute_task(task, *processor, store_, options_.scratch, {}, {}, cancel.get(),
                                           options_.media_limits);
    r.worker = options_.name;
    reply = record::to_json(r).dump();
    spdlog::info("task {} done: {} frames in {:.2f} s -> {}", task_id, r.frames, clock.seconds(), task.output);
  } catch (const Error& e) {
    if (e.kind() == ErrorKind::kCancelled && timer.expired()) {
      fail(ErrorKind::kTimeout, "the task ran past the time limit of " + std::to_string(static_cast<int>(limit)) +
                                    " s (the worker's --max-task-seconds or the task's deadline_s)");
    }
    throw;
  }
}

WorkerService::~WorkerService() = default;

int WorkerService::bind() {
  int port = options_.port;
  if (port == 0) {
    port = server_->bind_to_any_port(options_.host);
  } else if (!server_->bind_to_port(options_.host, port)) {
    port = -1;
  }
  if (port <= 0) {
    fail(ErrorKind::kUnavailable, "cannot listen on " + options_.host + ":" + std::to_string(options_.port));
  }
  options_.port = port;
  if (options_.name.empty()) options_.name = "http://" + options_.host + ":" + std::to_string(port);
  return port;
}

void WorkerService::serve() { server_->listen_after_bind(); }

void WorkerService::stop() { server_->stop(); }

}  // namespace reelscale::exec
