// media/audio_timeline.cpp — segment layout in samples, the source buffer, copied and
// stretched segment renders, and the crossfading assembler.
#include "media/audio_timeline.h"

#include <rubberband/RubberBandStretcher.h>

#include <algorithm>
#include <cmath>
#include <map>

#include "common/error.h"

namespace reelscale::media {

namespace {

constexpr size_t kBlockFrames = 4096;
constexpr double kContextSeconds = 0.2;   // source fed to the stretcher beyond each end
constexpr double kSpliceSeconds = 0.005;  // crossfade where two segments meet
constexpr double kMinPieceSeconds = 0.1;   // onsets closer than this to another are not cut at
constexpr double kEdgeSeconds = 0.02;      // nor closer than this to a segment's end

PlanarSamples planar(int channels, size_t frames = 0) {
  return PlanarSamples(static_cast<size_t>(channels), std::vector<float>(frames, 0.0f));
}

size_t frames_of(const PlanarSamples& s) { return s.empty() ? 0 : s.front().size(); }

void append(PlanarSamples& to, const PlanarSamples& from, size_t begin, size_t count) {
  for (size_t c = 0; c < to.size(); ++c) {
    to[c].insert(to[c].end(), from[c].begin() + static_cast<std::ptrdiff_t>(begin),
                 from[c].begin() + static_cast<std::ptrdiff_t>(begin + count));
  }
}

// The decoded source, from the earliest sample a later segment still needs.
class SourceBuffer {
 public:
  SourceBuffer(int channels, SampleSupply supply) : data_(planar(channels)), supply_(std::move(supply)) {}

  // Source samples [begin, end); zeros before 0 and past the end of the source.
  PlanarSamples copy(int64_t begin, int64_t end) {
    ensure(end);
    PlanarSamples out = planar(static_cast<int>(data_.size()), static_cast<size_t>(std::max<int64_t>(0, end - begin)));
    const int64_t have_end = first_ + static_cast<int64_t>(frames_of(data_));
    const int64_t from = std::max(begin, first_);
    const int64_t to = std::min(end, have_end);
    if (std::max<int64_t>(begin, 0) < first_) fail(ErrorKind::kInternal, "audio source sample already dropped");
    for (size_t c = 0; c < data_.size() && from < to; ++c) {
      std::copy(data_[c].begin() + (from - first_), data_[c].begin() + (to - first_), out[c].begin() + (from - begin));
    }
    return out;
  }

  void drop_before(int64_t sample) {
    const int64_t n = std::clamp<int64_t>(sample - first_, 0, static_cast<int64_t>(frames_of(data_)));
    if (n <= 0) return;
    for (auto& ch : data_) ch.erase(ch.begin(), ch.begin() + n);
    first_ += n;
  }

 private:
  void ensure(int64_t end) {
    while (!ended_ && first_ + static_cast<int64_t>(frames_of(data_)) < end) {
      if (supply_(data_, kBlockFrames) == 0) ended_ = true;
    }
  }

  PlanarSamples data_;
  int64_t first_ = 0;
  bool ended_ = false;
  SampleSupply supply_;
};

// What one segment contributes: output [output_begin - lead, output_end + trail).
struct SegmentSpan {
  SampleSegment segment;
  int64_t lead = 0;   // half of the crossfade with the previous segment
  int64_t trail = 0;  // half of the crossfade with the next segment
  int64_t length() const { return segment.output_end - segment.output_begin + lead + trail; }
};

class SegmentRender {
 public:
  virtual ~SegmentRender() = default;
  // Appends up to `max` frames of the span to `out`; 0 once the span is complete.
  virtual size_t produce(PlanarSamples& out, size_t max) = 0;
};

// Speed 1: the source samples themselves.
class CopiedSegment final : public SegmentRender {
 public:
  CopiedSegment(const SegmentSpan& span, SourceBuffer& source, int64_t keep_from)
      : source_(source), position_(span.segment.source_begin - span.lead),
        end_(position_ + span.length()), keep_from_(keep_from) {}

