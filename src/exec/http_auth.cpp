// exec/http_auth.cpp — the bearer-token gate and JSON errors of the HTTP services.
#include "exec/http_auth.h"

#include <nlohmann/json.hpp>
#include <spdlog/spdlog.h>

namespace reelscale::exec {

void reply_json_error(httplib::Response& res, int status, const std::string& kind, const std::string& message) {
  res.status = status;
  res.set_content(nlohmann::json{{"error", kind}, {"message", message}}.dump(), "application/json");
}

bool refuse_without_token(const access::TokenSet& tokens, const httplib::Request& req, httplib::Response& res) {
  if (tokens.accepts_header(req.get_header_value("Authorization"))) return false;
  const bool presented = req.has_header("Authorization");
  spdlog::warn("refused {} {}: {} token", req.method, req.path, presented ? "wrong" : "no");
  res.set_header("WWW-Authenticate", "Bearer");
  reply_json_error(res, 401, "unauthorized", presented ? "the bearer token is not accepted" : "a bearer token is required");
  return true;
}

}  // namespace reelscale::exec
