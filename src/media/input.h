// media/input.h — opening a video for reading: from a local path, or from any
// random-access byte source (an S3 object read by ranges, for instance). Owns the
// demuxer and, for byte sources, the custom AVIOContext; counts the bytes it read.
#pragma once

#include <cstdint>
#include <memory>
#include <string>

#include "media/ffmpeg_handles.h"

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

// Where a video comes from: a local path, or a byte source when `bytes` is set.
struct MediaSource {
  std::string path;
  std::shared_ptr<ByteSource> bytes;

  static MediaSource local(std::string p) { return {std::move(p), nullptr}; }
  std::string name() const { return bytes ? bytes->name() : path; }
};

// An opened container with stream info read. Movable, not copyable.
class InputMedia {
 public:
  // Opens and reads stream info; throws Error(kNotFound/kBadInput) naming the problem:
  // missing file, empty file, unreadable container.
  explicit InputMedia(const MediaSource& source);
  ~InputMedia();
  InputMedia(InputMedia&&) noexcept;
  InputMedia& operator=(InputMedia&&) noexcept;

  AVFormatContext* format() const { return format_.get(); }
  const std::string& name() const { return name_; }
  // Bytes handed to the demuxer so far (for byte sources; local files report the file position sum).
  int64_t bytes_read() const;
  // The best video stream index, or -1 when there is none.
  int video_stream() const;
  // The best audio stream index, or -1 when there is none.
  int audio_stream() const;

  struct IoState;  // the byte source's read position and counters (input.cpp)

 private:
  std::unique_ptr<IoState> io_;
  AvioContextPtr avio_;
  InputFormatPtr format_;
  std::string name_;
};

}  // namespace reelscale::media
