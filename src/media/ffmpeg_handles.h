// media/ffmpeg_handles.h — RAII owners for every FFmpeg handle reelscale uses, and
// the helpers that turn FFmpeg error codes into reelscale::Error. Nothing else in the
// project frees an FFmpeg object by hand.
#pragma once

extern "C" {
#include <libavcodec/avcodec.h>
#include <libavfilter/avfilter.h>
#include <libavformat/avformat.h>
#include <libavutil/frame.h>
#include <libswscale/swscale.h>
}

#include <memory>
#include <string>

#include "common/error.h"

namespace reelscale::media {

struct InputFormatDeleter {
  void operator()(AVFormatContext* c) const { avformat_close_input(&c); }
};
struct CodecContextDeleter {
  void operator()(AVCodecContext* c) const { avcodec_free_context(&c); }
};
struct FrameDeleter {
  void operator()(AVFrame* f) const { av_frame_free(&f); }
};
struct PacketDeleter {
  void operator()(AVPacket* p) const { av_packet_free(&p); }
};
struct SwsDeleter {
  void operator()(SwsContext* s) const { sws_freeContext(s); }
};
struct FilterGraphDeleter {
  void operator()(AVFilterGraph* g) const { avfilter_graph_free(&g); }
};
struct AvioContextDeleter {
  // Frees a custom AVIOContext and its buffer (the opaque is owned elsewhere).
  void operator()(AVIOContext* io) const {
    if (io) av_freep(&io->buffer);
    avio_context_free(&io);
  }
};

using InputFormatPtr = std::unique_ptr<AVFormatContext, InputFormatDeleter>;
using CodecContextPtr = std::unique_ptr<AVCodecContext, CodecContextDeleter>;
using FramePtr = std::unique_ptr<AVFrame, FrameDeleter>;
using PacketPtr = std::unique_ptr<AVPacket, PacketDeleter>;
using SwsPtr = std::unique_ptr<SwsContext, SwsDeleter>;
using FilterGraphPtr = std::unique_ptr<AVFilterGraph, FilterGraphDeleter>;
using AvioContextPtr = std::unique_ptr<AVIOContext, AvioContextDeleter>;

FramePtr make_frame();
PacketPtr make_packet();
// A frame with its own buffers of the given geometry (32-byte aligned planes).
FramePtr make_frame(int width, int height, AVPixelFormat format);

// An output muxer: owns the context and its file, closes both on destruction. The file
// is opened by open(); write_header()/write_trailer() wrap libavformat's calls.
class OutputFormat {
 public:
  // `format_name` may be empty to guess from `path`'s extension.
  OutputFormat(const std::string& path, const std::string& format_name = "");
  ~OutputFormat();
  OutputFormat(const OutputFormat&) = delete;
  OutputFormat& operator=(const OutputFormat&) = delete;

  AVFormatContext* get() const { return ctx_; }
  AVStream* add_stream();
  void open();  // avio_open of the path
  void write_header(AVDictionary** options = nullptr);
  void write_trailer();

 private:
  AVFormatContext* ctx_ = nullptr;
  std::string path_;
  bool header_written_ = false;
  bool trailer_written_ = false;
};

// "Invalid data found when processing input" etc.
std::string av_error_text(int code);
// Throws Error(kind, what + ": " + FFmpeg's text) when code < 0; returns code otherwise.
int check_av(int code, const std::string& what, ErrorKind kind = ErrorKind::kIo);

}  // namespace reelscale::media
