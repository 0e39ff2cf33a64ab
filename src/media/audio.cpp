// media/audio.cpp — audio stream copy and the decode → filter → AAC path.
#include "media/audio.h"

#include "media/audio_timeline.h"

#include <cmath>
#include <cstdio>
#include <sstream>

extern "C" {
#include <libavfilter/buffersink.h>
#include <libavfilter/buffersrc.h>
#include <libavutil/channel_layout.h>
#include <libavutil/opt.h>
}

namespace reelscale::media {

AudioMode parse_audio_mode(const std::string& text) {
  if (text == "auto") return AudioMode::kAuto;
  if (text == "copy") return AudioMode::kCopy;
  if (text == "reencode" || text == "encode") return AudioMode::kReencode;
  if (text == "drop" || text == "none") return AudioMode::kDrop;
  fail(ErrorKind::kBadInput, "audio mode '" + text + "' is not one of auto, copy, reencode, drop");
}

namespace {

// Copies the source's packets whose centre lies inside [start, start + duration).
class CopiedAudio final : public AudioPacketSource {
 public:
  CopiedAudio(const AudioRequest& req) : input_(req.source), stream_(req.stream_index) {
    AVFormatContext* fmt = input_.format();
    for (unsigned i = 0; i < fmt->nb_streams; ++i) {
      if (static_cast<int>(i) != stream_) fmt->streams[i]->discard = AVDISCARD_ALL;
    }
    tb_ = fmt->streams[stream_]->time_base;
    start_ = std::llround(req.video_start_seconds / av_q2d(tb_));
    end_ = start_ + std::llround(req.output_seconds / av_q2d(tb_));
    packet_ = make_packet();
  }
  void add_stream(AVFormatContext* output) override {
    AVStream* out = avformat_new_stream(output, nullptr);
    if (!out) fail(ErrorKind::kInternal, "cannot add the audio stream");
    check_av(avcodec_parameters_copy(out->codecpar, input_.format()->streams[stream_]->codecpar), "audio parameters");
    out->codecpar->codec_tag = 0;
    out->time_base = tb_;
  }
  bool next(AVPacket* pkt) override {
    while (true) {
      const int rc = av_read_frame(input_.format(), packet_.get());
      if (rc == AVERROR_EOF) return false;
      check_av(rc, "reading audio of " + input_.name(), ErrorKind::kBadInput);
      if (packet_->stream_index != stream_ || packet_->pts == AV_NOPTS_VALUE) {
        av_packet_unref(packet_.get());
        continue;
      }
      const int64_t half = packet_->duration / 2;
      if (packet_->pts + half < start_ || packet_->pts + half >= end_) {
        const bool past = packet_->pts + half >= end_;
        av_packet_unref(packet_.get());
        if (past) return false;
        continue;
      }
      if (shift_ == INT64_MIN) shift_ = std::max<int64_t>(0, start_ - packet_->pts);  // first kept packet starts at >= 0
      av_packet_move_ref(pkt, packet_.get());
      pkt->pts = pkt->pts - start_ + shift_;
      pkt->dts = pkt->dts == AV_NOPTS_VALUE ? pkt->pts : pkt->dts - start_ + shift_;
      return true;
    }
  }
  AVRational time_base() const override { return tb_; }
  bool copied() const override { return true; }