  size_t produce(PlanarSamples& out, size_t max) override {
    const int64_t n = std::min<int64_t>(static_cast<int64_t>(max), end_ - position_);
    if (n <= 0) return 0;
    const PlanarSamples block = source_.copy(position_, position_ + n);
    append(out, block, 0, static_cast<size_t>(n));
    position_ += n;
    source_.drop_before(std::min(position_, keep_from_));
    return static_cast<size_t>(n);
  }

 private:
  SourceBuffer& source_;
  int64_t position_;
  int64_t end_;
  int64_t keep_from_;
};

// Onsets after relative quiet — a kick, a whistle — in `in` between `from` and
// `to`: 2.5 ms frames whose energy jumps tenfold over the 40 ms before them, at least
// kMinPieceSeconds apart and `edge_gap` frames from either end. These are where a
// phase vocoder smears a transient ahead of its time (pre-echo), so each becomes the
// start of a piece of its own.
std::vector<size_t> find_onsets(const PlanarSamples& in, size_t from, size_t to, int rate, size_t edge_gap) {
  const size_t hop = std::max<size_t>(1, static_cast<size_t>(rate) / 400);
  const size_t gap = static_cast<size_t>(kMinPieceSeconds * rate);
  const size_t history = 16;
  std::vector<double> energy;
  for (size_t start = 0; start + hop <= frames_of(in); start += hop) {
    double e = 0;
    for (const auto& ch : in) {
      for (size_t i = start; i < start + hop; ++i) e += static_cast<double>(ch[i]) * ch[i];
    }
    energy.push_back(e / static_cast<double>(hop * in.size()));
  }
  std::vector<size_t> onsets;
  size_t last = 0;
  for (size_t k = history; k < energy.size(); ++k) {
    const size_t at = k * hop;
    if ((!onsets.empty() && at < last + gap) || at + hop < from + edge_gap || at + edge_gap > to) continue;
    double background = 0;
    for (size_t j = k - history; j < k; ++j) background += energy[j];
    background /= static_cast<double>(history);
    if (energy[k] < 1e-6 || energy[k] < 10.0 * background) continue;
    float peak = 0;  // refine to the first sample of real level in this frame and the next
    const size_t end = std::min(frames_of(in), at + 2 * hop);
    for (const auto& ch : in) {
      for (size_t i = at; i < end; ++i) peak = std::max(peak, std::fabs(ch[i]));
    }
    size_t first = end;
    for (const auto& ch : in) {
      for (size_t i = at; i < end; ++i) {
        if (std::fabs(ch[i]) >= 0.25f * peak) {
          first = std::min(first, i);
          break;
        }
      }
    }
    if (first < from + edge_gap || first + edge_gap > to) continue;
    onsets.push_back(first);
    last = first;
  }
  return onsets;
}

// Rubber Band's R3 engine in offline mode: it studies the whole input first and so
// produces exactly the asked-for length. Source frame `pre` is pinned to output frame
// round(pre * ratio) and frame `pre + core_in` to that plus `core_out`.
PlanarSamples stretch(const PlanarSamples& input, size_t pre, size_t core_in, size_t core_out, int rate) {
  const int channels = static_cast<int>(input.size());
  const size_t n = frames_of(input);
  const double ratio = static_cast<double>(core_out) / static_cast<double>(core_in);
  const size_t pre_out = static_cast<size_t>(std::llround(static_cast<double>(pre) * ratio));
  using RB = RubberBand::RubberBandStretcher;
  RB::Options options = RB::OptionProcessOffline | RB::OptionEngineFiner;
  if (channels > 1) options |= RB::OptionChannelsTogether;
  RB stretcher(static_cast<size_t>(rate), static_cast<size_t>(channels), options, ratio);
  stretcher.setMaxProcessSize(kBlockFrames);
  const auto pointers = [&input](size_t offset) {
    std::vector<const float*> p;
    for (const auto& ch : input) p.push_back(ch.data() + offset);
    return p;
  };
  for (size_t off = 0; off < n; off += kBlockFrames) {
    const size_t len = std::min(kBlockFrames, n - off);
    stretcher.study(pointers(off).data(), len, off + len >= n);
  }
  std::map<size_t, size_t> pins;
  if (pre > 0) pins[pre] = pre_out;
  if (pre + core_in < n) pins[pre + core_in] = pre_out + core_out;
  stretcher.setKeyFrameMap(pins);

  PlanarSamples out = planar(channels);
  const auto collect = [&] {
    for (int available = stretcher.available(); available > 0; available = stretcher.available()) {
      PlanarSamples got = planar(channels, static_cast<size_t>(available));
      std::vector<float*> p;
      for (auto& ch : got) p.push_back(ch.data());
      const size_t r = stretcher.retrieve(p.data(), static_cast<size_t>(available));
      append(out, got, 0, r);
    }
  };
  for (size_t off = 0; off < n; off += kBlockFrames) {
    const size_t len = std::min(kBlockFrames, n - off);
    stretcher.process(pointers(off).data(), len, off + len >= n);
    collect();
  }
  collect();
  return out;
}

// Copies out[from, from + count) of `stretched` into `span` at `at`; zeros where
// `stretched` has nothing.
void place(PlanarSamples& span, size_t at, const PlanarSamples& stretched, int64_t from, size_t count) {
  for (size_t c = 0; c < span.size(); ++c) {
    for (size_t k = 0; k < count && at + k < span[c].size(); ++k) {
      const int64_t i = from + static_cast<int64_t>(k);
      span[c][at + k] = i >= 0 && i < static_cast<int64_t>(stretched[c].size()) ? stretched[c][static_cast<size_t>(i)] : 0.0f;
    }
  }
}

// Any other speed. The segment is cut into pieces at its onsets and each piece is
// stretched to its exact share of the output: an onset starts its piece, so it lands
// on its mapped time instead of being smeared ahead of it. The segment's own ends
// see kContextSeconds of source beyond them, so neither is a stretcher's start-up or
// flush; the pieces either side of an onset see nothing across it.
class StretchedSegment final : public SegmentRender {
 public:
  StretchedSegment(const SegmentSpan& span, SourceBuffer& source, int channels, int rate)
      : span_(planar(channels, static_cast<size_t>(span.length()))) {
    const SampleSegment& s = span.segment;
    const size_t core_in = static_cast<size_t>(s.source_end - s.source_begin);
    const size_t core_out = static_cast<size_t>(s.output_end - s.output_begin);
    const size_t context = static_cast<size_t>(std::llround(kContextSeconds * rate));
    const size_t pre = static_cast<size_t>(std::min<int64_t>(static_cast<int64_t>(context), s.source_begin));
    const PlanarSamples input = source.copy(s.source_begin - static_cast<int64_t>(pre), s.source_end + static_cast<int64_t>(context));
    const size_t edge = static_cast<size_t>(kEdgeSeconds * rate);
    std::vector<size_t> cuts = find_onsets(input, pre, pre + core_in, rate, edge);
    // An onset on the segment's first frame starts it cleanly, with no context before;
    // the context after the end stops at the next onset, which belongs to what follows.
    const bool onset_at_start = !find_onsets(input, pre - std::min(pre, edge / 4), pre + edge, rate, 0).empty();
    const std::vector<size_t> after = find_onsets(input, pre + core_in, frames_of(input), rate, 0);
    const size_t post = after.empty() ? context : after.front() - std::min(after.front(), pre + core_in);
    cuts.insert(cuts.begin(), pre);
    cuts.push_back(pre + core_in);
    const double ratio = static_cast<double>(core_out) / static_cast<double>(core_in);
    const auto output_at = [&](size_t cut) {
      return cut == pre + core_in ? core_out : static_cast<size_t>(std::llround(static_cast<double>(cut - pre) * ratio));
    };
    for (size_t p = 0; p + 1 < cuts.size(); ++p) {
      const bool first = p == 0, last = p + 2 == cuts.size();
      const size_t a = cuts[p], b = cuts[p + 1];
      const size_t piece_pre = first && !onset_at_start ? pre : 0, piece_post = last ? post : 0;
      const size_t out_a = output_at(a), out_len = output_at(b) - out_a;
      if (b <= a || out_len == 0) continue;
      PlanarSamples slice = planar(channels);
      append(slice, input, a - piece_pre, (b - a) + piece_pre + piece_post);
      const PlanarSamples stretched = stretch(slice, piece_pre, b - a, out_len, rate);
      const int64_t pre_out = std::llround(static_cast<double>(piece_pre) * out_len / static_cast<double>(b - a));
      const size_t lead = first ? static_cast<size_t>(span.lead) : 0, trail = last ? static_cast<size_t>(span.trail) : 0;
      place(span_, static_cast<size_t>(span.lead) + out_a - lead, stretched, pre_out - static_cast<int64_t>(lead),
            out_len + lead + trail);
    }
  }

