// plan/simulator.cpp — the event loop of the platform model.
#include "plan/simulator.h"

#include "common/stopwatch.h"

#include <algorithm>
#include <cmath>
#include <deque>
#include <fstream>
#include <sstream>
#include <queue>
#include <random>

#include "common/error.h"

namespace reelscale::plan {

std::array<double, 24> Workload::default_hourly() {
  // Sports highlights: quiet at night, rising through the day, peaking in the evening.
  return {0.2, 0.15, 0.1, 0.1, 0.1, 0.15, 0.3, 0.5, 0.7, 0.8, 0.9, 1.0,
          1.0, 1.0, 1.0, 1.1, 1.3, 1.6, 2.0, 2.2, 2.0, 1.5, 0.9, 0.4};
}

Distribution parse_lengths(const std::string& spec) {
  auto numbers = [&](const std::string& text) {
    std::vector<double> v;
    std::string item;
    std::stringstream ss(text);
    while (std::getline(ss, item, ',')) {
      try {
        size_t used = 0;
        const double x = std::stod(item, &used);
        if (!(x > 0) || !std::isfinite(x)) throw std::invalid_argument(item);
        v.push_back(x);
      } catch (const std::exception&) {
        fail(ErrorKind::kBadInput, "clip lengths '" + spec + "': '" + item + "' is not a positive number");
      }
    }
    return v;
  };
  const auto colon = spec.find(':');
  const std::string kind = colon == std::string::npos ? "" : spec.substr(0, colon);
  const std::string rest = colon == std::string::npos ? "" : spec.substr(colon + 1);
  if (kind == "lognormal" || kind == "uniform") {
    const auto v = numbers(rest);
    if (v.size() != 2 || v[1] < v[0]) fail(ErrorKind::kBadInput, "clip lengths '" + spec + "' need two numbers, the second >= the first");
    return kind == "lognormal" ? Distribution::lognormal(v[0], v[1]) : Distribution::uniform(v[0], v[1]);
  }
  if (kind == "list") return Distribution::samples(numbers(rest));
  std::ifstream f(spec);
  if (!f) fail(ErrorKind::kBadInput, "clip lengths '" + spec + "' are neither lognormal:M,P90, uniform:A,B, list:... nor a readable file");
  std::vector<double> v;
  double x;
  while (f >> x) {
    if (!(x > 0)) fail(ErrorKind::kBadInput, "clip lengths file " + spec + " holds a length <= 0");
    v.push_back(x);
  }
  if (v.empty()) fail(ErrorKind::kBadInput, "clip lengths file " + spec + " holds no numbers");
  return Distribution::samples(std::move(v));
}

Decider scheduled_decider(const std::vector<Planner>& by_hour) {
  if (by_hour.size() != 24) fail(ErrorKind::kBadInput, "a scheduled decider needs a planner for each of the 24 hours");
  return [&by_hour](const JobShape& job, const LoadView& load) {
    return planner_decider(by_hour[static_cast<size_t>(load.time_s / 3600) % 24])(job, load);
  };
}

std::string Decision::kind() const {
  if (container_cores <= 0) return hardware;
  std::ostringstream os;
  os << hardware << " on " << container_cores << " cores";
  return os.str();
}

Decider planner_decider(const Planner& planner) {
  return [&planner](const JobShape& job, const LoadView& load) {
    if (!planner.policy.adaptive) {
      const Estimate e = planner.choose(job);
      return Decision{e.hardware, e.chunks, e.cores_chosen ? e.container_cores : 0};
    }
    // The adaptive planner sees the warm pool, the queue, and how likely an idle
    // container is to be reused before it scales down at the current arrival rate.
    Platform now = planner.platform;
    now.warm_idle = load.idle;
    double queued = 0;
    for (const auto& [hw, n] : load.queued) queued += n;
    now.queue_wait_s = queued > 0 ? 10.0 * queued / std::max(1, now.max_containers) : 0;
    now.idle_tail_share = std::exp(-load.arrivals_per_s * now.scale_down_window_s);
    const Estimate e = planner.with_platform(now).choose(job);
    return Decision{e.hardware, e.chunks, e.cores_chosen ? e.container_cores : 0};
  };
}

Decider table_decider(const ThresholdTable& table) {
  return [&table](const JobShape& job, const LoadView&) {
    const double len = job.seconds();
    for (const ThresholdRow& row : table.rows) {
      if (len < row.to_s) return Decision{row.hardware, row.chunks};
    }
    return Decision{table.rows.back().hardware, table.rows.back().chunks};
  };
}

namespace {

enum class EventType { kArrival, kDispatch, kTaskDone, kExpire, kJobFinish };

struct Event {
  double time;
  EventType type;
  int64_t a;  // job / container id
  int64_t b;  // task index / generation
  bool operator>(const Event& o) const { return time > o.time; }
};

struct Container {
  std::string hardware;
  std::string kind;  // Decision::kind()
  double cores = 0;
  double created = 0;
  double busy_since = 0;
  double idle_since = 0;
  int64_t generation = 0;  // bumps each time it is handed a task (stale expiry events ignored)
  bool idle = false;
  bool gone = false;
  double busy_total = 0;
};

struct Job {
  double arrival = 0;
  JobShape shape;
  Decision decision;
  int remaining = 0;
  double queue_wait = 0;
};

struct Task {
  int64_t job = 0;
  int index = 0;
  double enqueued = 0;
};

// One simulated day: the event queue, the containers and the jobs, with a handler per
// event type.
class DaySimulation {
 public:
  DaySimulation(const Profile& profile, const PriceTable& prices, const Platform& platform, const Workload& w,
                const Decider& decide)
      : profile_(profile), prices_(prices), platform_(platform), w_(w), decide_(decide), rng_(w.seed) {}