 private:
  InputMedia input_;
  int stream_;
  AVRational tb_{};
  int64_t start_ = 0;
  int64_t end_ = 0;
  int64_t shift_ = INT64_MIN;
  PacketPtr packet_;
};

int aac_sample_rate(int rate) {
  static const int kRates[] = {96000, 88200, 64000, 48000, 44100, 32000, 24000, 22050, 16000, 12000, 11025, 8000};
  for (int r : kRates) {
    if (r == rate) return rate;
  }
  return 48000;
}

// Decodes the source's audio, shapes it with libavfilter and encodes it to AAC.
class EncodedAudio final : public AudioPacketSource {
 public:
  explicit EncodedAudio(const AudioRequest& req) : input_(req.source), stream_(req.stream_index) {
    AVFormatContext* fmt = input_.format();
    for (unsigned i = 0; i < fmt->nb_streams; ++i) {
      if (static_cast<int>(i) != stream_) fmt->streams[i]->discard = AVDISCARD_ALL;
    }
    AVStream* st = fmt->streams[stream_];
    in_tb_ = st->time_base;
    const AVCodec* dec = avcodec_find_decoder(st->codecpar->codec_id);
    if (!dec) fail(ErrorKind::kBadInput, "no decoder for audio codec " + std::string(avcodec_get_name(st->codecpar->codec_id)));
    decoder_.reset(avcodec_alloc_context3(dec));
    check_av(avcodec_parameters_to_context(decoder_.get(), st->codecpar), "audio decoder parameters");
    decoder_->pkt_timebase = st->time_base;
    check_av(avcodec_open2(decoder_.get(), dec, nullptr), "cannot open the audio decoder", ErrorKind::kBadInput);
    if (decoder_->ch_layout.order == AV_CHANNEL_ORDER_UNSPEC) {
      av_channel_layout_default(&decoder_->ch_layout, decoder_->ch_layout.nb_channels);
    }

    const AVCodec* enc = avcodec_find_encoder(AV_CODEC_ID_AAC);
    if (!enc) fail(ErrorKind::kInternal, "the AAC encoder is not available");
    encoder_.reset(avcodec_alloc_context3(enc));
    rate_ = aac_sample_rate(decoder_->sample_rate);
    encoder_->sample_rate = rate_;
    encoder_->sample_fmt = AV_SAMPLE_FMT_FLTP;
    const int channels = std::min(2, decoder_->ch_layout.nb_channels);
    av_channel_layout_default(&encoder_->ch_layout, channels);
    // 96 kbit/s a channel: at 64 FFmpeg's AAC encoder smeared a beep over noise 16 ms
    // ahead of its onset (pre-echo), which is an A/V sync error in its own right.
    encoder_->bit_rate = 96000 * channels;
    encoder_->time_base = AVRational{1, rate_};
    encoder_->flags |= AV_CODEC_FLAG_GLOBAL_HEADER;
    check_av(avcodec_open2(encoder_.get(), enc, nullptr), "cannot open the AAC encoder");

    video_start_s_ = req.video_start_seconds;
    const int64_t total_samples = std::llround(req.output_seconds * rate_);
    build_graph(req.video_start_seconds);
    packet_ = make_packet();
    frame_ = make_frame();
    filtered_ = make_frame();
    timeline_ = std::make_unique<TimelineAudio>(
        sample_layout(req.segments, rate_, total_samples), channels, rate_,
        [this](PlanarSamples& into, size_t max) { return pull_source(into, max); });
  }

  void add_stream(AVFormatContext* output) override {
    AVStream* out = avformat_new_stream(output, nullptr);
    if (!out) fail(ErrorKind::kInternal, "cannot add the audio stream");
    check_av(avcodec_parameters_from_context(out->codecpar, encoder_.get()), "audio parameters");
    out->time_base = encoder_->time_base;
  }

  bool next(AVPacket* pkt) override {
    while (true) {
      const int rc = avcodec_receive_packet(encoder_.get(), pkt);
      if (rc == 0) return true;
      if (rc == AVERROR_EOF) return false;
      if (rc != AVERROR(EAGAIN)) check_av(rc, "encoding audio");
      feed_encoder();
    }
  }
  AVRational time_base() const override { return encoder_->time_base; }
  bool copied() const override { return false; }