  size_t produce(PlanarSamples& out, size_t max) override {
    const size_t n = std::min(max, frames_of(span_) - position_);
    append(out, span_, position_, n);
    position_ += n;
    return n;
  }

 private:
  PlanarSamples span_;
  size_t position_ = 0;
};

// Half of the crossfade at each boundary: 2.5 ms, less where a segment is very short.
std::vector<SegmentSpan> spans_of(const std::vector<SampleSegment>& layout, int rate) {
  std::vector<SegmentSpan> spans;
  const int64_t half = std::llround(kSpliceSeconds * rate / 2);
  for (const auto& s : layout) spans.push_back({s, 0, 0});
  for (size_t i = 0; i + 1 < spans.size(); ++i) {
    const int64_t a = spans[i].segment.output_end - spans[i].segment.output_begin;
    const int64_t b = spans[i + 1].segment.output_end - spans[i + 1].segment.output_begin;
    const int64_t h = std::max<int64_t>(0, std::min({half, a / 4, b / 4}));
    spans[i].trail = h;
    spans[i + 1].lead = h;
  }
  return spans;
}

bool is_unit_speed(double speed) { return std::fabs(speed - 1.0) < 1e-9; }

}  // namespace

std::vector<SampleSegment> sample_layout(const std::vector<Segment>& segments, int rate, int64_t total_samples) {
  std::vector<SampleSegment> layout;
  if (segments.empty()) {
    layout.push_back({0, total_samples, 0, total_samples, 1.0});
    return layout;
  }
  const auto samples = [rate](double seconds_or_ns, double scale) {
    return static_cast<int64_t>(std::llround(seconds_or_ns * rate / scale));
  };
  int64_t out_ns = 0;  // the same cumulative sum as the video timeline's
  for (const Segment& s : segments) {
    SampleSegment g;
    g.source_begin = samples(s.start, 1.0);
    g.source_end = std::max(g.source_begin + 1, samples(s.end, 1.0));
    g.output_begin = samples(static_cast<double>(out_ns), 1e9);
    out_ns += std::llround((s.end - s.start) * 1e9 / s.speed);
    g.output_end = samples(static_cast<double>(out_ns), 1e9);
    g.speed = s.speed;
    layout.push_back(g);
  }
  layout.back().output_end = std::max(layout.back().output_begin, total_samples);
  return layout;
}

class TimelineAudio::Impl {
 public:
  Impl(std::vector<SampleSegment> layout, int channels, int rate, SampleSupply supply)
      : spans_(spans_of(layout, rate)), channels_(channels), rate_(rate),
        source_(channels, std::move(supply)), ready_(planar(channels)) {
    const int64_t context = std::llround(kContextSeconds * rate);
    keep_from_.assign(spans_.size() + 1, INT64_MAX);
    for (size_t i = spans_.size(); i-- > 0;) {
      const SegmentSpan& s = spans_[i];
      keep_from_[i] = std::min(keep_from_[i + 1], s.segment.source_begin - s.lead - context);
    }
  }

