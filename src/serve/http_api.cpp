// serve/http_api.cpp — routes of the job service.
#include "serve/http_api.h"

#include <httplib.h>
#include <spdlog/spdlog.h>

#include "common/error.h"
#include "exec/http_auth.h"
#include "serve/dashboard.h"
#include "serve/reply_compression.h"
#include "serve/submission.h"
#include "plan/cost_model.h"
#include "record/job_record.h"

namespace reelscale::serve {

namespace {

void reply(httplib::Response& res, int status, const nlohmann::json& body) {
  res.status = status;
  res.set_content(body.dump(), "application/json");
}

void reply_error(httplib::Response& res, int status, const std::string& kind, const std::string& message) {
  exec::reply_json_error(res, status, kind, message);
}

// A handler's errors as their statuses: a bad request 400, a denied path 403.
template <class F>
void guarded(httplib::Response& res, F&& handler) {
  try {
    handler();
  } catch (const Error& e) {
    const int status = e.kind() == ErrorKind::kBadInput || e.kind() == ErrorKind::kNotFound ? 400
                       : e.kind() == ErrorKind::kDenied                                    ? 403
                       : e.kind() == ErrorKind::kUnavailable                               ? 503
                                                                                           : 500;
    reply_error(res, status, error_kind_name(e.kind()), e.what());
  } catch (const std::exception& e) {
    spdlog::error("internal error: {}", e.what());
    reply_error(res, 500, "internal", e.what());
  }
}

// A refused submission in the log when the reply goes out: its status and what the body
// said (its messages name no token and no credentials), and where it came from.
class LoggedRefusal {
 public:
  LoggedRefusal(const httplib::Response& res, const httplib::Request& req) : res_(res), req_(req) {}
  ~LoggedRefusal() {
    if (res_.status < 400 || res_.status >= 500) return;
    spdlog::warn("submission refused from {}: {} {}", req_.remote_addr, res_.status, res_.body.substr(0, 300));
  }
  LoggedRefusal(const LoggedRefusal&) = delete;
  LoggedRefusal& operator=(const LoggedRefusal&) = delete;

