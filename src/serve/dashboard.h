// serve/dashboard.h — the dashboard's web side: the page and its scripts from the web/
// folder and Chart.js from Debian's libjs-chart.js (nothing from a CDN), and sign-in by
// token: `/?token=T` or the form's POST /login sets the token as an HttpOnly,
// SameSite=Strict cookie, which GET requests of the API then accept in place of the
// bearer header. Without it the page holds no data.
#pragma once

#include <optional>
#include <string>

#include "access/tokens.h"

namespace httplib {
class Server;
struct Request;
}  // namespace httplib

namespace reelscale::serve {

inline constexpr const char* kTokenCookie = "reelscale_token";

// The token in the request's cookie, if any.
std::optional<std::string> cookie_token(const httplib::Request& req);
// Whether the path is the dashboard's own (open: it holds no data).
bool is_dashboard_path(const std::string& path);
void add_dashboard_routes(httplib::Server& server, const access::TokenSet& tokens);

}  // namespace reelscale::serve