  size_t read(PlanarSamples& out, size_t frames) {
    while (frames_of(ready_) - ready_pos_ < frames && fill_more()) {
    }
    const size_t n = std::min(frames, frames_of(ready_) - ready_pos_);
    append(out, ready_, ready_pos_, n);
    ready_pos_ += n;
    if (ready_pos_ > (1u << 16)) {
      for (auto& ch : ready_) ch.erase(ch.begin(), ch.begin() + static_cast<std::ptrdiff_t>(ready_pos_));
      ready_pos_ = 0;
    }
    return n;
  }

 private:
  // One more step: start a segment, crossfade its head into the previous tail,
  // copy part of its body, or keep its tail for the next crossfade. False at the end.
  bool fill_more() {
    if (!render_) {
      if (next_ >= spans_.size()) return false;
      start_segment(next_++);
    }
    const SegmentSpan& span = spans_[next_ - 1];
    if (!tail_.front().empty()) {
      crossfade_head(2 * span.lead);
      return true;
    }
    if (body_left_ > 0) {
      const size_t n = render_->produce(ready_, static_cast<size_t>(std::min<int64_t>(body_left_, kBlockFrames)));
      body_left_ = n == 0 ? 0 : body_left_ - static_cast<int64_t>(n);
      return true;
    }
    tail_ = take(static_cast<size_t>(2 * span.trail));
    render_.reset();
    return true;
  }

