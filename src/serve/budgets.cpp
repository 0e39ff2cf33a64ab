// serve/budgets.cpp — the budgets file, windows in a time zone, reserve then settle.
#include "serve/budgets.h"

#include <date/tz.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <set>

#include "common/error.h"

namespace reelscale::serve {

namespace {

using nlohmann::json;

[[noreturn]] void bad(const std::string& what) { fail(ErrorKind::kBadInput, "budgets: " + what); }

Budget parse_budget(const json& j, size_t i) {
  if (!j.is_object()) bad("entry " + std::to_string(i) + " is not an object");
  Budget b;
  b.name = j.value("name", "");
  if (b.name.empty() || !j["name"].is_string()) bad("entry " + std::to_string(i) + " has no name");
  const std::string where = "'" + b.name + "': ";
  static const std::set<std::string> known = {"name", "label", "each", "per", "usd", "at_cap", "adapt_at", "queue_ttl_s"};
  for (const auto& [key, value] : j.items()) {
    if (!known.count(key)) bad(where + "unknown field '" + key + "'");
  }
  if (j.contains("label")) {
    if (!j["label"].is_object()) bad(where + "label must be an object of label keys and values");
    for (const auto& [key, value] : j["label"].items()) {
      if (!value.is_string()) bad(where + "label." + key + " must be a string");
      b.label[key] = value.get<std::string>();
    }
  }
  if (j.contains("each")) {
    if (!j["each"].is_string() || j["each"].get<std::string>().empty()) bad(where + "each must be a label key");
    b.each = j["each"].get<std::string>();
  }
  b.per = j.value("per", "day");
  if (b.per != "day" && b.per != "month") bad(where + "per must be day or month, not '" + b.per + "'");
  if (!j.contains("usd") || !j["usd"].is_number() || !(j["usd"].get<double>() > 0)) bad(where + "usd must be a number > 0");
  b.usd = j["usd"].get<double>();
  b.at_cap = j.value("at_cap", "queue");
  if (b.at_cap != "queue" && b.at_cap != "reject") bad(where + "at_cap must be queue or reject, not '" + b.at_cap + "'");
  if (j.contains("adapt_at")) {
    if (!j["adapt_at"].is_number() || j["adapt_at"].get<double>() <= 0 || j["adapt_at"].get<double>() > 1) {
      bad(where + "adapt_at must be a share of the cap, above 0 and at most 1");
    }
    b.adapt_at = j["adapt_at"].get<double>();
  }
  if (j.contains("queue_ttl_s")) {
    if (!j["queue_ttl_s"].is_number() || j["queue_ttl_s"].get<double>() <= 0) bad(where + "queue_ttl_s must be seconds > 0");
    if (b.at_cap != "queue") bad(where + "queue_ttl_s is for at_cap queue");
    b.queue_ttl_s = j["queue_ttl_s"].get<double>();
  }
  return b;
}

}  // namespace

BudgetConfig BudgetConfig::parse(const json& j) {
  if (!j.is_object()) bad("the file is not a JSON object");
  BudgetConfig c;
  c.time_zone = j.value("time_zone", "UTC");
  try {
    date::locate_zone(c.time_zone);
  } catch (const std::exception&) {
    bad("time_zone '" + c.time_zone + "' is not a time zone of the tz database (e.g. UTC, Europe/Paris)");
  }
  if (!j.contains("budgets") || !j["budgets"].is_array()) bad("\"budgets\" must be an array");
  std::set<std::string> names;
  for (size_t i = 0; i < j["budgets"].size(); ++i) {
    c.budgets.push_back(parse_budget(j["budgets"][i], i));
    if (!names.insert(c.budgets.back().name).second) bad("two budgets are named '" + c.budgets.back().name + "'");
  }
  return c;
}

double reserve_of_plan(const json& plan) {
  if (!plan.is_object()) return 0;
  const double cost = plan.value("cost_usd", 0.0), mean = plan.value("wall_mean_s", 0.0), p90 = plan.value("wall_p90_s", 0.0);
  return cost * (mean > 0 && p90 > mean ? p90 / mean : 1.0);
}

BudgetBook::BudgetBook(BudgetConfig config) : config_(std::move(config)), zone_(date::locate_zone(config_.time_zone)) {}

std::pair<double, double> BudgetBook::window(const Budget& b, double unix_s) const {
  using namespace std::chrono;
  const date::sys_seconds instant{seconds(static_cast<int64_t>(std::floor(unix_s)))};
  const date::local_days day = date::floor<date::days>(date::zoned_time<seconds>(zone_, instant).get_local_time());
  date::local_days start = day, end = day + date::days{1};
  if (b.per == "month") {
    const date::year_month_day ymd{day};
    const date::year_month_day first = ymd.year() / ymd.month() / 1;
    start = date::local_days{first};
    end = date::local_days{first + date::months{1}};
  }
  const auto to_unix = [&](date::local_days d) {
    const date::local_seconds local = d;
    return static_cast<double>(zone_->to_sys(local, date::choose::earliest).time_since_epoch().count());
  };
  return {to_unix(start), to_unix(end)};
}

bool BudgetBook::falls_under(const Labels& labels, const Budget& b, const std::string& each_value) const {
  for (const auto& [key, value] : b.label) {
    const auto it = labels.find(key);
    if (it == labels.end() || it->second != value) return false;
  }
  if (b.each.empty()) return true;
  const auto it = labels.find(b.each);
  return it != labels.end() && it->second == each_value;
}

// The spent and reserved of one instance in its window, leaving out one job.
void BudgetBook::add_up(BudgetUse& use, const std::string& except_id) const {
  for (const auto& [id, job] : jobs_) {
    if (id == except_id || !falls_under(job.labels, *use.budget, use.value)) continue;
    // A queued job counts in the current window; a started one in its own.
    if (job.started_unix_s > 0 && (job.started_unix_s < use.window_start_unix_s || job.started_unix_s >= use.window_end_unix_s)) continue;
    if (job.ended) {
      use.spent_usd += job.spent_usd;
    } else if (!job.held) {
      use.reserved_usd += job.reserve_usd;
    }
  }
}

std::vector<BudgetUse> BudgetBook::uses_for(const Labels& labels, double now_unix_s) const {
  std::vector<BudgetUse> out;
  for (const Budget& b : config_.budgets) {
    std::string value;
    if (!b.each.empty()) {
      const auto it = labels.find(b.each);
      if (it == labels.end()) continue;
      value = it->second;
    }
    if (!falls_under(labels, b, value)) continue;
    BudgetUse use;
    use.budget = &b;
    use.value = value;
    use.name = b.each.empty() ? b.name : b.name + "[" + b.each + "=" + value + "]";
    std::tie(use.window_start_unix_s, use.window_end_unix_s) = window(b, now_unix_s);
    out.push_back(use);
  }
  return out;
}

void BudgetBook::learn(double cost_usd, double predicted_usd) {
  constexpr size_t kKept = 50;
  if (predicted_usd <= 0 || cost_usd <= 0) return;
  ratios_.push_back(cost_usd / predicted_usd);
  if (ratios_.size() > kKept) ratios_.erase(ratios_.begin());
}

double BudgetBook::reserve_factor() const {
  if (ratios_.size() < 5) return 1;
  std::vector<double> sorted = ratios_;
  std::sort(sorted.begin(), sorted.end());
  return std::max(1.0, sorted[std::min(sorted.size() - 1, static_cast<size_t>(0.9 * static_cast<double>(sorted.size())))]);
}

void BudgetBook::prune(double now_unix_s) {
  // No window is longer than a month: what ended and started before the longest one is spent.
  constexpr double kLongestWindowS = 32 * 86400.0;
  for (auto it = jobs_.begin(); it != jobs_.end();) {
    const bool old = it->second.ended && it->second.started_unix_s < now_unix_s - kLongestWindowS;
    it = old ? jobs_.erase(it) : std::next(it);
  }
}

Admission BudgetBook::admit(const std::string& id, const Labels& labels, double predicted_usd, double now_unix_s) {
  prune(now_unix_s);
  Admission a;
  const double reserve_usd = predicted_usd * reserve_factor();
  for (BudgetUse& use : uses_for(labels, now_unix_s)) {
    add_up(use, id);
    if (use.used() + reserve_usd <= use.budget->usd) continue;
    if (use.budget->at_cap == "reject") {
      a.rejected_by = use.name;
      a.retry_after_s = std::max(1.0, use.window_end_unix_s - now_unix_s);
      return a;
    }
    if (a.held_by.empty()) a.held_by = use.name;
  }
  jobs_[id] = {labels, reserve_usd, 0, 0, false, !a.held_by.empty(), predicted_usd, a.held_by.empty() ? 0 : now_unix_s};
  return a;
}

std::string BudgetBook::may_start(const std::string& id, double now_unix_s) {
  const auto it = jobs_.find(id);
  if (it == jobs_.end() || !it->second.held) return "";
  for (BudgetUse& use : uses_for(it->second.labels, now_unix_s)) {
    add_up(use, id);
    if (use.used() + it->second.reserve_usd > use.budget->usd) return use.name;
  }
  it->second.held = false;
  return "";
}

void BudgetBook::started(const std::string& id, double now_unix_s) {
  if (const auto it = jobs_.find(id); it != jobs_.end()) it->second.started_unix_s = now_unix_s;
}

void BudgetBook::ended(const std::string& id, double cost_usd) {
  const auto it = jobs_.find(id);
  if (it == jobs_.end()) return;
  it->second.ended = true;
  it->second.spent_usd = cost_usd;
  learn(cost_usd, it->second.predicted_usd);
}

void BudgetBook::late_charge(const std::string& id, double usd) {
  if (const auto it = jobs_.find(id); it != jobs_.end()) it->second.spent_usd += usd;
}

void BudgetBook::forget(const std::string& id) { jobs_.erase(id); }

std::vector<std::pair<std::string, std::string>> BudgetBook::past_their_ttl(double now_unix_s) const {
  std::vector<std::pair<std::string, std::string>> out;
  for (const auto& [id, job] : jobs_) {
    if (!job.held || job.held_since_unix_s <= 0) continue;
    for (BudgetUse& use : uses_for(job.labels, now_unix_s)) {
      if (use.budget->queue_ttl_s <= 0 || now_unix_s - job.held_since_unix_s < use.budget->queue_ttl_s) continue;
      add_up(use, id);
      if (use.used() + job.reserve_usd > use.budget->usd) {
        out.push_back({id, use.name});
        break;
      }
    }
  }
  return out;
}

double BudgetUse::forecast_usd(double now_unix_s) const {
  const double window = window_end_unix_s - window_start_unix_s;
  const double elapsed = std::max(window / 10, now_unix_s - window_start_unix_s);
  const double left = std::max(0.0, window_end_unix_s - now_unix_s);
  return used() + spent_usd / elapsed * left;
}

std::string BudgetBook::moving_plan(const Labels& labels, double reserve_usd, double now_unix_s) const {
  for (BudgetUse& use : uses_for(labels, now_unix_s)) {
    add_up(use, "");
    if (use.forecast_usd(now_unix_s) + reserve_usd >= use.budget->adapt_at * use.budget->usd) return use.name;
  }
  return "";
}

std::vector<BudgetUse> BudgetBook::uses(double now_unix_s) const {
  // Each budget once; an each-budget once per value its jobs carry.
  std::map<std::string, BudgetUse> all;
  for (const Budget& b : config_.budgets) {
    if (!b.each.empty()) continue;
    for (BudgetUse& use : uses_for(b.label, now_unix_s)) {
      if (use.budget == &b) all[use.name] = use;
    }
  }
  for (const auto& [id, job] : jobs_) {
    for (BudgetUse& use : uses_for(job.labels, now_unix_s)) all.emplace(use.name, use);
  }
  std::vector<BudgetUse> out;
  for (auto& [name, use] : all) {
    add_up(use, "");
    out.push_back(use);
  }
  return out;
}

nlohmann::json BudgetBook::status(double now_unix_s) const {
  json list = json::array();
  for (const BudgetUse& u : uses(now_unix_s)) {
    list.push_back({{"name", u.name}, {"budget", u.budget->name}, {"per", u.budget->per}, {"usd", u.budget->usd},
                    {"at_cap", u.budget->at_cap}, {"spent_usd", u.spent_usd}, {"reserved_usd", u.reserved_usd},
                    {"forecast_usd", u.forecast_usd(now_unix_s)},
                    {"window_start_unix_s", u.window_start_unix_s}, {"resets_unix_s", u.window_end_unix_s}});
  }
  return {{"time_zone", config_.time_zone}, {"reserve_factor", reserve_factor()}, {"budgets", list}};
}

}  // namespace reelscale::serve