 private:
  const httplib::Response& res_;
  const httplib::Request& req_;
};

nlohmann::json parse_or_empty(const std::string& text) {
  if (text.empty()) return nlohmann::json::object();
  nlohmann::json j = nlohmann::json::parse(text, nullptr, false);
  return j.is_discarded() ? nlohmann::json::object() : j;
}

double query_number(const httplib::Request& req, const char* name, double fallback) {
  if (!req.has_param(name)) return fallback;
  const std::string v = req.get_param_value(name);
  try {
    size_t used = 0;
    const double d = std::stod(v, &used);
    if (used == v.size()) return d;
  } catch (const std::exception&) {
  }
  fail(ErrorKind::kBadInput, std::string("query parameter ") + name + " is '" + v + "', not a number");
}

// ?label.user_id=u-123&label.feature=export: jobs carrying every one.
Labels label_filter(const httplib::Request& req) {
  Labels labels;
  for (const auto& [name, value] : req.params) {
    if (name.rfind("label.", 0) != 0) continue;
    const std::string key = name.substr(6);
    if (!valid_label_key(key)) fail(ErrorKind::kBadInput, "query parameter " + name + " does not name a label key");
    if (labels.count(key)) fail(ErrorKind::kBadInput, "query parameter " + name + " is given twice");
    labels[key] = value;
  }
  return labels;
}

}  // namespace

nlohmann::json job_view(const StoredJob& job, bool with_record) {
  const nlohmann::json plan = parse_or_empty(job.plan_json);
  const nlohmann::json record = parse_or_empty(job.record_json);
  double eta = 0;
  if (job.state == "running" && job.frames_done > 0 && job.started_unix_s > 0) {
    const double elapsed = record::unix_now() - job.started_unix_s;
    eta = elapsed * static_cast<double>(job.frames_total - job.frames_done) / static_cast<double>(job.frames_done);
  }
  nlohmann::json v = {
      {"id", job.id},
      {"state", job.state},
      {"endpoint", job.endpoint},
      {"labels", job.labels},
      {"webhook_url", job.webhook_url.empty() ? nlohmann::json(nullptr) : nlohmann::json(job.webhook_url)},
      {"created_unix_s", job.created_unix_s},
      {"started_unix_s", job.started_unix_s},
      {"finished_unix_s", job.finished_unix_s},
      {"progress",
       {{"frames_done", job.frames_done}, {"frames_total", job.frames_total}, {"chunks_done", job.chunks_done},
        {"chunks_total", job.chunks_total}, {"eta_s", eta}}},
      {"plan", plan},
      {"profile_version", job.profile_version},
      {"predicted", {{"wall_s", plan.value("wall_mean_s", 0.0)}, {"cost_usd", plan.value("cost_usd", 0.0)}}},
      {"actual",
       {{"wall_s", job.finished_unix_s > 0 && job.started_unix_s > 0 ? job.finished_unix_s - job.started_unix_s : 0.0},
        {"cost_usd", job.cost_usd},
        {"cloud_equivalent_usd", job.cloud_equivalent_usd},
        {"billed_seconds", job.billed_seconds}}},
      {"timings_s", record.value("timings_s", nlohmann::json::object())},
      {"error", job.error_kind.empty() ? nlohmann::json(nullptr)
                                       : nlohmann::json{{"kind", job.error_kind}, {"message", job.error_message}}},
      {"output", job.state == "done" ? nlohmann::json(job.output) : nlohmann::json(nullptr)},
  };
  if (with_record && job.finished() && !record.empty()) v["record"] = record;
  return v;
}

HttpApi::HttpApi(ApiOptions options, JobService& service)
    : options_(std::move(options)), service_(service), server_(std::make_unique<httplib::Server>()) {
  server_->set_payload_max_length(options_.max_body_bytes);
  server_->set_pre_routing_handler([this](const httplib::Request& req, httplib::Response& res) {
    const bool open = req.path == "/healthz" || req.path == "/readyz" || is_dashboard_path(req.path);
    // The dashboard's cookie stands in for the bearer header on reads only (it cannot
    // submit or cancel: a cross-site form could not use it anyway, SameSite=Strict).
    const auto cookie = req.method == "GET" ? cookie_token(req) : std::nullopt;
    const bool signed_in = cookie && options_.tokens.accepts(*cookie);
    return !open && !signed_in && exec::refuse_without_token(options_.tokens, req, res)
               ? httplib::Server::HandlerResponse::Handled
               : httplib::Server::HandlerResponse::Unhandled;
  });
  server_->set_error_handler([](const httplib::Request& req, httplib::Response& res) {
    if (res.status == 413) reply_error(res, 413, "too_large", "the request body is over the service's limit");
    if (res.status == 404 && res.body.empty()) reply_error(res, 404, "not_found", "no route " + req.method + " " + req.path);
  });
  add_job_routes();
  add_other_routes();
  add_dashboard_routes(*server_, options_.tokens);
}

HttpApi::~HttpApi() = default;

std::vector<std::string> HttpApi::routes() {
  return {"POST /v1/jobs", "GET /v1/jobs",  "GET /v1/jobs/{id}", "DELETE /v1/jobs/{id}", "GET /v1/jobs/{id}/deliveries",
          "GET /v1/plan",  "GET /v1/queue", "GET /v1/profiles",  "GET /v1/profiles/{version}", "GET /v1/stats", "GET /metrics", "GET /healthz", "GET /readyz", "GET /",
          "POST /login",   "GET /static/{file}"};
}

void HttpApi::add_job_routes() {
  server_->Post("/v1/jobs", [this](const httplib::Request& req, httplib::Response& res) {
    const LoggedRefusal logged(res, req);
    guarded(res, [&] {
      const Submission s = service_.submit(req.body, req.get_header_value("Idempotency-Key"));
      if (s.refusal == Refusal::kQueueFull) {
        res.set_header("Retry-After", std::to_string(static_cast<int>(s.retry_after_s + 0.5)));
        return reply_error(res, 429, "queue_full", "the queue is full; retry later");
      }
      if (s.refusal == Refusal::kValueQueueFull) {
        res.set_header("Retry-After", std::to_string(static_cast<int>(s.retry_after_s + 0.5)));
        return reply_error(res, 429, "value_queue_full", s.reason + "; retry later (other values are still accepted)");
      }
      if (s.refusal == Refusal::kBudget) {
        res.set_header("Retry-After", std::to_string(static_cast<int>(s.retry_after_s + 0.5)));
        return reply_error(res, 429, "budget_exceeded", s.reason + "; Retry-After is when its window resets");
      }
      if (s.refusal == Refusal::kIdempotencyConflict) {
        return reply_error(res, 409, "idempotency_conflict",
                           "the Idempotency-Key names a job submitted with another body");
      }
      reply(res, s.created ? 202 : 200,
            {{"id", s.job.id}, {"state", s.job.state}, {"plan", parse_or_empty(s.job.plan_json)}});
    });
  });
  server_->Get("/v1/jobs", gzipped([this](const httplib::Request& req, httplib::Response& res) {
    guarded(res, [&] {
      JobFilter f;
      f.state = req.get_param_value("state");
      f.endpoint = req.get_param_value("endpoint");
      f.since_unix_s = query_number(req, "since", 0);
      f.after_seq = static_cast<int64_t>(query_number(req, "cursor", 0));
      f.newest_first = req.get_param_value("order") == "newest";
      f.limit = static_cast<int>(std::clamp(query_number(req, "limit", 50), 1.0, 1000.0));
      f.labels = label_filter(req);
      nlohmann::json jobs = nlohmann::json::array();
      const std::vector<StoredJob> page = service_.list(f);
      for (const StoredJob& j : page) jobs.push_back(job_view(j, false));
      const bool more = static_cast<int>(page.size()) == f.limit;
      reply(res, 200, {{"jobs", jobs}, {"next_cursor", more ? nlohmann::json(std::to_string(page.back().seq)) : nullptr}});
    });
  }));
  server_->Get(R"(/v1/jobs/([^/]+))", gzipped([this](const httplib::Request& req, httplib::Response& res) {
    const std::optional<StoredJob> job = service_.get(req.matches[1]);
    if (!job) return reply_error(res, 404, "not_found", "no job " + std::string(req.matches[1]).substr(0, 64));
    nlohmann::json view = job_view(*job, true);
    if (job->state == "queued") {
      if (const std::optional<PendingInfo> p = service_.pending(job->id)) {
        view["pending_reason"] = p->reason;
        view["pending"] = to_json(*p);
      }
    }
    reply(res, 200, view);
  }));
  server_->Get(R"(/v1/jobs/([^/]+)/deliveries)", gzipped([this](const httplib::Request& req, httplib::Response& res) {
    const std::optional<nlohmann::json> d = service_.deliveries(req.matches[1]);
    if (!d) return reply_error(res, 404, "not_found", "no job " + std::string(req.matches[1]).substr(0, 64));
    reply(res, 200, *d);
  }));
  server_->Delete(R"(/v1/jobs/([^/]+))", [this](const httplib::Request& req, httplib::Response& res) {
    if (!service_.cancel(req.matches[1])) return reply_error(res, 404, "not_found", "no job " + std::string(req.matches[1]).substr(0, 64));
    reply(res, 202, job_view(*service_.get(req.matches[1]), false));
  });
}

void HttpApi::add_other_routes() {
  server_->Get("/v1/plan", [this](const httplib::Request& req, httplib::Response& res) {
    guarded(res, [&] {
      const std::string endpoint = req.has_param("endpoint") ? req.get_param_value("endpoint") : "framing_ai";
      const double length = query_number(req, "length", -1);
      if (length <= 0) fail(ErrorKind::kBadInput, "query parameter length (seconds, > 0) is required");
      plan::JobShape shape = plan::JobShape::of_length(endpoint, length, query_number(req, "fps", 30),
                                                       query_number(req, "width", 810) * query_number(req, "height", 1440),
                                                       req.get_param_value("model"));
      shape.source_pixels = query_number(req, "source_width", 0) * query_number(req, "source_height", 0);
      shape.codec = req.get_param_value("codec");
      shape.preset = req.get_param_value("preset");
      reply(res, 200, service_.plan(shape));
    });
  });
  server_->Get("/v1/queue", [this](const httplib::Request&, httplib::Response& res) {
    guarded(res, [&] { reply(res, 200, service_.queue_state()); });
  });
  server_->Get("/v1/budgets", [this](const httplib::Request&, httplib::Response& res) {
    guarded(res, [&] { reply(res, 200, service_.budgets_status()); });
  });
  server_->Get("/v1/stats", gzipped([this](const httplib::Request& req, httplib::Response& res) {
    guarded(res, [&] { reply(res, 200, service_.stats(std::clamp(query_number(req, "hours", 24), 1.0, 24.0 * 90))); });
  }));
  server_->Get("/metrics", gzipped([this](const httplib::Request&, httplib::Response& res) {
    guarded(res, [&] { res.set_content(service_.metrics_text(), "text/plain; version=0.0.4"); });
  }));
  server_->Get("/v1/profiles", gzipped([this](const httplib::Request&, httplib::Response& res) {
    guarded(res, [&] { reply(res, 200, service_.profiles()); });
  }));
  server_->Get(R"(/v1/profiles/([A-Za-z0-9._-]+))", gzipped([this](const httplib::Request& req, httplib::Response& res) {
    guarded(res, [&] {
      const std::optional<nlohmann::json> p = service_.profile(req.matches[1]);
      if (!p) return reply_error(res, 404, "not_found", "no profile version " + std::string(req.matches[1]));
      reply(res, 200, *p);
    });
  }));
  server_->Get("/healthz", [](const httplib::Request&, httplib::Response& res) { reply(res, 200, {{"status", "ok"}}); });
  server_->Get("/readyz", [this](const httplib::Request&, httplib::Response& res) {
    const bool ready = service_.ready();
    reply(res, ready ? 200 : 503, {{"status", ready ? "ready" : "starting"}});
  });
}

int HttpApi::bind() {
  int port = options_.port;
  if (port == 0) {
    port = server_->bind_to_any_port(options_.host);
  } else if (!server_->bind_to_port(options_.host, port)) {
    port = -1;
  }
  if (port <= 0) fail(ErrorKind::kUnavailable, "cannot listen on " + options_.host + ":" + std::to_string(options_.port));
  options_.port = port;
  return port;
}

void HttpApi::serve() { server_->listen_after_bind(); }
void HttpApi::stop() { server_->stop(); }

}  // namespace reelscale::serve
