// media/input.cpp — the closed opening of media: reelscale's own I/O over a local file or
// a byte source, container detection from the bytes alone, a demuxer that may open
// nothing further, and the frame bounds checked before and after reading stream info.
#include "media/input.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <vector>

extern "C" {
#include <libavutil/opt.h>
}

#include "common/files.h"
#include "media/containers.h"

namespace reelscale::media {

struct InputMedia::IoState {
  std::shared_ptr<ByteSource> source;
  int64_t position = 0;
  int64_t size = -1;
  int64_t bytes_read = 0;
  int refused_opens = 0;
  std::string first_refused;  // the first further open the demuxer asked for
};

namespace {

// A local file read with pread, so local paths go through the same closed I/O as storage.
class LocalFileSource final : public ByteSource {
 public:
  explicit LocalFileSource(std::string path) : path_(std::move(path)) {
    fd_ = ::open(path_.c_str(), O_RDONLY | O_CLOEXEC);
    if (fd_ < 0) fail(ErrorKind::kIo, "cannot open " + path_ + ": " + std::strerror(errno));
    struct stat st {};
    if (::fstat(fd_, &st) != 0 || !S_ISREG(st.st_mode)) {
      ::close(fd_);
      fail(ErrorKind::kBadInput, "input is not a file: " + path_);
    }
    size_ = st.st_size;
  }
  ~LocalFileSource() override { ::close(fd_); }
  LocalFileSource(const LocalFileSource&) = delete;
  LocalFileSource& operator=(const LocalFileSource&) = delete;

  int64_t size() override { return size_; }
  int64_t read(int64_t offset, uint8_t* buffer, int64_t len) override {
    while (true) {
      const ssize_t n = ::pread(fd_, buffer, static_cast<size_t>(len), offset);
      if (n >= 0) return n;
      if (errno != EINTR) fail(ErrorKind::kIo, "reading " + path_ + ": " + std::strerror(errno));
    }
  }
  std::string name() const override { return path_; }

 private:
  std::string path_;
  int fd_ = -1;
  int64_t size_ = 0;
};

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
  switch (whence & ~AVSEEK_FORCE) {
    case AVSEEK_SIZE: return st->size;
    case SEEK_SET: st->position = offset; break;
    case SEEK_CUR: st->position += offset; break;
    case SEEK_END: st->position = st->size + offset; break;
    default: return AVERROR(EINVAL);
  }
  return st->position;
}

// The demuxer's request to open another file or URL: always refused, and noted.
int refuse_nested_open(AVFormatContext* ctx, AVIOContext** pb, const char* url, int /*flags*/,
                       AVDictionary** /*options*/) {
  *pb = nullptr;
  auto* st = static_cast<InputMedia::IoState*>(ctx->opaque);
  if (st && st->refused_opens++ == 0) st->first_refused = url ? url : "";
  return AVERROR(EPERM);
}

std::unique_ptr<InputMedia::IoState> open_bytes(const MediaSource& source, const std::string& name) {
  auto io = std::make_unique<InputMedia::IoState>();
  if (source.bytes) {
    io->source = source.bytes;
  } else {
    check_input_file(source.path);
    io->source = std::make_shared<LocalFileSource>(source.path);
  }
  try {
    io->size = io->source->size();
  } catch (const Error&) {
    throw;
  } catch (const std::exception& e) {
    fail(ErrorKind::kIo, "cannot read the size of " + name + ": " + e.what());
  }
  if (io->size == 0) fail(ErrorKind::kBadInput, "input is empty (0 bytes): " + name);
  return io;
}

AvioContextPtr make_avio(InputMedia::IoState& io, const std::string& name) {
  constexpr int kBufferSize = 256 * 1024;
  auto* buffer = static_cast<uint8_t*>(av_malloc(kBufferSize));
  if (!buffer) fail(ErrorKind::kInternal, "out of memory opening " + name);
  AvioContextPtr avio(avio_alloc_context(buffer, kBufferSize, 0, &io, read_packet, nullptr, seek));
  if (!avio) {
    av_free(buffer);
    fail(ErrorKind::kInternal, "out of memory opening " + name);
  }
  return avio;
}

// The container, from the bytes alone (never the name's extension), refused unless accepted.
const AVInputFormat* detect_container(AVIOContext* avio, const std::string& name) {
  const AVInputFormat* format = nullptr;
  const int rc = av_probe_input_buffer2(avio, &format, nullptr, nullptr, 0, 0);
  if (rc < 0 || !format) {
    fail(ErrorKind::kBadInput, "not a readable video file: " + name + " (" + av_error_text(rc < 0 ? rc : AVERROR_INVALIDDATA) + ")");
  }
  check_container(format, name);
  return format;
}

// Per-stream decoder options for avformat_find_stream_info, freed with it.
class StreamOptions {
 public:
  StreamOptions(unsigned streams, int64_t max_pixels) : dicts_(streams, nullptr) {
    for (AVDictionary*& d : dicts_) av_dict_set_int(&d, "max_pixels", max_pixels, 0);
  }
  ~StreamOptions() {
    for (AVDictionary*& d : dicts_) av_dict_free(&d);
  }
  StreamOptions(const StreamOptions&) = delete;
  StreamOptions& operator=(const StreamOptions&) = delete;
  AVDictionary** get() { return dicts_.empty() ? nullptr : dicts_.data(); }