  void start_segment(size_t i) {
    const SegmentSpan& span = spans_[i];
    source_.drop_before(keep_from_[i]);
    if (is_unit_speed(span.segment.speed)) {
      render_ = std::make_unique<CopiedSegment>(span, source_, keep_from_[i + 1]);
    } else {
      render_ = std::make_unique<StretchedSegment>(span, source_, channels_, rate_);
    }
    body_left_ = span.length() - 2 * span.lead - 2 * span.trail;
  }

  PlanarSamples take(size_t frames) {
    PlanarSamples got = planar(channels_);
    while (frames_of(got) < frames) {
      if (render_->produce(got, frames - frames_of(got)) == 0) break;
    }
    for (auto& ch : got) ch.resize(frames, 0.0f);
    return got;
  }

  // The previous segment's tail and this one's head cover the same output samples:
  // a linear crossfade keeps the splice click-free and centred on the boundary.
  void crossfade_head(int64_t frames) {
    const PlanarSamples head = take(static_cast<size_t>(frames));
    const size_t n = std::min(frames_of(tail_), frames_of(head));
    for (size_t c = 0; c < tail_.size(); ++c) {
      for (size_t k = 0; k < n; ++k) {
        const float w = (static_cast<float>(k) + 0.5f) / static_cast<float>(n);
        tail_[c][k] = tail_[c][k] * (1.0f - w) + head[c][k] * w;
      }
    }
    append(ready_, tail_, 0, n);
    tail_ = planar(channels_);
  }

  std::vector<SegmentSpan> spans_;
  std::vector<int64_t> keep_from_;  // per segment: the first source sample it or a later one needs
  int channels_;
  int rate_;
  SourceBuffer source_;
  size_t next_ = 0;
  std::unique_ptr<SegmentRender> render_;
  int64_t body_left_ = 0;
  PlanarSamples tail_ = planar(channels_);
  PlanarSamples ready_;
  size_t ready_pos_ = 0;
};

TimelineAudio::TimelineAudio(std::vector<SampleSegment> layout, int channels, int rate, SampleSupply supply)
    : impl_(std::make_unique<Impl>(std::move(layout), channels, rate, std::move(supply))) {}

TimelineAudio::~TimelineAudio() = default;

size_t TimelineAudio::read(PlanarSamples& out, size_t frames) { return impl_->read(out, frames); }

}  // namespace reelscale::media
