// serve/http_api.h — the job service's HTTP API under /v1 (docs/api/openapi.yaml):
// POST/GET/DELETE /v1/jobs, GET /v1/jobs/{id}, GET /v1/plan, GET /v1/queue,
// GET /v1/profiles (the profile versions planned with), and the open
// GET /healthz and GET /readyz. Every other route needs a bearer token (401 without);
// errors are JSON {"error", "message"} with the status that names them.
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "access/tokens.h"
#include "serve/job_service.h"

namespace httplib {
class Server;
}

namespace reelscale::serve {

struct ApiOptions {
  std::string host = "127.0.0.1";
  int port = 0;                       // 0: any free port
  access::TokenSet tokens;
  size_t max_body_bytes = 1 << 20;
};

class HttpApi {
 public:
  HttpApi(ApiOptions options, JobService& service);
  ~HttpApi();
  int bind();       // the port it listens on
  void serve();     // until stop()
  void stop();
  // The routes served, as "METHOD /path" (path parameters as {id}), for the API document's test.
  static std::vector<std::string> routes();

 private:
  void add_job_routes();
  void add_other_routes();
  ApiOptions options_;
  JobService& service_;
  std::unique_ptr<httplib::Server> server_;
};

// The JSON a job is shown as: state, progress and ETA, plan and profile version,
// predicted and actual time and cost, error, output, and the record once finished.
nlohmann::json job_view(const StoredJob& job, bool with_record);

}  // namespace reelscale::serve
