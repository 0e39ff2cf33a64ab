// serve/reply_compression.h — the service's replies compressed by gzip, sent with their
// length. cpp-httplib 0.11 (Debian 12's) compresses every text reply itself and prefers
// brotli at its slowest setting (quality 11) whenever the client accepts it, as browsers
// do: that took 200-400 ms for each of the dashboard's 60-200 kB replies (chart.js, the
// stats, the job list), most of its first paint. A reply compressed here goes out as a
// sized body, which httplib leaves alone.
#pragma once

#include <functional>

namespace httplib {
struct Request;
struct Response;
}  // namespace httplib

namespace reelscale::serve {

// Gzips the reply's body when the client accepts gzip and the body is text worth
// compressing; otherwise leaves it as it is (a small reply may still get httplib's own
// coding). It must run inside the handler: httplib compresses before its post-routing
// handler runs.
void compress_reply(const httplib::Request& req, httplib::Response& res);

using ReplyHandler = std::function<void(const httplib::Request&, httplib::Response&)>;
// A route's handler whose reply goes through compress_reply, however the handler returns.
ReplyHandler gzipped(ReplyHandler handler);

}  // namespace reelscale::serve
