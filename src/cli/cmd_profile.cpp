// cli/cmd_profile.cpp — `reelscale profile`: runs the old system's experiments on the
// machine at hand and writes a profile in the planner's format (every figure marked
// measured, with the date) plus a Markdown report: per-frame time per endpoint on clips
// of several lengths, process start-up and model load, read and write throughput, per-
// chunk overhead and join time for N = 1, 2, 4, 8, one detect call, and the break-even table the planner
// derives from it.
#include <algorithm>
#include <chrono>
#include <cmath>
#include <ctime>
#include <filesystem>
#include <fstream>
#include <iomanip>
#include <iostream>
#include <nlohmann/json.hpp>
#include <sstream>
#include <thread>

#include "cli/commands.h"
#include "common/files.h"
#include "exec/orchestrator.h"
#include "media/encoder.h"
#include "media/probe.h"
#include "plan/calibrate.h"
#include "plan/planner.h"
#include "plan/thresholds.h"
#include "process/job_spec.h"
#include "process/processors.h"

namespace reelscale::cli {

namespace {

using Clock = std::chrono::steady_clock;
double since(Clock::time_point t) { return std::chrono::duration<double>(Clock::now() - t).count(); }

std::string today() {
  const std::time_t t = std::time(nullptr);
  char buf[16];
  std::strftime(buf, sizeof buf, "%Y-%m-%d", std::gmtime(&t));
  return buf;
}

// A synthetic 1920x1080 clip — smooth gradients and a moving block, compressing about
// like camera footage — written by our own encoder.
void make_clip(const std::string& path, int seconds) {
  media::EncoderSettings s;
  s.width = 1920;
  s.height = 1080;
  s.preset = "ultrafast";
  s.crf = 23;
  media::ChunkEncoder enc(path, s);
  media::FramePtr f = media::make_frame(1920, 1080, AV_PIX_FMT_YUV420P);
  for (int i = 0; i < seconds * 30; ++i) {
    media::check_av(av_frame_make_writable(f.get()), "frame");
    for (int y = 0; y < 1080; ++y) {
      uint8_t* row = f->data[0] + y * f->linesize[0];
      for (int x = 0; x < 1920; ++x) {
        const bool block = std::abs(x - (200 + 12 * i) % 1920) < 120 && std::abs(y - 540) < 160;
        row[x] = block ? 235 : static_cast<uint8_t>(32 + (x / 12 + y / 9 + 2 * i) % 160);
      }
    }
    for (int p = 1; p < 3; ++p) {
      for (int y = 0; y < 540; ++y) std::memset(f->data[p] + y * f->linesize[p], 128 + ((y + i) & 15), 960);
    }
    enc.write(*f);
  }
  enc.finish();
}

struct Measurement {
  std::string endpoint;
  int clip_seconds = 0;
  int64_t frames = 0;
  double process_ms_per_frame = 0;
  double total_ms_per_frame = 0;
};

class ProfileCommand final : public Command {
 public:
  explicit ProfileCommand(CLI::App& parent) {
    app_ = parent.add_subcommand("profile", "Measure this machine and write a planner profile and a report");
    app_->add_option("--out", out_dir_, "Folder for profile.json and profile.md")->required();
    app_->add_option("--hardware", hardware_, "Name of this hardware in the profile");
    app_->add_option("--lengths", lengths_, "Clip lengths to measure, seconds")->delimiter(',');
    app_->add_option("--ai-frames", ai_frames_, "Frames of each clip framing_ai processes (it is slow on CPUs)");
    app_->add_option("--store", store_url_, "An s3:// prefix to measure transfer throughput against (optional)");
    app_->add_flag("--quick", quick_, "Short clips and fewer runs (for tests)");
    app_->add_option("--models", settings_.models_dir, "Models folder");
  }
  CLI::App* app() const override { return app_; }

