// media/encoder.cpp — libx264 chunk encoding and muxing.
#include "media/encoder.h"

#include <dlfcn.h>

extern "C" {
#include <libavutil/opt.h>
}

namespace reelscale::media {

void EncoderSettings::validate() const {
  validate_options();
  if (width <= 0 || height <= 0 || width > 8192 || height > 8192) {
    fail(ErrorKind::kBadInput, "output size " + std::to_string(width) + "x" + std::to_string(height) +
                                   " is out of range (1..8192)");
  }
  if (width % 2 || height % 2) {
    fail(ErrorKind::kBadInput, "output size " + std::to_string(width) + "x" + std::to_string(height) +
                                   " must be even in both dimensions (yuv420p)");
  }
}

void EncoderSettings::validate_options() const {
  if (!fps.valid() || fps.to_double() > 240) {
    fail(ErrorKind::kBadInput, "fps " + fps.to_string() + " is out of range (0 < fps <= 240)");
  }
  if (!(source_upscale > 0)) fail(ErrorKind::kInternal, "the source upscale must be positive");
  if (crf < 0 || crf > 51) fail(ErrorKind::kBadInput, "crf " + std::to_string(crf) + " is outside 0..51");
  static const char* kPresets[] = {"ultrafast", "superfast", "veryfast", "faster", "fast",
                                   "medium", "slow", "slower", "veryslow", "placebo"};
  bool known = false;
  for (const char* p : kPresets) known = known || preset == p;
  if (!known) fail(ErrorKind::kBadInput, "unknown encoder preset '" + preset + "'");
}

std::string EncoderSettings::x264_params() const {
  // Closed GOPs, and no scene-cut key frames that are not IDR (x264's default is IDR anyway).
  std::string params = "open-gop=0";
  // veryfast searches p8x8, b8x8, i8x8 and i4x4; an enlarged picture keeps the intra ones.
  if (preset == "veryfast" && source_upscale >= kSmoothUpscale) params += ":partitions=i8x8,i4x4";
  return params;
}

namespace {

// Why NVENC cannot run here before FFmpeg tries ("" when the driver loads): FFmpeg only logs it.
std::string nvidia_driver_missing() {
  void* cuda = dlopen("libcuda.so.1", RTLD_LAZY | RTLD_LOCAL);
  if (!cuda) {
    const char* why = dlerror();
    return std::string("no NVIDIA driver on this machine (libcuda.so.1: ") + (why ? why : "cannot be loaded") + ")";
  }
  dlclose(cuda);
  return "";
}

}  // namespace

ChunkEncoder::ChunkEncoder(const std::string& path, const EncoderSettings& settings)
    : settings_(settings), out_(path), packet_(make_packet()), staging_(make_frame()) {
  settings_.validate();
  open_encoder();
  stream_ = out_.add_stream();
  check_av(avcodec_parameters_from_context(stream_->codecpar, encoder_.get()), "encoder parameters");
  stream_->time_base = encoder_->time_base;
  stream_->avg_frame_rate = encoder_->framerate;
  out_.open();
  out_.write_header();
}

void ChunkEncoder::open_encoder() {
  if (settings_.codec == kNvencCodec) {
    std::string why = nvidia_driver_missing();
    if (why.empty()) why = try_open(kNvencCodec);
    if (why.empty()) return;
    fallback_reason_ = std::string(kNvencCodec) + " could not be used: " + why + "; encoded with libx264";
    settings_.codec = "libx264";
  }
  const std::string why = try_open(settings_.codec);
  if (why.empty()) return;
  const bool known = avcodec_find_encoder_by_name(settings_.codec.c_str()) != nullptr;
  fail(known ? ErrorKind::kIo : ErrorKind::kBadInput, why);
}

std::string ChunkEncoder::try_open(const std::string& name) {
  const AVCodec* codec = avcodec_find_encoder_by_name(name.c_str());
  if (!codec) return "encoder '" + name + "' is not available in this FFmpeg";
  encoder_.reset(avcodec_alloc_context3(codec));
  if (!encoder_) fail(ErrorKind::kInternal, "out of memory creating an encoder");
  const Rational fps = settings_.fps.reduced();
  AVCodecContext* c = encoder_.get();
  c->width = settings_.width;
  c->height = settings_.height;
  c->pix_fmt = AV_PIX_FMT_YUV420P;
  c->time_base = AVRational{static_cast<int>(fps.den), static_cast<int>(fps.num)};
  c->framerate = AVRational{static_cast<int>(fps.num), static_cast<int>(fps.den)};
  c->sample_aspect_ratio = AVRational{1, 1};
  c->gop_size = settings_.gop > 0 ? settings_.gop : kDefaultGop;
  c->thread_count = settings_.threads;
  c->flags |= AV_CODEC_FLAG_CLOSED_GOP;
  c->color_range = AVCOL_RANGE_MPEG;
  if (out_.get()->oformat->flags & AVFMT_GLOBALHEADER) c->flags |= AV_CODEC_FLAG_GLOBAL_HEADER;
  if (name == "libx264") {
    av_opt_set(c->priv_data, "preset", settings_.preset.c_str(), 0);
    av_opt_set_double(c->priv_data, "crf", settings_.crf, 0);
    av_opt_set(c->priv_data, "x264-params", settings_.x264_params().c_str(), 0);
  } else if (name == kNvencCodec) {
    // Constant quality at the job's CRF number, NVENC's middle preset; not yet matched
    // to x264's quality (bench/gpu/run.sh measures both).
    av_opt_set(c->priv_data, "preset", "p4", 0);
    av_opt_set(c->priv_data, "rc", "vbr", 0);
    av_opt_set_int(c->priv_data, "cq", settings_.crf, 0);
    c->bit_rate = 0;
  }
  const int rc = avcodec_open2(c, codec, nullptr);
  if (rc < 0) {
    encoder_.reset();
    return "cannot open encoder " + name + ": " + av_error_text(rc);
  }
  return "";
}

ChunkEncoder::~ChunkEncoder() = default;

void ChunkEncoder::write(const AVFrame& frame) {
  if (finished_) fail(ErrorKind::kInternal, "write after finish");
  if (frame.width != settings_.width || frame.height != settings_.height || frame.format != AV_PIX_FMT_YUV420P) {
    fail(ErrorKind::kInternal, "encoder got a " + std::to_string(frame.width) + "x" + std::to_string(frame.height) +
                                   " frame, expected yuv420p " + std::to_string(settings_.width) + "x" +
                                   std::to_string(settings_.height));
  }
  check_av(av_frame_ref(staging_.get(), &frame), "frame reference", ErrorKind::kInternal);
  staging_->pts = frames_;
  staging_->pict_type = AV_PICTURE_TYPE_NONE;
  staging_->sample_aspect_ratio = AVRational{1, 1};
  const int rc = avcodec_send_frame(encoder_.get(), staging_.get());
  av_frame_unref(staging_.get());
  check_av(rc, "encoding frame " + std::to_string(frames_));
  ++frames_;
  drain(false);
}

void ChunkEncoder::drain(bool flushing) {
  while (true) {
    const int rc = avcodec_receive_packet(encoder_.get(), packet_.get());
    if (rc == AVERROR(EAGAIN) || rc == AVERROR_EOF) return;
    check_av(rc, "encoding");
    // Duration first, then rescale: a zero duration makes joined MP4 chunks overlap.
    packet_->duration = 1;
    packet_->stream_index = stream_->index;
    av_packet_rescale_ts(packet_.get(), encoder_->time_base, stream_->time_base);
    bytes_ += packet_->size;
    ++packets_;
    check_av(av_write_frame(out_.get(), packet_.get()), "writing a packet");
    av_packet_unref(packet_.get());
    (void)flushing;
  }
}

void ChunkEncoder::finish() {
  if (finished_) return;
  check_av(avcodec_send_frame(encoder_.get(), nullptr), "flushing the encoder");
  drain(true);
  out_.write_trailer();
  finished_ = true;
}

}  // namespace reelscale::media
