// media/input.h — the one way reelscale opens media for reading, from a local path or
// from any random-access byte source (an S3 object read by ranges, for instance). Closed
// by default: the bytes are always read through reelscale's own I/O (a local file too),
// only the containers of media/containers.h are demuxed, every further open FFmpeg asks
// for (a playlist's entries, a list's files, a URL) is refused, and the frame bounds of
// media/limits.h are checked before any decoding. Owns the demuxer and the AVIOContext;
// counts the bytes it read.
#pragma once

#include <cstdint>
#include <memory>
#include <string>

#include "media/ffmpeg_handles.h"
#include "media/limits.h"

namespace reelscale::media {

// Random-access bytes: what the demuxer needs from storage. Implementations live
// outside media (exec adapts the store module to it); media only reads through it.
class ByteSource {
 public:
  virtual ~ByteSource() = default;
  virtual int64_t size() = 0;
  // Reads up to `len` bytes at `offset`; returns the count (0 at the end).
  virtual int64_t read(int64_t offset, uint8_t* buffer, int64_t len) = 0;
  // A name for error messages (a path or URL).
  virtual std::string name() const = 0;
};

// Where a video comes from: a local path, or a byte source when `bytes` is set; and the
// bounds any decoding of it keeps.
struct MediaSource {
  std::string path;
  std::shared_ptr<ByteSource> bytes;
  MediaLimits limits;

  static MediaSource local(std::string p, MediaLimits l = {}) { return {std::move(p), nullptr, l}; }
  std::string name() const { return bytes ? bytes->name() : path; }
};

// An opened container with stream info read. Movable, not copyable.
class InputMedia {
 public:
  // Opens and reads stream info; throws Error(kNotFound/kBadInput) naming the problem:
  // missing file, empty file, unreadable or refused container, a frame over the bounds.
  explicit InputMedia(const MediaSource& source);
  ~InputMedia();
  InputMedia(InputMedia&&) noexcept;
  InputMedia& operator=(InputMedia&&) noexcept;

  AVFormatContext* format() const { return format_.get(); }
  const std::string& name() const { return name_; }
  const MediaLimits& limits() const { return limits_; }
  // Bytes handed to the demuxer so far.
  int64_t bytes_read() const;
  // The best video stream index, or -1 when there is none.
  int video_stream() const;
  // The best audio stream index, or -1 when there is none.
  int audio_stream() const;

  struct IoState;  // the byte source's read position and counters (input.cpp)

 private:
  void open_demuxer(const AVInputFormat* format);
  void read_stream_info();
  // Every video stream against the frame bounds (before decoding: with what the header says).
  void check_video_streams() const;

  std::unique_ptr<IoState> io_;
  AvioContextPtr avio_;
  InputFormatPtr format_;
  std::string name_;
  MediaLimits limits_;
};

}  // namespace reelscale::media