  int run() override {
    const double startup_s = seconds_since_process_start();
    if (quick_ && lengths_ == std::vector<int>{5, 30, 120}) lengths_ = {1, 2};
    if (quick_) ai_frames_ = std::min(ai_frames_, 2);
    check_output_path(std::filesystem::path(out_dir_) / "profile.json", "");
    ScopedTempDir work(std::filesystem::temp_directory_path(), "reelscale-profile-");
    store::ObjectStore store;
    process::Processors processors(settings_);
    const int cores = static_cast<int>(std::max(1u, std::thread::hardware_concurrency()));
    processors.set_cpu_threads(cores);
    nlohmann::json raw = {{"date", today()}, {"cores", cores}, {"process_startup_s", startup_s}};

    // Model load: the network module, the weights from disk, the network built for this device.
    auto t = Clock::now();
    const double weights_s = processors.load_model("realesr-animevideov3");
    const double module_s = since(t) - weights_s;
    const double build_s = 0;  // included in load_model
    raw["model_load_s"] = weights_s;
    raw["network_module_load_s"] = module_s;

    // Per-frame time per endpoint, one chunk on one slot, on each clip length.
    std::vector<Measurement> measurements;
    std::map<int, std::string> clips;
    for (int len : lengths_) {
      clips[len] = (work.path() / ("clip-" + std::to_string(len) + "s.mp4")).string();
      std::cerr << "profile: making a " << len << " s 1920x1080 clip\n";
      make_clip(clips[len], len);
    }
    exec::ProcessorFactoryMaker maker = [&processors](const process::JobSpec& s) { return processors.make(s); };
    auto job_for = [&](const std::string& endpoint, const std::string& clip, int max_frames, const std::string& out) {
      nlohmann::json j = {{"endpoint", endpoint}, {"input", clip}, {"output", out}, {"fps", 30}, {"audio", "drop"},
                          {"preset", "veryfast"}};
      const double second_key = max_frames > 0 ? max_frames / 30.0 : 1.0;  // keyframes stay inside the output
      if (endpoint == "framing" || endpoint == "framing_ai") {
        j["crop_keyframes"] = nlohmann::json::array({{{"time", 0}, {"x", 656}, {"y", 0}, {"width", 608}, {"height", 1080}},
                                                     {{"time", second_key}, {"x", 900}, {"y", 0}, {"width", 608}, {"height", 1080}}});
      }
      if (endpoint == "overlay") {
        j["highlight_keyframes"] = nlohmann::json::array({{{"time", 0}, {"x", 600}, {"y", 500}, {"rx", 150}, {"ry", 250}},
                                                          {{"time", second_key}, {"x", 1300}, {"y", 560}, {"rx", 180}, {"ry", 280}}});
      }
      if (max_frames > 0) j["segments"] = nlohmann::json::array({{{"start", 0}, {"end", max_frames / 30.0}}});
      return process::parse_job_spec(j);
    };
    exec::RunOptions options;
    options.hardware = hardware_;
    nlohmann::json chunk_runs = nlohmann::json::array();
    for (const std::string endpoint : {"overlay", "framing", "framing_ai"}) {
      for (const auto& [len, clip] : clips) {
        const int limit = endpoint == std::string("framing_ai") ? ai_frames_ : 0;
        std::cerr << "profile: " << endpoint << " on the " << len << " s clip\n";
        exec::LocalExecutor one_slot(1, maker, store, work.path());
        const nlohmann::json r = exec::run_job(job_for(endpoint, clip, limit, (work.path() / "out.mp4").string()), one_slot,
                                               store, with_chunks(options, 1));
        Measurement m{endpoint, len, r["frames"].get<int64_t>()};
        m.process_ms_per_frame = 1000 * r["chunk_results"][0]["timings_s"]["process"].get<double>() / m.frames;
        m.total_ms_per_frame = 1000 * r["timings_s"]["dispatch"].get<double>() / m.frames;
        measurements.push_back(m);
      }
    }
    // Per-chunk overhead and join time for N chunks of the middle clip (framing).
    const int mid = lengths_[lengths_.size() / 2];
    nlohmann::json chunking = nlohmann::json::array();
    std::vector<std::pair<double, double>> join_points;
    double preroll_sum = 0;
    int preroll_n = 0;
    double per_frame_one_chunk = 0;
    for (int n : {1, 2, 4, 8}) {
      exec::LocalExecutor slots(cores, maker, store, work.path());
      const auto t0 = Clock::now();
      const nlohmann::json r = exec::run_job(job_for("framing", clips[mid], 0, (work.path() / "out.mp4").string()), slots,
                                             store, with_chunks(options, n));
      const double wall = since(t0);
      // Overhead of a chunk: its task time beyond what its frames cost in the one-chunk run.
      double overhead = 0;
      if (n == 1) per_frame_one_chunk = r["chunk_results"][0]["timings_s"]["task"].get<double>() / r["frames"].get<double>();
      for (const auto& c : r["chunk_results"]) {
        overhead += c["timings_s"]["task"].get<double>() - c["frames"].get<double>() * per_frame_one_chunk;
        if (c["index"].get<int>() > 0) {
          preroll_sum += c["timings_s"]["preroll"].get<double>();
          ++preroll_n;
        }
      }
      const double join_s = r["timings_s"]["join"].get<double>();
      if (n > 1) join_points.push_back({static_cast<double>(n), join_s});
      chunking.push_back({{"chunks", n}, {"wall_s", wall}, {"join_s", join_s},
                          {"overhead_per_chunk_s", overhead / n}, {"frames", r["frames"]}});
    }
    raw["chunking"] = chunking;
    // detect: one frame per job; the whole call (detector load, seek and decode, network) and the
    // network alone, median of 5 on the middle clip.
    std::vector<double> detect_total_ms, detect_network_ms;
    {
      const process::JobSpec spec = process::parse_job_spec({{"endpoint", "detect"}, {"input", clips[mid]}, {"frame", 0}});
      const media::MediaSource source = media::MediaSource::local(spec.input);
      const media::VideoProbe probe = media::probe_video(source);
      raw["detect_engine"] = processors.detect(spec, source, probe)["engine"];  // loads the detector once
      for (int i = 0; i < 5; ++i) {
        const nlohmann::json r = processors.detect(spec, source, probe);
        detect_total_ms.push_back(r["total_ms"].get<double>());
        detect_network_ms.push_back(r["inference_ms"].get<double>());
      }
    }
    auto median = [](std::vector<double> v) {
      std::sort(v.begin(), v.end());
      return v[v.size() / 2];
    };
    raw["detect_total_ms"] = median(detect_total_ms);
    raw["detect_network_ms"] = median(detect_network_ms);
    // Read and write throughput: local disk, and the store when given.
    t = Clock::now();
    const int64_t clip_bytes = static_cast<int64_t>(std::filesystem::file_size(clips[mid]));
    { const std::string bytes = store.get(clips[mid]); }
    const double local_read_mb_s = clip_bytes / 1e6 / std::max(1e-6, since(t));
    double down_mb_s = local_read_mb_s, up_mb_s = local_read_mb_s, latency_s = 0.001;
    if (!store_url_.empty()) {
      const std::string url = store_url_ + (store_url_.back() == '/' ? "" : "/") + "reelscale-profile.bin";
      t = Clock::now();
      store.put_file(clips[mid], url);
      up_mb_s = clip_bytes / 1e6 / since(t);
      t = Clock::now();
      store.get_to_file(url, (work.path() / "back.bin").string());
      down_mb_s = clip_bytes / 1e6 / since(t);
      t = Clock::now();
      for (int i = 0; i < 5; ++i) store.head(url);
      latency_s = since(t) / 5;
      store.remove(url);
    }
    raw["transfer"] = {{"down_mb_per_s", down_mb_s}, {"up_mb_per_s", up_mb_s}, {"request_latency_s", latency_s},
                       {"measured_against", store_url_.empty() ? "local disk" : store_url_}};
    raw["measurements"] = nlohmann::json::array();
    for (const auto& m : measurements) {
      raw["measurements"].push_back({{"endpoint", m.endpoint}, {"clip_s", m.clip_seconds}, {"frames", m.frames},
                                     {"process_ms_per_frame", m.process_ms_per_frame},
                                     {"total_ms_per_frame", m.total_ms_per_frame}});
    }

    // The profile: this machine as one hardware type; figures measured today.
    plan::Profile p = plan::default_profile();
    const std::string source = "measured by `reelscale profile` on " + std::to_string(cores) + " cores";
    for (const std::string endpoint : {"overlay", "framing", "framing_ai"}) {
      double sum = 0;
      int count = 0;
      for (const auto& m : measurements) {
        if (m.endpoint == endpoint) {
          sum += m.total_ms_per_frame;
          ++count;
        }
      }
      const bool ai = endpoint == std::string("framing_ai");
      plan::Cell cell = measured_cell(startup_s + (ai ? module_s + weights_s + build_s : 0),
                                      source + ": process start-up" + (ai ? " + model load" : ""));
      cell.frame_time.ms_at_reference = count ? sum / count : 0;
      cell.frame_time.reference_pixels = 810.0 * 1440.0;
      cell.frame_time.provenance = {source + " (810x1440 output; ms per frame of a whole 1-chunk run)", today(), true};
      p.cells[endpoint][hardware_] = cell;
    }
    plan::Cell detect = measured_cell(startup_s + module_s, source + ": process start-up + network module load");
    detect.frame_time.fixed_ms = raw["detect_total_ms"].get<double>();  // one frame, whatever its size
    detect.frame_time.ms_at_reference = 0;
    detect.frame_time.exponent = 0;
    detect.frame_time.provenance = {source + " (detect on a 1920x1080 frame: detector load, seek, decode, network)", today(), true};
    p.cells["detect"][hardware_] = detect;
    p.name = "measured-" + hardware_ + "-" + today();
    p.provenance = {source + "; GPU rows inherited", today(), true};
    p.orchestrator_start_s = plan::Distribution::constant(startup_s);
    p.orchestrator_start_s.provenance = {source + ": process start-up", today(), true};
    p.request_latency_s = plan::Distribution::constant(latency_s);
    p.request_latency_s.provenance = {source + ": " + raw["transfer"]["measured_against"].get<std::string>(), today(), true};
    p.download_mb_per_s = down_mb_s;
    p.upload_mb_per_s = up_mb_s;
    p.whole_file_download = false;
    p.transfer_provenance = p.request_latency_s.provenance;
    p.preroll_s = plan::Distribution::constant(preroll_n ? preroll_sum / preroll_n : 0);
    p.preroll_s.provenance = {source + ": mean pre-roll of chunks after the first", today(), true};
    // Join: a least-squares line through (N, seconds).
    if (auto fit = plan::fit_join(join_points, {source + ": fit over N = 2, 4, 8", today(), true})) p.join = *fit;
    p.cleanup_s = plan::Distribution::constant(0.05);

    const std::filesystem::path out(out_dir_);
    write_file_atomically(out / "profile.json", plan::to_json(p).dump(2) + "\n");
    write_file_atomically(out / "profile-raw.json", raw.dump(2) + "\n");
    write_file_atomically(out / "profile.md", report(p, raw, measurements));
    std::cout << report(p, raw, measurements);
    return 0;
  }