 private:
  // Aligns the decoded audio to the video's time 0 (aresample pads a late start with
  // silence and trims an early one) and converts it to the encoder's layout and rate.
  // The segments are cut and stretched afterwards, by TimelineAudio.
  void build_graph(double video_start) {
    graph_.reset(avfilter_graph_alloc());
    char layout[128] = {0};
    av_channel_layout_describe(&decoder_->ch_layout, layout, sizeof layout);
    std::ostringstream args;
    args << "time_base=1/" << decoder_->sample_rate << ":sample_rate=" << decoder_->sample_rate
         << ":sample_fmt=" << av_get_sample_fmt_name(decoder_->sample_fmt) << ":channel_layout=" << layout;
    check_av(avfilter_graph_create_filter(&src_, avfilter_get_by_name("abuffer"), "in", args.str().c_str(), nullptr,
                                          graph_.get()), "audio filter source");
    check_av(avfilter_graph_create_filter(&sink_, avfilter_get_by_name("abuffersink"), "out", nullptr, nullptr,
                                          graph_.get()), "audio filter sink");
    char out_layout[128] = {0};
    av_channel_layout_describe(&encoder_->ch_layout, out_layout, sizeof out_layout);
    std::ostringstream g;
    g << "[in]aresample=async=1:first_pts=0,aformat=sample_fmts=fltp:channel_layouts=" << out_layout
      << ",aresample=" << rate_ << "[out]";
    AVFilterInOut* outputs = avfilter_inout_alloc();
    AVFilterInOut* inputs = avfilter_inout_alloc();
    outputs->name = av_strdup("in");
    outputs->filter_ctx = src_;
    inputs->name = av_strdup("out");
    inputs->filter_ctx = sink_;
    const int rc = avfilter_graph_parse_ptr(graph_.get(), g.str().c_str(), &inputs, &outputs, nullptr);
    avfilter_inout_free(&inputs);
    avfilter_inout_free(&outputs);
    check_av(rc, "building the audio filter graph '" + g.str() + "'", ErrorKind::kInternal);
    check_av(avfilter_graph_config(graph_.get(), nullptr), "configuring the audio filter graph", ErrorKind::kInternal);
    start_in_samples_ = std::llround(video_start * decoder_->sample_rate);
  }

  // The aligned source samples, for TimelineAudio: one filtered frame per call.
  size_t pull_source(PlanarSamples& into, size_t /*max*/) {
    while (true) {
      const int rc = av_buffersink_get_frame(sink_, filtered_.get());
      if (rc == 0) {
        const size_t n = static_cast<size_t>(filtered_->nb_samples);
        for (size_t c = 0; c < into.size(); ++c) {
          const float* data = reinterpret_cast<const float*>(filtered_->extended_data[c]);
          into[c].insert(into[c].end(), data, data + n);
        }
        av_frame_unref(filtered_.get());
        if (n > 0) return n;
        continue;
      }
      if (rc == AVERROR_EOF) return 0;
      check_av(rc == AVERROR(EAGAIN) ? 0 : rc, "filtering audio");
      push_decoded();
    }
  }

  // Sends the encoder its next frame of the output timeline, or the flush at its end.
  void feed_encoder() {
    if (encoder_flushed_) return;
    PlanarSamples block(static_cast<size_t>(encoder_->ch_layout.nb_channels));
    const size_t n = timeline_->read(block, static_cast<size_t>(encoder_->frame_size));
    if (n == 0) {
      check_av(avcodec_send_frame(encoder_.get(), nullptr), "flushing the audio encoder");
      encoder_flushed_ = true;
      return;
    }
    FramePtr frame = make_frame();
    frame->nb_samples = static_cast<int>(n);
    frame->format = encoder_->sample_fmt;
    frame->sample_rate = rate_;
    check_av(av_channel_layout_copy(&frame->ch_layout, &encoder_->ch_layout), "audio frame layout");
    check_av(av_frame_get_buffer(frame.get(), 0), "audio frame buffer");
    for (size_t c = 0; c < block.size(); ++c) {
      std::copy(block[c].begin(), block[c].end(), reinterpret_cast<float*>(frame->extended_data[c]));
    }
    frame->pts = samples_sent_;
    samples_sent_ += static_cast<int64_t>(n);
    check_av(avcodec_send_frame(encoder_.get(), frame.get()), "encoding audio");
  }

  void push_decoded() {
    while (true) {
      int rc = avcodec_receive_frame(decoder_.get(), frame_.get());
      if (rc == 0) {
        filter_decoded();
        return;
      }
      if (rc == AVERROR_EOF || source_ended_) {  // drained (a draining decoder never asks for more)
        finish_decoding();
        return;
      }
      if (rc != AVERROR(EAGAIN)) note_damage(rc);  // a damaged frame: go on with the next packet
      read_packet();
    }
  }

  void filter_decoded() {
    const int64_t ts = frame_->best_effort_timestamp;
    if (ts != AV_NOPTS_VALUE) {
      frame_->pts = av_rescale_q(ts, in_tb_, AVRational{1, decoder_->sample_rate}) - start_in_samples_;
    }
    const int rc = av_buffersrc_add_frame_flags(src_, frame_.get(), AV_BUFFERSRC_FLAG_KEEP_REF);
    av_frame_unref(frame_.get());
    check_av(rc, "filtering audio");
  }

