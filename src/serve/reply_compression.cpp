// serve/reply_compression.cpp — gzip (zlib, level 6) for replies over 1 kB.
#include "serve/reply_compression.h"

#include <httplib.h>
#include <zlib.h>

#include <memory>
#include <string>
#include <utility>

namespace reelscale::serve {

namespace {

constexpr size_t kWorthCompressing = 1024;  // bytes
constexpr int kLevel = 6;

// A deflate stream writing the gzip format, ended on destruction.
class GzipStream {
 public:
  GzipStream() { ok_ = deflateInit2(&z_, kLevel, Z_DEFLATED, 15 + 16, 8, Z_DEFAULT_STRATEGY) == Z_OK; }
  ~GzipStream() {
    if (ok_) deflateEnd(&z_);
  }
  GzipStream(const GzipStream&) = delete;
  GzipStream& operator=(const GzipStream&) = delete;

  // The whole input compressed; false when zlib fails.
  bool compress(const std::string& in, std::string& out) {
    if (!ok_) return false;
    out.resize(deflateBound(&z_, in.size()));
    z_.next_in = reinterpret_cast<Bytef*>(const_cast<char*>(in.data()));
    z_.avail_in = static_cast<uInt>(in.size());
    z_.next_out = reinterpret_cast<Bytef*>(out.data());
    z_.avail_out = static_cast<uInt>(out.size());
    if (deflate(&z_, Z_FINISH) != Z_STREAM_END) return false;
    out.resize(z_.total_out);
    return true;
  }

 private:
  z_stream z_{};
  bool ok_ = false;
};

bool compressible(const std::string& content_type) {
  return content_type.rfind("text/", 0) == 0 || content_type.rfind("application/json", 0) == 0 ||
         content_type.rfind("application/javascript", 0) == 0 || content_type.rfind("image/svg+xml", 0) == 0;
}

}  // namespace

void compress_reply(const httplib::Request& req, httplib::Response& res) {
  if (res.body.size() < kWorthCompressing || res.has_header("Content-Encoding")) return;
  const std::string content_type = res.get_header_value("Content-Type");
  if (!compressible(content_type) || req.get_header_value("Accept-Encoding").find("gzip") == std::string::npos) return;
  auto zipped = std::make_shared<std::string>();
  if (!GzipStream().compress(res.body, *zipped)) return;
  res.body.clear();
  res.headers.erase("Content-Type");  // set again, once, with the provider
  res.set_header("Content-Encoding", "gzip");
  res.set_header("Vary", "Accept-Encoding");
  res.set_content_provider(zipped->size(), content_type.c_str(),
                           [zipped](size_t offset, size_t length, httplib::DataSink& sink) {
                             const size_t n = std::min(length, zipped->size() - offset);
                             return sink.write(zipped->data() + offset, n);
                           });
}

ReplyHandler gzipped(ReplyHandler handler) {
  return [handler = std::move(handler)](const httplib::Request& req, httplib::Response& res) {
    handler(req, res);
    compress_reply(req, res);
  };
}

}  // namespace reelscale::serve