 private:
  std::vector<AVDictionary*> dicts_;
};

}  // namespace

InputMedia::InputMedia(const MediaSource& source) : name_(source.name()), limits_(source.limits) {
  io_ = open_bytes(source, name_);
  avio_ = make_avio(*io_, name_);
  open_demuxer(detect_container(avio_.get(), name_));
  check_video_streams();
  read_stream_info();
  check_video_streams();
}

void InputMedia::open_demuxer(const AVInputFormat* format) {
  AVFormatContext* ctx = avformat_alloc_context();
  if (!ctx) fail(ErrorKind::kInternal, "out of memory opening " + name_);
  ctx->pb = avio_.get();
  ctx->flags |= AVFMT_FLAG_CUSTOM_IO;
  ctx->opaque = io_.get();
  ctx->io_open = refuse_nested_open;
  AVDictionary* options = nullptr;
  av_dict_set(&options, "format_whitelist", accepted_demuxers(), 0);
  av_dict_set(&options, "protocol_whitelist", "none", 0);  // no protocol is named "none"
  // avformat_open_input frees ctx on failure.
  const int rc = avformat_open_input(&ctx, "", format, &options);
  av_dict_free(&options);
  if (rc < 0) {
    const std::string nested = io_->refused_opens > 0 ? "; it asked to open '" + io_->first_refused +
                                                            "', which is refused" : "";
    fail(ErrorKind::kBadInput, "not a readable video file: " + name_ + " (" + av_error_text(rc) + nested + ")");
  }
  format_.reset(ctx);
}

void InputMedia::read_stream_info() {
  StreamOptions options(format_->nb_streams, decodable_pixels(limits_));
  const int rc = avformat_find_stream_info(format_.get(), options.get());
  if (rc < 0) {
    fail(ErrorKind::kBadInput, "cannot read the streams of " + name_ + " (" + av_error_text(rc) + ")");
  }
}

void InputMedia::check_video_streams() const {
  for (unsigned i = 0; i < format_->nb_streams; ++i) {
    const AVCodecParameters* par = format_->streams[i]->codecpar;
    if (par->codec_type != AVMEDIA_TYPE_VIDEO) continue;
    check_frame_bounds(limits_, par->width, par->height, par->format,
                       "video stream " + std::to_string(i) + " of " + name_);
  }
}

InputMedia::~InputMedia() {
  // Close the demuxer before the AVIO context it reads through.
  format_.reset();
  avio_.reset();
}

InputMedia::InputMedia(InputMedia&&) noexcept = default;
InputMedia& InputMedia::operator=(InputMedia&&) noexcept = default;

int64_t InputMedia::bytes_read() const { return io_ ? io_->bytes_read : 0; }

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
