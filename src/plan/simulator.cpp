// plan/simulator.cpp — the event loop of the platform model.
#include "plan/simulator.h"

#include <algorithm>
#include <chrono>
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

Decider planner_decider(const Planner& planner) {
  return [&planner](const JobShape& job, const LoadView& load) {
    if (!planner.policy.adaptive) {
      const Estimate e = planner.choose(job);
      return Decision{e.hardware, e.chunks};
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
    return Decision{e.hardware, e.chunks};
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

}  // namespace

SimulationResult simulate(const Profile& profile, const PriceTable& prices, const Platform& platform,
                          const Workload& w, const Decider& decide) {
  const auto wall_start = std::chrono::steady_clock::now();
  SimulationResult res;
  std::mt19937_64 rng(w.seed);
  std::priority_queue<Event, std::vector<Event>, std::greater<Event>> events;
  constexpr double kDay = 86400;

  // Arrivals by thinning a Poisson process at the peak rate.
  double weight_sum = 0, weight_max = 0;
  for (double h : w.hourly) {
    weight_sum += h;
    weight_max = std::max(weight_max, h);
  }
  if (weight_sum <= 0) fail(ErrorKind::kBadInput, "the hourly arrival curve is all zero");
  auto rate_at = [&](double t) { return w.jobs_per_day * w.hourly[static_cast<int>(t / 3600) % 24] / weight_sum / 3600; };
  const double peak = w.jobs_per_day * weight_max / weight_sum / 3600;
  std::vector<Job> jobs;
  {
    std::exponential_distribution<double> gap(peak);
    std::uniform_real_distribution<double> u(0, 1);
    for (double t = gap(rng); t < kDay; t += gap(rng)) {
      if (u(rng) * peak > rate_at(t)) continue;
      Job j;
      j.arrival = t;
      const double len = std::clamp(w.length_s.sample(rng), w.min_length_s, w.max_length_s);
      j.shape = JobShape::of_length(w.endpoint, len, w.fps, w.output_pixels);
      events.push({t, EventType::kArrival, static_cast<int64_t>(jobs.size()), 0});
      jobs.push_back(std::move(j));
    }
  }

  std::vector<Container> containers;
  std::map<std::string, std::vector<int64_t>> idle;  // hardware -> idle container ids (LIFO: warmest first)
  std::map<std::string, std::deque<Task>> waiting;
  std::map<std::string, int> alive;
  std::vector<double> latencies;
  latencies.reserve(jobs.size());
  double queue_wait_total = 0;
  int64_t queue_wait_count = 0;
  double orchestrator_seconds = 0;

  auto load_view = [&](double t) {
    LoadView v;
    v.time_s = t;
    for (const auto& [hw, ids] : idle) v.idle[hw] = static_cast<int>(ids.size());
    for (const auto& [hw, q] : waiting) v.queued[hw] = static_cast<int>(q.size());
    v.arrivals_per_s = rate_at(t);
    return v;
  };

  // Runs `task` on container `c` (its start-up is `start_s`) from time t.
  auto run_task = [&](int64_t c, const Task& task, double t, double start_s) {
    Container& ct = containers[c];
    ct.idle = false;
    ++ct.generation;
    ct.busy_since = t;
    const Job& job = jobs[task.job];
    const Cell& cell = profile.cell(job.shape.endpoint, ct.hardware);
    const int n = job.decision.chunks;
    const int64_t frames = job.shape.frames * (task.index + 1) / n - job.shape.frames * task.index / n;
    const double share = static_cast<double>(frames) / job.shape.frames;
    const double in_bytes = profile.source_mbit_per_s * 1e6 / 8 * job.shape.seconds();
    const double out_bytes = profile.output_mbit_per_s_at_reference * 1e6 / 8 * job.shape.seconds() *
                             (job.shape.output_pixels / (810.0 * 1440.0));
    const double busy = start_s + profile.request_latency_s.sample(rng) +
                        (profile.whole_file_download ? in_bytes : in_bytes * share) / (profile.download_mb_per_s * 1e6) +
                        out_bytes * share / (profile.upload_mb_per_s * 1e6) +
                        (task.index > 0 ? profile.preroll_s.sample(rng) : 0) +
                        frames * cell.frame_time.ms(job.shape.output_pixels) / 1000.0;
    ct.busy_total += busy;
    events.push({t + busy, EventType::kTaskDone, c, task.job});
    ++res.tasks;
  };

  auto start_task = [&](const Task& task, double t) {
    const Job& job = jobs[task.job];
    const std::string& hw = job.decision.hardware;
    const Cell& cell = profile.cell(job.shape.endpoint, hw);
    auto& pool = idle[hw];
    if (!pool.empty()) {
      const int64_t c = pool.back();
      pool.pop_back();
      ++res.warm_starts;
      run_task(c, task, t, cell.warm_start_s.sample(rng));
      return;
    }
    if (alive[hw] < platform.max_containers) {
      Container ct;
      ct.hardware = hw;
      ct.created = t;
      containers.push_back(ct);
      ++alive[hw];
      int total = 0;
      for (const auto& [h, n] : alive) total += n;
      res.max_containers_seen = std::max(res.max_containers_seen, total);
      ++res.cold_starts;
      run_task(static_cast<int64_t>(containers.size()) - 1, task, t, cell.cold_start_s.sample(rng));
      return;
    }
    Task queued = task;
    queued.enqueued = t;
    waiting[hw].push_back(queued);
  };

  while (!events.empty()) {
    const Event e = events.top();
    events.pop();
    switch (e.type) {
      case EventType::kArrival: {
        Job& job = jobs[e.a];
        job.decision = decide(job.shape, load_view(e.time));
        job.decision.chunks = std::clamp<int>(job.decision.chunks, 1, static_cast<int>(job.shape.frames));
        job.remaining = job.decision.chunks;
        ++res.jobs_by_choice[job.decision.hardware + " x" + std::to_string(job.decision.chunks)];
        events.push({e.time + profile.orchestrator_start_s.sample(rng), EventType::kDispatch, e.a, 0});
        break;
      }
      case EventType::kDispatch: {
        const Job& job = jobs[e.a];
        for (int i = 0; i < job.decision.chunks; ++i) start_task(Task{e.a, i, e.time}, e.time);
        break;
      }
      case EventType::kTaskDone: {
        Container& ct = containers[e.a];
        Job& job = jobs[e.b];
        if (--job.remaining == 0) {
          const int n = job.decision.chunks;
          const double out_bytes = profile.output_mbit_per_s_at_reference * 1e6 / 8 * job.shape.seconds() *
                                   (job.shape.output_pixels / (810.0 * 1440.0));
          const double tail = profile.join.seconds(n, out_bytes) +
                              (n > 1 ? profile.request_latency_s.sample(rng) + out_bytes / (profile.upload_mb_per_s * 1e6) : 0) +
                              profile.cleanup_s.sample(rng);
          events.push({e.time + tail, EventType::kJobFinish, e.b, 0});
        }
        auto& q = waiting[ct.hardware];
        if (!q.empty()) {
          const Task next = q.front();
          q.pop_front();
          queue_wait_total += e.time - next.enqueued;
          ++queue_wait_count;
          jobs[next.job].queue_wait += e.time - next.enqueued;
          ++res.warm_starts;
          run_task(e.a, next, e.time, profile.cell(jobs[next.job].shape.endpoint, ct.hardware).warm_start_s.sample(rng));
        } else {
          ct.idle = true;
          ct.idle_since = e.time;
          idle[ct.hardware].push_back(e.a);
          events.push({e.time + platform.scale_down_window_s, EventType::kExpire, e.a, ct.generation});
        }
        break;
      }
      case EventType::kExpire: {
        Container& ct = containers[e.a];
        if (!ct.idle || ct.generation != e.b || ct.gone) break;
        ct.gone = true;
        ct.idle = false;
        auto& pool = idle[ct.hardware];
        pool.erase(std::remove(pool.begin(), pool.end(), e.a), pool.end());
        --alive[ct.hardware];
        const double billed = platform.billed(e.time - ct.created);
        res.billed_container_s += billed;
        if (ct.hardware != "CPU") res.gpu_billed_s += billed;
        res.busy_container_s += ct.busy_total;
        res.cost_usd += billed * prices.container_per_second(ct.hardware);
        break;
      }
      case EventType::kJobFinish: {
        const Job& job = jobs[e.a];
        const double latency = e.time - job.arrival;
        latencies.push_back(latency);
        orchestrator_seconds += platform.billed(latency);
        break;
      }
    }
  }
  res.orchestrator_cost_usd = orchestrator_seconds * prices.orchestrator_per_second();
  res.cost_usd += res.orchestrator_cost_usd;
  res.jobs = static_cast<int64_t>(latencies.size());
  if (!latencies.empty()) {
    std::sort(latencies.begin(), latencies.end());
    double sum = 0;
    for (double l : latencies) sum += l;
    auto pct = [&](double p) { return latencies[static_cast<size_t>(p * (latencies.size() - 1))]; };
    res.latency_mean_s = sum / latencies.size();
    res.latency_p50_s = pct(0.5);
    res.latency_p90_s = pct(0.9);
    res.latency_p95_s = pct(0.95);
    res.latency_p99_s = pct(0.99);
  }
  res.queue_wait_mean_s = queue_wait_count ? queue_wait_total / queue_wait_count : 0;
  res.idle_share = res.billed_container_s > 0 ? 1 - res.busy_container_s / res.billed_container_s : 0;
  res.wall_seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - wall_start).count();
  return res;
}

}  // namespace reelscale::plan
