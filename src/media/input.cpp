// media/input.cpp — demuxer opening over local files and byte sources.
#include "media/input.h"

#include <cstdio>
#include <filesystem>

#include "common/files.h"

namespace reelscale::media {

struct InputMedia::IoState {
  std::shared_ptr<ByteSource> source;
  int64_t position = 0;
  int64_t size = -1;
  int64_t bytes_read = 0;
};

namespace {

int read_packet(void* opaque, uint8_t* buf, int buf_size) {
  auto* st = static_cast<InputMedia::IoState*>(opaque);
  try {
    const int64_t n = st->source->read(st->position, buf, buf_size);
    if (n <= 0) return AVERROR_EOF;
    st->position += n;
    st->bytes_read += n;
    return static_cast<int>(n);
  } catch (const std::exception&) {
    return AVERROR(EIO);
  }
}

int64_t seek(void* opaque, int64_t offset, int whence) {
  auto* st = static_cast<InputMedia::IoState*>(opaque);
  try {
    if (st->size < 0) st->size = st->source->size();
  } catch (const std::exception&) {
    return AVERROR(EIO);
  }
  switch (whence & ~AVSEEK_FORCE) {
    case AVSEEK_SIZE: return st->size;
    case SEEK_SET: st->position = offset; break;
    case SEEK_CUR: st->position += offset; break;
    case SEEK_END: st->position = st->size + offset; break;
    default: return AVERROR(EINVAL);
  }
  return st->position;
}

}  // namespace

InputMedia::InputMedia(const MediaSource& source) : name_(source.name()) {
  AVFormatContext* ctx = avformat_alloc_context();
  if (!ctx) fail(ErrorKind::kInternal, "out of memory opening " + name_);
  if (source.bytes) {
    io_ = std::make_unique<IoState>();
    io_->source = source.bytes;
    io_->size = source.bytes->size();
    if (io_->size == 0) {
      avformat_free_context(ctx);
      fail(ErrorKind::kBadInput, "input is empty (0 bytes): " + name_);
    }
    constexpr int kBufferSize = 256 * 1024;
    auto* buffer = static_cast<uint8_t*>(av_malloc(kBufferSize));
    avio_.reset(avio_alloc_context(buffer, kBufferSize, 0, io_.get(), read_packet, nullptr, seek));
    if (!avio_) {
      av_free(buffer);
      avformat_free_context(ctx);
      fail(ErrorKind::kInternal, "out of memory opening " + name_);
    }
    ctx->pb = avio_.get();
    ctx->flags |= AVFMT_FLAG_CUSTOM_IO;
  } else {
    try {
      check_input_file(source.path);
    } catch (...) {
      avformat_free_context(ctx);
      throw;
    }
  }
  // avformat_open_input frees ctx on failure.
  int rc = avformat_open_input(&ctx, source.bytes ? nullptr : source.path.c_str(), nullptr, nullptr);
  if (rc < 0) {
    fail(ErrorKind::kBadInput,
         "not a readable video file: " + name_ + " (" + av_error_text(rc) + ")");
  }
  format_.reset(ctx);
  rc = avformat_find_stream_info(ctx, nullptr);
  if (rc < 0) {
    fail(ErrorKind::kBadInput, "cannot read the streams of " + name_ + " (" + av_error_text(rc) + ")");
  }
}

InputMedia::~InputMedia() {
  // Close the demuxer before the AVIO context it reads through.
  format_.reset();
  avio_.reset();
}

InputMedia::InputMedia(InputMedia&&) noexcept = default;
InputMedia& InputMedia::operator=(InputMedia&&) noexcept = default;

int64_t InputMedia::bytes_read() const {
  if (io_) return io_->bytes_read;
  return format_ && format_->pb ? format_->pb->bytes_read : 0;
}

int InputMedia::video_stream() const {
  int idx = av_find_best_stream(format_.get(), AVMEDIA_TYPE_VIDEO, -1, -1, nullptr, 0);
  if (idx < 0) return -1;
  // Cover art is not a video stream.
  if (format_->streams[idx]->disposition & AV_DISPOSITION_ATTACHED_PIC) return -1;
  return idx;
}

int InputMedia::audio_stream() const {
  int idx = av_find_best_stream(format_.get(), AVMEDIA_TYPE_AUDIO, -1, -1, nullptr, 0);
  return idx < 0 ? -1 : idx;
}

}  // namespace reelscale::media
