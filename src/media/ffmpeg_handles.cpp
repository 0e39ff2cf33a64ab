// media/ffmpeg_handles.cpp — FFmpeg RAII helpers and error text.
#include "media/ffmpeg_handles.h"

extern "C" {
#include <libavutil/error.h>
}

namespace reelscale::media {

FramePtr make_frame() {
  FramePtr f(av_frame_alloc());
  if (!f) fail(ErrorKind::kInternal, "out of memory allocating a frame");
  return f;
}

PacketPtr make_packet() {
  PacketPtr p(av_packet_alloc());
  if (!p) fail(ErrorKind::kInternal, "out of memory allocating a packet");
  return p;
}

FramePtr make_frame(int width, int height, AVPixelFormat format) {
  FramePtr f = make_frame();
  f->width = width;
  f->height = height;
  f->format = format;
  check_av(av_frame_get_buffer(f.get(), 32), "allocating a frame buffer", ErrorKind::kInternal);
  return f;
}

std::string av_error_text(int code) {
  char buf[AV_ERROR_MAX_STRING_SIZE] = {0};
  av_strerror(code, buf, sizeof buf);
  return buf;
}

int check_av(int code, const std::string& what, ErrorKind kind) {
  if (code < 0) throw Error(kind, what + ": " + av_error_text(code));
  return code;
}

OutputFormat::OutputFormat(const std::string& path, const std::string& format_name) : path_(path) {
  const char* fmt = format_name.empty() ? nullptr : format_name.c_str();
  // Guess from the final extension; temporary names keep it (see AtomicOutputFile).
  int rc = avformat_alloc_output_context2(&ctx_, nullptr, fmt, path.c_str());
  if (rc < 0 || !ctx_) {
    fail(ErrorKind::kBadInput, "cannot choose an output container for '" + path +
                                   "' (use a known extension such as .mp4, .mov or .mkv)");
  }
}

OutputFormat::~OutputFormat() {
  if (!ctx_) return;
  if (header_written_ && !trailer_written_) av_write_trailer(ctx_);
  if (ctx_->pb && !(ctx_->oformat->flags & AVFMT_NOFILE)) avio_closep(&ctx_->pb);
  avformat_free_context(ctx_);
}

AVStream* OutputFormat::add_stream() {
  AVStream* st = avformat_new_stream(ctx_, nullptr);
  if (!st) fail(ErrorKind::kInternal, "cannot add a stream to " + path_);
  return st;
}

void OutputFormat::open() {
  if (!(ctx_->oformat->flags & AVFMT_NOFILE)) {
    check_av(avio_open(&ctx_->pb, path_.c_str(), AVIO_FLAG_WRITE), "cannot open output " + path_);
  }
}

void OutputFormat::write_header(AVDictionary** options) {
  check_av(avformat_write_header(ctx_, options), "cannot write the header of " + path_);
  header_written_ = true;
}

void OutputFormat::write_trailer() {
  trailer_written_ = true;
  check_av(av_write_trailer(ctx_), "cannot finish " + path_);
}

}  // namespace reelscale::media
