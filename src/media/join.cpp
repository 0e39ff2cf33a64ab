// media/join.cpp — chunk concatenation with verification.
#include "media/join.h"

#include <cstring>
#include <filesystem>

#include "common/files.h"
#include "media/input.h"

namespace reelscale::media {

namespace {

// Reads the chunks in order and yields their video packets with timestamps in output
// frame units, checking each chunk against what it must hold.
class ChunkSequence {
 public:
  ChunkSequence(const std::vector<ChunkFile>& chunks, AVRational frame_tb, const MediaLimits& limits)
      : chunks_(chunks), frame_tb_(frame_tb), limits_(limits), packet_(make_packet()) {}

  const AVCodecParameters* first_parameters() {
    open(0);
    return reference_.get();
  }

  // Next packet in frame units; false after the last chunk.
  bool next(AVPacket* out) {
    while (true) {
      if (!current_) {
        if (index_ >= chunks_.size()) return false;
        open(index_);
      }
      const int rc = av_read_frame(current_->format(), packet_.get());
      if (rc == AVERROR_EOF) {
        finish_chunk();
        continue;
      }
      check_av(rc, "reading chunk " + chunks_[index_].path, ErrorKind::kInternal);
      if (packet_->stream_index != stream_) {
        av_packet_unref(packet_.get());
        continue;
      }
      const ChunkFile& c = chunks_[index_];
      if (packets_in_chunk_ == 0 && !(packet_->flags & AV_PKT_FLAG_KEY)) {
        fail(ErrorKind::kInternal, "chunk " + std::to_string(index_) + " (" + c.path + ") does not start with a key frame");
      }
      ++packets_in_chunk_;
      av_packet_move_ref(out, packet_.get());
      const AVRational tb = current_->format()->streams[stream_]->time_base;
      out->pts = av_rescale_q(out->pts, tb, frame_tb_) + c.first_frame;
      out->dts = av_rescale_q(out->dts, tb, frame_tb_) + c.first_frame;
      out->duration = 1;
      if (last_dts_ != INT64_MIN && out->dts <= last_dts_) {
        fail(ErrorKind::kInternal, "chunk " + std::to_string(index_) + " overlaps the one before it (dts " +
                                       std::to_string(out->dts) + " after " + std::to_string(last_dts_) + ")");
      }
      if (out->pts < c.first_frame || out->pts >= c.first_frame + c.frames) {
        fail(ErrorKind::kInternal, "chunk " + std::to_string(index_) + " has a frame at " + std::to_string(out->pts) +
                                       ", outside its range [" + std::to_string(c.first_frame) + ", " +
                                       std::to_string(c.first_frame + c.frames) + ")");
      }
      last_dts_ = out->dts;
      ++total_;
      return true;
    }
  }
  int64_t total() const { return total_; }

 private:
  void open(size_t i) {
    index_ = i;
    current_ = std::make_unique<InputMedia>(MediaSource::local(chunks_[i].path, limits_));
    stream_ = current_->video_stream();
    if (stream_ < 0) fail(ErrorKind::kInternal, "chunk " + std::to_string(i) + " has no video stream");
    const AVCodecParameters* par = current_->format()->streams[stream_]->codecpar;
    if (!reference_) {
      reference_.reset(avcodec_parameters_alloc());
      check_av(avcodec_parameters_copy(reference_.get(), par), "chunk parameters", ErrorKind::kInternal);
    } else if (par->codec_id != reference_->codec_id || par->width != reference_->width ||
               par->height != reference_->height || par->extradata_size != reference_->extradata_size ||
               (par->extradata_size &&
                std::memcmp(par->extradata, reference_->extradata, par->extradata_size) != 0)) {
      fail(ErrorKind::kInternal, "chunk " + std::to_string(i) + " was encoded with different codec parameters "
                                 "than chunk 0; chunks of one job must share them to join by stream copy");
    }
    packets_in_chunk_ = 0;
  }
  void finish_chunk() {
    const ChunkFile& c = chunks_[index_];
    if (packets_in_chunk_ != c.frames) {
      fail(ErrorKind::kInternal, "chunk " + std::to_string(index_) + " (" + c.path + ") holds " +
                                     std::to_string(packets_in_chunk_) + " frames, expected " + std::to_string(c.frames));
    }
    current_.reset();
    ++index_;
  }