 private:
  // A cell whose start-ups are measured here: cold = process start (and loads), warm ≈ nothing.
  static plan::Cell measured_cell(double cold_s, const std::string& cold_source) {
    plan::Cell cell;
    cell.cold_start_s = plan::Distribution::constant(cold_s);
    cell.cold_start_s.provenance = {cold_source, today(), true};
    cell.warm_start_s = plan::Distribution::constant(0.01);
    cell.warm_start_s.provenance = {"estimate: a task on a running process", today(), false};
    return cell;
  }
  static exec::RunOptions with_chunks(exec::RunOptions o, int n) {
    o.chunks = n;
    return o;
  }
  std::string report(const plan::Profile& p, const nlohmann::json& raw, const std::vector<Measurement>& ms) const {
    std::ostringstream os;
    os << std::fixed << std::setprecision(2);
    os << "# Profile of this machine (" << hardware_ << ")\n\n"
       << "Measured by `reelscale profile` on " << raw["date"].get<std::string>() << ", " << raw["cores"].get<int>()
       << " cores. Synthetic 1920x1080 30 fps clips; output 810x1440 for framing and framing_ai (crop 608x1080), the "
       << "source size for overlay; x264 veryfast.\n\n"
       << "## Per-frame time (one chunk, one slot)\n\n| endpoint | clip s | frames | processing ms/frame | whole run ms/frame |\n|---|---|---|---|---|\n";
    for (const auto& m : ms) {
      os << "| " << m.endpoint << " | " << m.clip_seconds << " | " << m.frames << " | " << m.process_ms_per_frame << " | "
         << m.total_ms_per_frame << " |\n";
    }
    os << "\nframing_ai processed the first " << ai_frames_ << " frames of each clip (it is slow on CPUs).\n\n"
       << "## Start-up, model load, transfer\n\n"
       << "| figure | value |\n|---|---|\n"
       << "| process start-up (loading libraries) | " << raw["process_startup_s"].get<double>() << " s |\n"
       << "| network module load (libtorch, OpenCV) | " << raw["network_module_load_s"].get<double>() << " s |\n"
       << "| model load (realesr-animevideov3, read + build) | " << raw["model_load_s"].get<double>() << " s |\n"
       << "| detect, one 1920x1080 frame (" << raw["detect_engine"].get<std::string>() << " engine): whole call / network | "
       << raw["detect_total_ms"].get<double>() << " ms / " << raw["detect_network_ms"].get<double>() << " ms |\n"
       << "| download | " << raw["transfer"]["down_mb_per_s"].get<double>() << " MB/s |\n"
       << "| upload | " << raw["transfer"]["up_mb_per_s"].get<double>() << " MB/s |\n"
       << "| request latency | " << 1000 * raw["transfer"]["request_latency_s"].get<double>() << " ms ("
       << raw["transfer"]["measured_against"].get<std::string>() << ") |\n\n"
       << "## Chunking (framing, " << lengths_[lengths_.size() / 2] << " s clip, " << raw["cores"].get<int>() << " slots)\n\n"
       << "| chunks | wall s | join s | overhead per chunk s |\n|---|---|---|---|\n";
    for (const auto& c : raw["chunking"]) {
      os << "| " << c["chunks"].get<int>() << " | " << c["wall_s"].get<double>() << " | " << c["join_s"].get<double>() << " | "
         << c["overhead_per_chunk_s"].get<double>() << " |\n";
    }
    os << "\nJoin fit: " << p.join.base_s << " s + " << p.join.per_chunk_s << " s per chunk. Pre-roll per chunk: "
       << p.preroll_s.mean() << " s.\n\n## Break-even lengths the planner derives (this machine only)\n\n```\n";
    plan::Policy policy;
    policy.allowed_hardware = {hardware_};
    policy.deadline_s = 60;
    const plan::PriceTable prices = plan::default_prices();
    const plan::Platform platform;
    for (const std::string endpoint : {"framing", "framing_ai"}) {
      const plan::Planner planner(p, prices, platform, policy);
      os << plan::to_text(plan::sweep_thresholds(planner, endpoint, 0.5, 120)) << "\n";
    }
    os << "```\n";
    return os.str();
  }

  CLI::App* app_;
  std::string out_dir_, hardware_ = "CPU", store_url_;
  std::vector<int> lengths_ = {5, 30, 120};
  int ai_frames_ = 30;
  bool quick_ = false;
  process::ModelSettings settings_;
};

}  // namespace

std::unique_ptr<Command> make_profile_command(CLI::App& parent) { return std::make_unique<ProfileCommand>(parent); }

}  // namespace reelscale::cli
