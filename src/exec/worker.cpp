// exec/worker.cpp — the worker's HTTP handlers.
#include "exec/worker.h"

#include <httplib.h>

#include <nlohmann/json.hpp>

#include <spdlog/spdlog.h>

#include "common/error.h"
#include "common/stopwatch.h"

namespace reelscale::exec {

WorkerService::WorkerService(WorkerOptions options, ProcessorFactoryMaker maker, store::ObjectStore& store)
    : options_(std::move(options)), maker_(std::move(maker)), store_(store), server_(std::make_unique<httplib::Server>()) {
  server_->Get("/healthz", [this](const httplib::Request&, httplib::Response& res) {
    const nlohmann::json j = {{"status", "ok"}, {"active", active_.load()}, {"max_concurrency", options_.max_concurrency},
                              {"completed", completed_.load()}, {"failed", failed_.load()}};
    res.set_content(j.dump(), "application/json");
  });
  server_->Delete(R"(/tasks/(.+))", [this](const httplib::Request& req, httplib::Response& res) {
    std::lock_guard lock(cancels_mutex_);
    auto it = cancels_.find(req.matches[1]);
    if (it == cancels_.end()) {
      res.status = 404;
      res.set_content(R"({"error":"not_found","message":"no such running task"})", "application/json");
      return;
    }
    it->second->store(true);
    res.set_content(R"({"status":"cancelling"})", "application/json");
  });
  server_->Post("/tasks", [this](const httplib::Request& req, httplib::Response& res) {
    auto reply_error = [&](ErrorKind kind, const std::string& message) {
      res.status = error_http_status(kind);
      res.set_content(nlohmann::json{{"error", error_kind_name(kind)}, {"message", message}}.dump(), "application/json");
    };
    if (active_.fetch_add(1) >= options_.max_concurrency) {
      active_--;
      res.status = 429;
      res.set_content(R"({"error":"busy","message":"the worker is running as many tasks as it may"})", "application/json");
      return;
    }
    std::string task_id;
    try {
      nlohmann::json j = nlohmann::json::parse(req.body, nullptr, false);
      if (j.is_discarded()) fail(ErrorKind::kBadInput, "the task is not valid JSON");
      const ChunkTaskSpec task = task_from_json(j);
      task_id = task.task_id;
      auto cancel = std::make_shared<std::atomic<bool>>(false);
      {
        std::lock_guard lock(cancels_mutex_);
        cancels_[task_id] = cancel;
      }
      const Stopwatch clock;
      std::unique_ptr<process::FrameProcessor> processor = maker_(task.job)(task.probe);
      record::ChunkRecord r = execute_task(task, *processor, store_, options_.scratch, {}, {}, cancel.get());
      r.worker = options_.name;
      res.set_content(record::to_json(r).dump(), "application/json");
      ++completed_;
      spdlog::info("task {} done: {} frames in {:.2f} s -> {}", task_id, r.frames, clock.seconds(), task.output);
    } catch (const Error& e) {
      ++failed_;
      spdlog::warn("task {} failed ({}): {}", task_id.empty() ? "?" : task_id, error_kind_name(e.kind()), e.what());
      reply_error(e.kind(), e.what());
    } catch (const std::exception& e) {
      ++failed_;
      spdlog::error("task {} failed: {}", task_id.empty() ? "?" : task_id, e.what());
      reply_error(ErrorKind::kInternal, e.what());
    }
    if (!task_id.empty()) {
      std::lock_guard lock(cancels_mutex_);
      cancels_.erase(task_id);
    }
    active_--;
  });
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
