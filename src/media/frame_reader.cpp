// media/frame_reader.cpp — seeking, decoding and frame identification.
#include "media/frame_reader.h"

#include <algorithm>
#include <utility>

namespace reelscale::media {

FrameReader::FrameReader(const MediaSource& source, const VideoProbe& probe, int threads)
    : probe_(probe), input_(source), packet_(make_packet()), current_(make_frame()),
      pending_(make_frame()), scratch_(make_frame()) {
  stats_.damage.stream = "video";
  stats_.damage.unit = "frames";
  AVFormatContext* fmt = input_.format();
  stream_ = probe.stream_index;
  if (stream_ < 0 || stream_ >= static_cast<int>(fmt->nb_streams)) {
    fail(ErrorKind::kBadInput, "no video stream in " + input_.name());
  }
  for (unsigned i = 0; i < fmt->nb_streams; ++i) {
    if (static_cast<int>(i) != stream_) fmt->streams[i]->discard = AVDISCARD_ALL;
  }
  const AVCodecParameters* par = fmt->streams[stream_]->codecpar;
  const AVCodec* codec = avcodec_find_decoder(par->codec_id);
  if (!codec) {
    fail(ErrorKind::kBadInput, "no decoder for video codec '" + std::string(avcodec_get_name(par->codec_id)) +
                                   "' in " + input_.name());
  }
  decoder_.reset(avcodec_alloc_context3(codec));
  if (!decoder_) fail(ErrorKind::kInternal, "out of memory creating a decoder");
  check_av(avcodec_parameters_to_context(decoder_.get(), par), "decoder parameters");
  decoder_->pkt_timebase = fmt->streams[stream_]->time_base;
  decoder_->thread_count = threads;
  decoder_->max_pixels = decodable_pixels(input_.limits());
  decoder_->thread_type = FF_THREAD_FRAME | FF_THREAD_SLICE;
  check_av(avcodec_open2(decoder_.get(), codec, nullptr), "cannot open the " + std::string(codec->name) + " decoder",
           ErrorKind::kBadInput);
}

FrameReader::~FrameReader() = default;

ReaderStats FrameReader::stats() const {
  ReaderStats s = stats_;
  s.bytes_read = input_.bytes_read();
  return s;
}

bool FrameReader::decode_next(FramePtr& out) {
  while (true) {
    int rc = avcodec_receive_frame(decoder_.get(), out.get());
    if (rc == 0) return true;
    if (rc == AVERROR_EOF) {
      decoder_eof_ = true;
      return false;
    }
    if (rc == AVERROR(ENOMEM)) check_av(rc, "decoding " + input_.name(), ErrorKind::kInternal);
    // Any other code is a damaged frame: the next packet goes on (the frame is held over).
    if (demuxer_eof_) {
      // Drained already: nothing more will come.
      return false;
    }
    // Feed one more packet of our stream.
    while (true) {
      rc = av_read_frame(input_.format(), packet_.get());
      if (rc == AVERROR_EOF) {
        demuxer_eof_ = true;
        avcodec_send_packet(decoder_.get(), nullptr);  // enter draining
        break;
      }
      if (rc < 0) {
        fail(ErrorKind::kBadInput, "reading the video of " + input_.name() + " failed after " +
                                       std::to_string(stats_.decoded) + " frames (" + av_error_text(rc) + ")");
      }
      if (packet_->stream_index != stream_) {
        av_packet_unref(packet_.get());
        continue;
      }
      rc = avcodec_send_packet(decoder_.get(), packet_.get());
      av_packet_unref(packet_.get());
      // A damaged packet is not fatal, whatever the decoder's code: the frame it held is
      // then missing (and held over), or comes out flagged as damaged.
      if (rc == AVERROR(ENOMEM)) check_av(rc, "decoding " + input_.name(), ErrorKind::kInternal);
      break;
    }
    if (demuxer_eof_) {
      // Loop to receive the drained frames; a second EOF read ends it.
      rc = avcodec_receive_frame(decoder_.get(), out.get());
      if (rc == 0) return true;
      if (rc == AVERROR_EOF) {
        decoder_eof_ = true;
        return false;
      }
      if (rc == AVERROR(ENOMEM)) check_av(rc, "decoding " + input_.name(), ErrorKind::kInternal);
      // A frame lost in draining: held over like any other.
    }
  }
}

bool FrameReader::needs_seek(int64_t k) const {
  const int64_t kf = probe_.keyframe_at_or_before(k);
  if (!started_) return kf > 0;
  if (k <= highest_output_) return true;  // already passed: go back
  if (decoder_eof_) return true;
  return kf > highest_output_ + 1;        // frames before a later key frame can be skipped
}

void FrameReader::note_concealed(int64_t k) {
  stats_.damage.add(static_cast<double>(probe_.relative_ns(probe_.pts[k])) / 1e9);
}

bool FrameReader::damaged(const AVFrame& f) {
  return (f.flags & AV_FRAME_FLAG_CORRUPT) || f.decode_error_flags != 0;
}

void FrameReader::seek_to_keyframe(int64_t keyframe_index) {
  AVFormatContext* fmt = input_.format();
  const int64_t target = probe_.pts[keyframe_index];
  int rc = keyframe_index == 0 ? -1 : av_seek_frame(fmt, stream_, target, AVSEEK_FLAG_BACKWARD);
  if (rc < 0) rc = avformat_seek_file(fmt, stream_, INT64_MIN, probe_.pts.front(), probe_.pts.front(), 0);
  if (rc < 0) rc = avformat_seek_file(fmt, -1, INT64_MIN, INT64_MIN, INT64_MIN, 0);
  check_av(rc, "seeking in " + input_.name(), ErrorKind::kBadInput);
  avcodec_flush_buffers(decoder_.get());
  ++stats_.seeks;
  demuxer_eof_ = false;
  decoder_eof_ = false;
  current_index_ = -1;
  pending_index_ = -1;
  held_for_ = -1;
  highest_output_ = -1;
  started_ = true;
}

void FrameReader::start_run(int64_t pos, int64_t k) {
  // Walk back one key frame at a time if the demuxer lands after k (rare containers).
  while (true) {
    seek_to_keyframe(probe_.keyframes[pos]);
    run_start_pos_ = pos;
    if (!decode_next(scratch_)) return;
    ++stats_.decoded;
    const int64_t idx = probe_.index_of_pts(scratch_->best_effort_timestamp);
    if (idx < 0 || idx <= k || pos == 0) {
      if (idx < 0) {
        ++stats_.dropped;
        return;
      }
      std::swap(pending_, scratch_);
      pending_index_ = idx;
      highest_output_ = std::max(highest_output_, idx);
      return;
    }
    --pos;
  }
}

bool FrameReader::decode_until(int64_t k) {
  while (true) {
    if (pending_index_ >= 0) {
      if (pending_index_ > k) return false;  // k did not come before a later frame
      std::swap(current_, pending_);
      current_index_ = pending_index_;
      pending_index_ = -1;
      if (current_index_ == k) return true;
      ++stats_.dropped;
      continue;
    }
    if (!decode_next(scratch_)) return false;
    ++stats_.decoded;
    const int64_t idx = probe_.index_of_pts(scratch_->best_effort_timestamp);
    if (idx < 0) {
      ++stats_.dropped;
      continue;
    }
    highest_output_ = std::max(highest_output_, idx);
    std::swap(pending_, scratch_);
    pending_index_ = idx;
  }
}

const AVFrame& FrameReader::frame(int64_t k) {
  if (k < 0 || k >= probe_.frame_count()) {
    fail(ErrorKind::kInternal, "source frame " + std::to_string(k) + " is outside 0.." +
                                   std::to_string(probe_.frame_count() - 1));
  }
  if (current_index_ == k || (held_for_ == k && current_index_ >= 0)) return *current_;
  ++stats_.damage.read;
  if (needs_seek(k)) {
    int64_t pos = std::upper_bound(probe_.keyframes.begin(), probe_.keyframes.end(), k) - probe_.keyframes.begin() - 1;
    start_run(std::max<int64_t>(pos, 0), k);
  }
  started_ = true;
  // A run that began at a key frame which does not decode on its own (an open GOP whose
  // frames reference the GOP before) loses or damages frames: restart a key frame earlier.
  for (int reruns = 0;; ++reruns) {
    const bool found = decode_until(k);
    if (found && !damaged(*current_)) return *current_;
    if (run_start_pos_ == 0 || reruns >= 3) {
      if (found) {
        note_concealed(k);  // damaged in the source itself: nothing better exists
        return *current_;
      }
      break;
    }
    ++stats_.reruns;
    start_run(run_start_pos_ - 1, k);
  }
  // Frame k never came out of the decoder (damaged or undecodable). Hold the frame before
  // it, or if there is none, the one after it.
  ++stats_.held;
  note_concealed(k);
  held_for_ = k;
  if (current_index_ >= 0 && current_index_ < k) return *current_;
  if (pending_index_ >= 0) {
    std::swap(current_, pending_);
    current_index_ = pending_index_;
    pending_index_ = -1;
    return *current_;
  }
  fail(ErrorKind::kBadInput, "cannot decode source frame " + std::to_string(k) + " of " + input_.name());
}

}  // namespace reelscale::media