  SimulationResult run() {
    const Stopwatch wall;
    generate_arrivals();
    latencies_.reserve(jobs_.size());
    while (!events_.empty()) {
      const Event e = events_.top();
      events_.pop();
      switch (e.type) {
        case EventType::kArrival: on_arrival(e); break;
        case EventType::kDispatch:
          for (int i = 0; i < jobs_[e.a].decision.chunks; ++i) start_task(Task{e.a, i, e.time}, e.time);
          break;
        case EventType::kTaskDone: on_task_done(e); break;
        case EventType::kExpire: on_expire(e); break;
        case EventType::kJobFinish: {
          const double latency = e.time - jobs_[e.a].arrival;
          latencies_.push_back(latency);
          res_.job_latencies.push_back({jobs_[e.a].arrival, latency});
          orchestrator_seconds_ += platform_.billed(latency);
          break;
        }
      }
    }
    summarize();
    res_.wall_seconds = wall.seconds();
    return res_;
  }

 private:
  static constexpr double kDay = 86400;

  double rate_at(double t) const { return w_.jobs_per_day * w_.hourly[static_cast<int>(t / 3600) % 24] / weight_sum_ / 3600; }

  // Arrivals by thinning a Poisson process at the peak rate.
  void generate_arrivals() {
    double weight_max = 0;
    for (double h : w_.hourly) {
      weight_sum_ += h;
      weight_max = std::max(weight_max, h);
    }
    if (weight_sum_ <= 0) fail(ErrorKind::kBadInput, "the hourly arrival curve is all zero");
    const double peak = w_.jobs_per_day * weight_max / weight_sum_ / 3600;
    std::exponential_distribution<double> gap(peak);
    std::uniform_real_distribution<double> u(0, 1);
    for (double t = gap(rng_); t < kDay; t += gap(rng_)) {
      if (u(rng_) * peak > rate_at(t)) continue;
      Job j;
      j.arrival = t;
      const double len = std::clamp(w_.length_s.sample(rng_), w_.min_length_s, w_.max_length_s);
      j.shape = JobShape::of_length(w_.endpoint, len, w_.fps, w_.output_pixels, w_.model);
      events_.push({t, EventType::kArrival, static_cast<int64_t>(jobs_.size()), 0});
      jobs_.push_back(std::move(j));
    }
  }

