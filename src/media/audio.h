// media/audio.h — the output's audio track, made from the source's audio for the
// output timeline: stream copy when the timeline is the source's own and the audio
// covers it, otherwise decoded, aligned to the first video frame, laid out on the
// output timeline by TimelineAudio (cut, stretched to each segment's exact length,
// padded or trimmed to the video's), and encoded to AAC. A damaged audio packet is
// dropped and its time filled with silence, like a damaged video frame is held over:
// counted, and past the bound of the source's limits the job fails naming the time.
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "media/ffmpeg_handles.h"
#include "media/input.h"
#include "media/limits.h"
#include "media/timeline.h"

namespace reelscale::media {

enum class AudioMode {
  kAuto,     // copy when possible, else re-encode
  kCopy,     // copy or fail
  kReencode, // always re-encode
  kDrop,     // no audio in the output
};
AudioMode parse_audio_mode(const std::string& text);

struct AudioRequest {
  MediaSource source;
  int stream_index = -1;            // the source's audio stream; -1: none
  double video_start_seconds = 0;   // source time of the first video frame (output time 0)
  std::vector<Segment> segments;    // empty: the source timeline one to one
  double output_seconds = 0;        // the video's exact output duration
  AudioMode mode = AudioMode::kAuto;
};

// Produces the audio packets of the output, in order, in time_base() units.
class AudioPacketSource {
 public:
  virtual ~AudioPacketSource() = default;
  // Adds the audio stream to the output (call before its header is written).
  virtual void add_stream(AVFormatContext* output) = 0;
  virtual bool next(AVPacket* packet) = 0;
  virtual AVRational time_base() const = 0;
  virtual bool copied() const = 0;
  // Damaged packets the decoder dropped (their time filled with silence); none when copied.
  virtual StreamDamage damage() const { return {}; }
};

// nullptr when the request has no audio stream or mode is kDrop. `container` is the
// output's muxer, to check that a copied codec fits it. Throws Error(kBadInput) when
// kCopy is asked for and copying is impossible.
std::unique_ptr<AudioPacketSource> make_audio_source(const AudioRequest& request,
                                                     const AVOutputFormat* container);

}  // namespace reelscale::media
