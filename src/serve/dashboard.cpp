// serve/dashboard.cpp — the dashboard's page, static files and sign-in.
#include "serve/dashboard.h"

#include <spdlog/spdlog.h>

#include <httplib.h>

#include "serve/reply_compression.h"

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <map>
#include <sstream>

namespace reelscale::serve {

namespace {

std::string web_dir() {
  const char* env = std::getenv("REELSCALE_WEB_DIR");
  return env && *env ? env : REELSCALE_WEB_DIR;
}

// The files the dashboard serves, by name: nothing else is read from disk.
const std::map<std::string, std::pair<std::string, std::string>>& static_files() {
  static const std::map<std::string, std::pair<std::string, std::string>> kFiles = {
      {"dashboard.js", {web_dir() + "/dashboard.js", "text/javascript"}},
      {"dashboard.css", {web_dir() + "/dashboard.css", "text/css"}},
      {"chart.js", {REELSCALE_CHART_JS, "text/javascript"}},
  };
  return kFiles;
}

bool read_file(const std::string& path, std::string& out) {
  std::ifstream f(path, std::ios::binary);
  if (!f) return false;
  std::ostringstream os;
  os << f.rdbuf();
  out = os.str();
  return true;
}

void sign_in(const access::TokenSet& tokens, const std::string& token, httplib::Response& res) {
  if (!tokens.accepts(token)) {
    spdlog::warn("dashboard sign-in refused: {} (a token in a link must be URL-encoded: + as %2B, / as %2F)",
                 token.empty() ? "no token given" : "not one of the service's tokens");
    res.status = 303;
    res.set_header("Location", "/?signin=failed");
    return;
  }
  res.status = 303;
  res.set_header("Set-Cookie", std::string(kTokenCookie) + "=" + token + "; HttpOnly; SameSite=Strict; Path=/");
  res.set_header("Location", "/");
}

}  // namespace

std::optional<std::string> cookie_token(const httplib::Request& req) {
  const std::string cookies = req.get_header_value("Cookie");
  const std::string key = std::string(kTokenCookie) + "=";
  for (size_t at = 0; at < cookies.size();) {
    while (at < cookies.size() && (cookies[at] == ' ' || cookies[at] == ';')) ++at;
    const size_t end = cookies.find(';', at);
    const std::string pair = cookies.substr(at, end == std::string::npos ? std::string::npos : end - at);
    if (pair.rfind(key, 0) == 0) return pair.substr(key.size());
    at = end == std::string::npos ? cookies.size() : end + 1;
  }
  return std::nullopt;
}

bool is_dashboard_path(const std::string& path) {
  return path == "/" || path == "/login" || path.rfind("/static/", 0) == 0;
}

void add_dashboard_routes(httplib::Server& server, const access::TokenSet& tokens) {
  server.Get("/", gzipped([&tokens](const httplib::Request& req, httplib::Response& res) {
    if (req.has_param("token")) return sign_in(tokens, req.get_param_value("token"), res);
    std::string page;
    if (!read_file(web_dir() + "/index.html", page)) {
      res.status = 500;
      return res.set_content("the dashboard's files are missing (" + web_dir() + ")", "text/plain");
    }
    res.set_header("Cache-Control", "no-store");
    res.set_header("Content-Security-Policy", "default-src 'self'; style-src 'self'; script-src 'self'");
    res.set_content(page, "text/html; charset=utf-8");
  }));
  server.Post("/login", [&tokens](const httplib::Request& req, httplib::Response& res) {
    sign_in(tokens, req.get_param_value("token"), res);
  });
  server.Get(R"(/static/([a-z.]+))", gzipped([](const httplib::Request& req, httplib::Response& res) {
    auto it = static_files().find(req.matches[1]);
    std::string body;
    if (it == static_files().end() || !read_file(it->second.first, body)) {
      res.status = 404;
      return res.set_content("{\"error\":\"not_found\",\"message\":\"no such file\"}", "application/json");
    }
    res.set_content(body, it->second.second.c_str());
  }));
}

}  // namespace reelscale::serve