  LoadView load_view(double t) const {
    LoadView v;
    v.time_s = t;
    for (const auto& [kind, ids] : idle_) {
      if (!ids.empty()) v.idle[containers_[ids.front()].hardware] += static_cast<int>(ids.size());
    }
    for (const auto& [kind, q] : waiting_) {
      if (!q.empty()) v.queued[jobs_[q.front().job].decision.hardware] += static_cast<int>(q.size());
    }
    v.arrivals_per_s = rate_at(t);
    return v;
  }

  double output_bytes(const Job& job) const {
    return profile_.output_mbit_per_s_at_reference * 1e6 / 8 * job.shape.seconds() *
           (job.shape.output_pixels / (810.0 * 1440.0));
  }

  // Runs `task` on container `c` (its start-up is `start_s`) from time t.
  void run_task(int64_t c, const Task& task, double t, double start_s) {
    Container& ct = containers_[c];
    ct.idle = false;
    ++ct.generation;
    ct.busy_since = t;
    const Job& job = jobs_[task.job];
    const Cell& cell = profile_.cell(job.shape.endpoint, ct.hardware);
    const int n = job.decision.chunks;
    const int64_t frames = job.shape.frames * (task.index + 1) / n - job.shape.frames * task.index / n;
    const double share = static_cast<double>(frames) / job.shape.frames;
    const double in_bytes = profile_.source_mbit_per_s * 1e6 / 8 * job.shape.seconds();
    const double busy = start_s + profile_.request_latency_s.sample(rng_) +
                        (profile_.whole_file_download ? in_bytes : in_bytes * share) / (profile_.download_mb_per_s * 1e6) +
                        output_bytes(job) * share / (profile_.upload_mb_per_s * 1e6) +
                        (task.index > 0 ? profile_.preroll_s.sample(rng_) : 0) +
                        frames * cell.frame_time.at_cores(ct.cores).ms(frame_work(job.shape, cell)) / 1000.0;
    ct.busy_total += busy;
    events_.push({t + busy, EventType::kTaskDone, c, task.job});
    ++res_.tasks;
  }

  // A warm idle container if there is one, else a new one if allowed, else the queue.
  void start_task(const Task& task, double t) {
    const Job& job = jobs_[task.job];
    const std::string& hw = job.decision.hardware;
    const std::string kind = job.decision.kind();
    const Cell& cell = profile_.cell(job.shape.endpoint, hw);
    auto& pool = idle_[kind];
    if (!pool.empty()) {
      const int64_t c = pool.back();
      pool.pop_back();
      ++res_.warm_starts;
      run_task(c, task, t, cell.warm_start_s.sample(rng_));
      return;
    }
    if (alive_[hw] < platform_.max_containers) {
      Container ct;
      ct.hardware = hw;
      ct.kind = kind;
      ct.cores = job.decision.container_cores;
      ct.created = t;
      containers_.push_back(ct);
      ++alive_[hw];
      int total = 0;
      for (const auto& [h, n] : alive_) total += n;
      res_.max_containers_seen = std::max(res_.max_containers_seen, total);
      ++res_.cold_starts;
      run_task(static_cast<int64_t>(containers_.size()) - 1, task, t, cell.cold_start_s.sample(rng_));
      return;
    }
    Task queued = task;
    queued.enqueued = t;
    waiting_[kind].push_back(queued);
  }

  void on_arrival(const Event& e) {
    Job& job = jobs_[e.a];
    job.decision = decide_(job.shape, load_view(e.time));
    job.decision.chunks = std::clamp<int>(job.decision.chunks, 1, static_cast<int>(job.shape.frames));
    job.remaining = job.decision.chunks;
    ++res_.jobs_by_choice[job.decision.kind() + " x" + std::to_string(job.decision.chunks)];
    events_.push({e.time + profile_.orchestrator_start_s.sample(rng_), EventType::kDispatch, e.a, 0});
  }