  struct ParametersDeleter {
    void operator()(AVCodecParameters* p) const { avcodec_parameters_free(&p); }
  };
  const std::vector<ChunkFile>& chunks_;
  AVRational frame_tb_;
  MediaLimits limits_;
  PacketPtr packet_;
  std::unique_ptr<InputMedia> current_;
  std::unique_ptr<AVCodecParameters, ParametersDeleter> reference_;
  size_t index_ = 0;
  int stream_ = -1;
  int64_t packets_in_chunk_ = 0;
  int64_t last_dts_ = INT64_MIN;
  int64_t total_ = 0;
};

}  // namespace

void check_output_container(const std::string& output) {
  const AVOutputFormat* fmt = av_guess_format(nullptr, output.c_str(), nullptr);
  if (!fmt || avformat_query_codec(fmt, AV_CODEC_ID_H264, FF_COMPLIANCE_NORMAL) != 1) {
    fail(ErrorKind::kBadInput, "cannot choose an output container for '" + output +
                                   "' (use a known extension such as .mp4, .mov or .mkv)");
  }
}

int64_t count_video_packets(const std::string& path) {
  InputMedia in(MediaSource::local(path));
  const int vs = in.video_stream();
  if (vs < 0) return 0;
  PacketPtr p = make_packet();
  int64_t n = 0;
  while (av_read_frame(in.format(), p.get()) >= 0) {
    if (p->stream_index == vs) ++n;
    av_packet_unref(p.get());
  }
  return n;
}

JoinResult join_chunks(const std::vector<ChunkFile>& chunks, Rational fps, const std::string& output,
                       const AudioRequest* audio, const MediaLimits& limits) {
  if (chunks.empty()) fail(ErrorKind::kInternal, "nothing to join");
  int64_t expected = 0;
  for (size_t i = 0; i < chunks.size(); ++i) {
    if (chunks[i].first_frame != expected) {
      fail(ErrorKind::kInternal, "chunk " + std::to_string(i) + " starts at frame " +
                                     std::to_string(chunks[i].first_frame) + ", expected " + std::to_string(expected));
    }
    expected += chunks[i].frames;
  }
  const Rational f = fps.reduced();
  const AVRational frame_tb{static_cast<int>(f.den), static_cast<int>(f.num)};

  AtomicOutputFile file(output);
  JoinResult result;
  {
    OutputFormat out(file.temp_path().string());
    ChunkSequence video(chunks, frame_tb, limits);
    AVStream* vst = out.add_stream();
    check_av(avcodec_parameters_copy(vst->codecpar, video.first_parameters()), "video parameters", ErrorKind::kInternal);
    vst->codecpar->codec_tag = 0;
    vst->time_base = frame_tb;
    vst->avg_frame_rate = av_inv_q(frame_tb);

    std::unique_ptr<AudioPacketSource> sound;
    if (audio) sound = make_audio_source(*audio, out.get()->oformat);
    AVStream* ast = nullptr;
    if (sound) {
      sound->add_stream(out.get());
      ast = out.get()->streams[out.get()->nb_streams - 1];
      result.audio = true;
      result.audio_copied = sound->copied();
    }
    out.open();
    AVDictionary* opts = nullptr;
    const std::string muxer = out.get()->oformat->name;
    if (muxer == "mp4" || muxer == "mov") av_dict_set(&opts, "movflags", "+faststart", 0);
    try {
      out.write_header(&opts);
    } catch (...) {
      av_dict_free(&opts);
      throw;
    }
    av_dict_free(&opts);

    PacketPtr vpkt = make_packet();
    PacketPtr apkt = make_packet();
    bool have_video = video.next(vpkt.get());
    bool have_audio = sound && sound->next(apkt.get());
    while (have_video || have_audio) {
      // Interleave by decode time.
      bool take_video = have_video;
      if (have_video && have_audio) {
        take_video = av_compare_ts(vpkt->dts, frame_tb, apkt->dts, sound->time_base()) <= 0;
      }
      if (take_video) {
        vpkt->stream_index = vst->index;
        av_packet_rescale_ts(vpkt.get(), frame_tb, vst->time_base);
        check_av(av_interleaved_write_frame(out.get(), vpkt.get()), "writing video to " + output);
        have_video = video.next(vpkt.get());
      } else {
        apkt->stream_index = ast->index;
        av_packet_rescale_ts(apkt.get(), sound->time_base(), ast->time_base);
        check_av(av_interleaved_write_frame(out.get(), apkt.get()), "writing audio to " + output);
        have_audio = sound->next(apkt.get());
      }
    }
    if (video.total() != expected) {
      fail(ErrorKind::kInternal, "joined " + std::to_string(video.total()) + " frames, expected " + std::to_string(expected));
    }
    out.write_trailer();
    result.frames = video.total();
    if (sound) result.audio_damage = sound->damage();
  }
  file.commit();
  std::error_code ec;
  result.bytes = static_cast<int64_t>(std::filesystem::file_size(output, ec));
  return result;
}

}  // namespace reelscale::media
