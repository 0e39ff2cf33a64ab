// media/probe.cpp — packet-level probing of the video stream (no decoding).
#include "media/probe.h"

#include <algorithm>
#include <sstream>

extern "C" {
#include <libavutil/display.h>
#include <libavutil/pixdesc.h>
}

namespace reelscale::media {

namespace {


Rational to_rational(AVRational r) { return Rational{r.num, r.den}; }

int rotation_of(const AVStream* st) {
  const uint8_t* matrix = av_stream_get_side_data(st, AV_PKT_DATA_DISPLAYMATRIX, nullptr);
  if (!matrix) return 0;
  const double ccw = av_display_rotation_get(reinterpret_cast<const int32_t*>(matrix));
  if (std::isnan(ccw)) return 0;
  int cw = static_cast<int>(std::lround(-ccw)) % 360;
  if (cw < 0) cw += 360;
  return (cw + 45) / 90 * 90 % 360;
}

int64_t median_interval(const std::vector<int64_t>& pts) {
  if (pts.size() < 2) return 0;
  std::vector<int64_t> d;
  d.reserve(pts.size() - 1);
  for (size_t i = 1; i < pts.size(); ++i) d.push_back(pts[i] - pts[i - 1]);
  std::nth_element(d.begin(), d.begin() + d.size() / 2, d.end());
  return d[d.size() / 2];
}

}  // namespace

int64_t VideoProbe::relative_ns(int64_t pts_value) const {
  if (pts.empty()) return 0;
  const Int128 ticks = static_cast<Int128>(pts_value - pts.front());
  return static_cast<int64_t>(ticks * 1000000000 * time_base.num / time_base.den);
}

std::vector<int64_t> VideoProbe::relative_times_ns() const {
  std::vector<int64_t> out;
  out.reserve(pts.size());
  for (int64_t p : pts) out.push_back(relative_ns(p));
  return out;
}

int64_t VideoProbe::keyframe_at_or_before(int64_t k) const {
  auto it = std::upper_bound(keyframes.begin(), keyframes.end(), k);
  if (it == keyframes.begin()) return 0;
  return *(it - 1);
}

int64_t VideoProbe::index_of_pts(int64_t pts_value) const {
  if (pts.empty()) return -1;
  auto it = std::lower_bound(pts.begin(), pts.end(), pts_value);
  int64_t best = -1;
  int64_t best_distance = INT64_MAX;
  for (auto cand : {it, it == pts.begin() ? it : it - 1}) {
    if (cand == pts.end()) continue;
    const int64_t d = std::llabs(*cand - pts_value);
    if (d < best_distance) {
      best_distance = d;
      best = cand - pts.begin();
    }
  }
  // Accept a match within half the neighbouring interval (timestamps can be rounded).
  const int64_t i = best;
  const int64_t next = i + 1 < frame_count() ? pts[i + 1] - pts[i] : (end_pts - pts[i]);
  const int64_t prev = i > 0 ? pts[i] - pts[i - 1] : next;
  const int64_t tolerance = std::max<int64_t>(1, std::min(prev, next) / 2);
  return best_distance < tolerance ? best : -1;
}

namespace {

// The video stream's geometry, format, rotation and rates.
void describe_video_stream(InputMedia& input, VideoProbe& probe) {
  AVFormatContext* fmt = input.format();
  if (fmt->nb_streams > kMaxProbeStreams) {
    fail(ErrorKind::kBadInput, input.name() + " has " + std::to_string(fmt->nb_streams) + " streams, over the limit of " +
                                   std::to_string(kMaxProbeStreams));
  }
  probe.container = fmt->iformat ? fmt->iformat->name : "";
  probe.stream_index = input.video_stream();
  if (probe.stream_index < 0) fail(ErrorKind::kBadInput, "no video stream in " + input.name());
  if (fmt->pb) probe.file_bytes = avio_size(fmt->pb);
  AVStream* vs = fmt->streams[probe.stream_index];
  const AVCodecParameters* par = vs->codecpar;
  probe.codec = avcodec_get_name(par->codec_id);
  probe.width = par->width;
  probe.height = par->height;
  if (probe.width <= 0 || probe.height <= 0 || probe.width > kMaxProbeDimension || probe.height > kMaxProbeDimension) {
    fail(ErrorKind::kBadInput, "video dimensions " + std::to_string(probe.width) + "x" + std::to_string(probe.height) +
                                   " of " + input.name() + " are out of range (1.." + std::to_string(kMaxProbeDimension) + ")");
  }
  const char* pix = av_get_pix_fmt_name(static_cast<AVPixelFormat>(par->format));
  probe.pixel_format = pix ? pix : "unknown";
  probe.rotation = rotation_of(vs);
  probe.frame_rate = to_rational(vs->r_frame_rate);
  probe.average_frame_rate = to_rational(vs->avg_frame_rate);
  probe.time_base = to_rational(vs->time_base);
  probe.container_frame_count = vs->nb_frames;
}

// The audio streams; every stream but the video one is discarded while probing.
void describe_audio_and_skip_other_streams(AVFormatContext* fmt, VideoProbe& probe) {
  for (unsigned i = 0; i < fmt->nb_streams; ++i) {
    AVStream* st = fmt->streams[i];
    if (st->codecpar->codec_type == AVMEDIA_TYPE_AUDIO) {
      AudioStreamInfo a;
      a.index = static_cast<int>(i);
      a.codec = avcodec_get_name(st->codecpar->codec_id);
      a.sample_rate = st->codecpar->sample_rate;
      a.channels = st->codecpar->ch_layout.nb_channels;
      a.time_base = to_rational(st->time_base);
      a.start_seconds = st->start_time == AV_NOPTS_VALUE ? 0 : st->start_time * av_q2d(st->time_base);
      a.duration_seconds = st->duration > 0 ? st->duration * av_q2d(st->time_base)
                           : fmt->duration > 0 ? fmt->duration / double(AV_TIME_BASE) : 0;
      probe.audio.push_back(a);
    }
    if (static_cast<int>(i) != probe.stream_index) st->discard = AVDISCARD_ALL;
  }
}

struct PacketTime {
  int64_t pts;
  int64_t duration;
  bool key;
};

// Every video packet's timestamp, duration and key flag, in presentation order; checks
// the stream was read to its end and holds as many packets as its index says.
std::vector<PacketTime> read_video_packets(InputMedia& input, const VideoProbe& probe) {
  AVFormatContext* fmt = input.format();
  std::vector<PacketTime> packets;
  int64_t packets_seen = 0;  // including ones the container marks as discarded
  PacketPtr pkt = make_packet();
  int rc = 0;
  while ((rc = av_read_frame(fmt, pkt.get())) >= 0) {
    if (pkt->stream_index == probe.stream_index) {
      if (++packets_seen > kMaxProbeFrames) {
        fail(ErrorKind::kBadInput, input.name() + " has more than " + std::to_string(kMaxProbeFrames) +
                                       " video frames, the limit (about 18 hours at 30 fps)");
      }
      const int64_t t = pkt->pts != AV_NOPTS_VALUE ? pkt->pts : pkt->dts;
      if (t == AV_NOPTS_VALUE) fail(ErrorKind::kBadInput, "video packets of " + input.name() + " carry no timestamps");
      if (!(pkt->flags & AV_PKT_FLAG_DISCARD) && !(pkt->flags & AV_PKT_FLAG_CORRUPT) && pkt->size > 0) {
        packets.push_back({t, pkt->duration, (pkt->flags & AV_PKT_FLAG_KEY) != 0});
      }
    }
    av_packet_unref(pkt.get());
  }
  for (unsigned i = 0; i < fmt->nb_streams; ++i) fmt->streams[i]->discard = AVDISCARD_DEFAULT;
  if (rc != AVERROR_EOF) {
    fail(ErrorKind::kBadInput, "cannot read all of " + input.name() + ": " + av_error_text(rc) + " after " +
                                   std::to_string(packets.size()) + " frames (truncated or corrupt?)");
  }
  if (packets.empty()) fail(ErrorKind::kBadInput, "the video stream of " + input.name() + " has zero frames");
  if (probe.container_frame_count > 0 && packets_seen < probe.container_frame_count) {
    fail(ErrorKind::kBadInput, input.name() + " is truncated: its index lists " +
                                   std::to_string(probe.container_frame_count) + " video frames but only " +
                                   std::to_string(packets_seen) + " can be read");
  }
  std::sort(packets.begin(), packets.end(), [](const PacketTime& a, const PacketTime& b) { return a.pts < b.pts; });
  // Two packets with one timestamp (broken muxing) would make frame indices ambiguous.
  packets.erase(std::unique(packets.begin(), packets.end(),
                            [](const PacketTime& a, const PacketTime& b) { return a.pts == b.pts; }),
                packets.end());
  return packets;
}

// Frame times, key frames, the end of the last frame and whether the rate varies.
void index_frames(const std::vector<PacketTime>& packets, const AVStream* vs, VideoProbe& probe) {
  probe.pts.reserve(packets.size());
  for (size_t i = 0; i < packets.size(); ++i) {
    probe.pts.push_back(packets[i].pts);
    if (packets[i].key) probe.keyframes.push_back(static_cast<int64_t>(i));
  }
  // Decoding starts at the first frame whatever its flag says.
  if (probe.keyframes.empty() || probe.keyframes.front() != 0) probe.keyframes.insert(probe.keyframes.begin(), 0);
  const int64_t median = median_interval(probe.pts);
  int64_t last_duration = packets.back().duration;
  if (last_duration <= 0) {
    last_duration = median > 0 ? median
                    : probe.frame_rate.valid()
                        ? av_rescale_q(1, av_inv_q(AVRational{int(probe.frame_rate.num), int(probe.frame_rate.den)}), vs->time_base)
                        : 1;
  }
  probe.end_pts = probe.pts.back() + std::max<int64_t>(1, last_duration);
  if (median <= 0) return;
  const int64_t tolerance = std::max<int64_t>(2, median / 100);
  for (size_t i = 1; i < probe.pts.size(); ++i) {
    if (std::llabs(probe.pts[i] - probe.pts[i - 1] - median) > tolerance) {
      probe.variable_frame_rate = true;
      return;
    }
  }
}

}  // namespace

VideoProbe probe_video(InputMedia& input) {
  VideoProbe probe;
  describe_video_stream(input, probe);
  AVFormatContext* fmt = input.format();
  describe_audio_and_skip_other_streams(fmt, probe);
  index_frames(read_video_packets(input, probe), fmt->streams[probe.stream_index], probe);
  // Rewind so the caller can decode from the start.
  avformat_seek_file(fmt, probe.stream_index, INT64_MIN, INT64_MIN, INT64_MIN, 0);
  return probe;
}

VideoProbe probe_video(const MediaSource& source) {
  InputMedia input(source);
  return probe_video(input);
}

std::string describe(const VideoProbe& p) {
  std::ostringstream os;
  os << "container:      " << p.container << "\n"
     << "video codec:    " << p.codec << " (" << p.pixel_format << ")\n"
     << "size:           " << p.width << "x" << p.height << "\n"
     << "rotation:       " << p.rotation << "\n"
     << "frame rate:     " << p.frame_rate.to_string() << " nominal, " << p.average_frame_rate.to_string()
     << " average" << (p.variable_frame_rate ? ", variable" : ", constant") << "\n"
     << "frames:         " << p.frame_count() << "\n"
     << "key frames:     " << p.keyframes.size() << "\n"
     << "start:          " << p.start_seconds() << " s\n"
     << "duration:       " << p.duration_seconds() << " s\n"
     << "audio streams:  " << p.audio.size() << "\n";
  for (const auto& a : p.audio) {
    os << "  #" << a.index << " " << a.codec << " " << a.sample_rate << " Hz, " << a.channels
       << " ch, " << a.duration_seconds << " s\n";
  }
  return os.str();
}

}  // namespace reelscale::media