  // The decoder is drained: the damage is judged once, then the filter flushed.
  void finish_decoding() {
    if (graph_flushed_) return;
    check_damage(damage_, input_.limits(), input_.name());
    check_av(av_buffersrc_add_frame(src_, nullptr), "flushing the audio filter");
    graph_flushed_ = true;
  }

  // Sends the decoder the next packet of the stream, or the end of the stream.
  void read_packet() {
    const int rc = av_read_frame(input_.format(), packet_.get());
    if (rc == AVERROR_EOF) {
      avcodec_send_packet(decoder_.get(), nullptr);
      source_ended_ = true;
      return;
    }
    if (rc < 0) {
      fail(ErrorKind::kBadInput, "reading the audio of " + input_.name() + " failed at " + seconds_text(last_time_s_) +
                                     " s (" + av_error_text(rc) + ")");
    }
    if (packet_->stream_index == stream_) {
      ++damage_.read;
      if (packet_->pts != AV_NOPTS_VALUE) last_time_s_ = packet_->pts * av_q2d(in_tb_) - video_start_s_;
      const int sent = avcodec_send_packet(decoder_.get(), packet_.get());
      if (sent < 0 && sent != AVERROR(EAGAIN)) note_damage(sent);
    }
    av_packet_unref(packet_.get());
  }

  void note_damage(int code) {
    if (code == AVERROR(ENOMEM)) check_av(code, "decoding audio", ErrorKind::kInternal);
    damage_.add(last_time_s_);
  }

  static std::string seconds_text(double s) {
    char text[32];
    std::snprintf(text, sizeof text, "%.2f", s);
    return text;
  }

 public:
  StreamDamage damage() const override { return damage_; }

 private:
  InputMedia input_;
  int stream_;
  AVRational in_tb_{};
  CodecContextPtr decoder_;
  CodecContextPtr encoder_;
  FilterGraphPtr graph_;
  AVFilterContext* src_ = nullptr;
  AVFilterContext* sink_ = nullptr;
  PacketPtr packet_;
  FramePtr frame_;
  FramePtr filtered_;
  std::unique_ptr<TimelineAudio> timeline_;
  int rate_ = 48000;
  int64_t start_in_samples_ = 0;
  int64_t samples_sent_ = 0;
  bool graph_flushed_ = false;
  bool encoder_flushed_ = false;
  bool source_ended_ = false;
  double video_start_s_ = 0;
  double last_time_s_ = 0;      // the latest audio packet's time, from the first video frame
  StreamDamage damage_{"audio", "packets"};
};

bool copy_possible(const AudioRequest& req, const AVOutputFormat* container, std::string* why) {
  if (!req.segments.empty()) {
    *why = "segments change the timeline";
    return false;
  }
  InputMedia input(req.source);
  AVStream* st = input.format()->streams[req.stream_index];
  if (avformat_query_codec(container, st->codecpar->codec_id, FF_COMPLIANCE_NORMAL) != 1) {
    *why = std::string("codec ") + avcodec_get_name(st->codecpar->codec_id) + " does not fit the " +
           container->name + " container";
    return false;
  }
  const double tb = av_q2d(st->time_base);
  const double start = st->start_time == AV_NOPTS_VALUE ? 0 : st->start_time * tb;
  const double duration = st->duration > 0 ? st->duration * tb : 0;
  // The copy must cover the video to within one AAC-sized packet at both ends.
  const double slack = 0.03;
  if (start > req.video_start_seconds + slack) {
    *why = "the audio starts after the video";
    return false;
  }
  if (duration <= 0 || start + duration < req.video_start_seconds + req.output_seconds - slack) {
    *why = "the audio ends before the video";
    return false;
  }
  return true;
}

}  // namespace

std::unique_ptr<AudioPacketSource> make_audio_source(const AudioRequest& request, const AVOutputFormat* container) {
  if (request.stream_index < 0 || request.mode == AudioMode::kDrop) return nullptr;
  if (request.mode != AudioMode::kReencode) {
    std::string why;
    if (copy_possible(request, container, &why)) return std::make_unique<CopiedAudio>(request);
    if (request.mode == AudioMode::kCopy) fail(ErrorKind::kBadInput, "cannot copy the audio: " + why);
  }
  return std::make_unique<EncodedAudio>(request);
}

}  // namespace reelscale::media