  void on_task_done(const Event& e) {
    Container& ct = containers_[e.a];
    Job& job = jobs_[e.b];
    if (--job.remaining == 0) {
      const int n = job.decision.chunks;
      const double out_bytes = output_bytes(job);
      const double tail = profile_.join.seconds(n, out_bytes) +
                          (n > 1 ? profile_.request_latency_s.sample(rng_) + out_bytes / (profile_.upload_mb_per_s * 1e6) : 0) +
                          profile_.cleanup_s.sample(rng_);
      events_.push({e.time + tail, EventType::kJobFinish, e.b, 0});
    }
    auto& q = waiting_[ct.kind];
    if (!q.empty()) {
      const Task next = q.front();
      q.pop_front();
      queue_wait_total_ += e.time - next.enqueued;
      ++queue_wait_count_;
      jobs_[next.job].queue_wait += e.time - next.enqueued;
      ++res_.warm_starts;
      run_task(e.a, next, e.time, profile_.cell(jobs_[next.job].shape.endpoint, ct.hardware).warm_start_s.sample(rng_));
      return;
    }
    ct.idle = true;
    ct.idle_since = e.time;
    idle_[ct.kind].push_back(e.a);
    events_.push({e.time + platform_.scale_down_window_s, EventType::kExpire, e.a, ct.generation});
  }

  void on_expire(const Event& e) {
    Container& ct = containers_[e.a];
    if (!ct.idle || ct.generation != e.b || ct.gone) return;
    ct.gone = true;
    ct.idle = false;
    auto& pool = idle_[ct.kind];
    pool.erase(std::remove(pool.begin(), pool.end(), e.a), pool.end());
    --alive_[ct.hardware];
    const double billed = platform_.billed(e.time - ct.created);
    res_.billed_container_s += billed;
    if (ct.hardware != "CPU") res_.gpu_billed_s += billed;
    res_.busy_container_s += ct.busy_total;
    res_.cost_usd += billed * prices_.container_per_second(ct.hardware, ct.cores);
  }

  void summarize() {
    res_.orchestrator_cost_usd = orchestrator_seconds_ * prices_.orchestrator_per_second();
    res_.cost_usd += res_.orchestrator_cost_usd;
    res_.jobs = static_cast<int64_t>(latencies_.size());
    if (!latencies_.empty()) {
      std::sort(latencies_.begin(), latencies_.end());
      double sum = 0;
      for (double l : latencies_) sum += l;
      auto pct = [&](double p) { return latencies_[static_cast<size_t>(p * (latencies_.size() - 1))]; };
      res_.latency_mean_s = sum / latencies_.size();
      res_.latency_p50_s = pct(0.5);
      res_.latency_p90_s = pct(0.9);
      res_.latency_p95_s = pct(0.95);
      res_.latency_p99_s = pct(0.99);
    }
    res_.queue_wait_mean_s = queue_wait_count_ ? queue_wait_total_ / queue_wait_count_ : 0;
    res_.idle_share = res_.billed_container_s > 0 ? 1 - res_.busy_container_s / res_.billed_container_s : 0;
  }

  const Profile& profile_;
  const PriceTable& prices_;
  const Platform& platform_;
  const Workload& w_;
  const Decider& decide_;
  SimulationResult res_;
  std::mt19937_64 rng_;
  std::priority_queue<Event, std::vector<Event>, std::greater<Event>> events_;
  double weight_sum_ = 0;
  std::vector<Job> jobs_;
  std::vector<Container> containers_;
  std::map<std::string, std::vector<int64_t>> idle_;  // kind -> idle container ids (LIFO: warmest first)
  std::map<std::string, std::deque<Task>> waiting_;   // kind -> tasks waiting for a container
  std::map<std::string, int> alive_;
  std::vector<double> latencies_;
  double queue_wait_total_ = 0;
  int64_t queue_wait_count_ = 0;
  double orchestrator_seconds_ = 0;
};

}  // namespace

SimulationResult simulate(const Profile& profile, const PriceTable& prices, const Platform& platform,
                          const Workload& w, const Decider& decide) {
  DaySimulation day(profile, prices, platform, w, decide);
  return day.run();
}

}  // namespace reelscale::plan
