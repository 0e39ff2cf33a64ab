// serve/job_service_profiles.cpp — the job service's profile: the one it starts with (given,
// stored, or the built-in one fitted to this machine), online refits and their watch, the
// machine's current speed on local slots, retention, and the versions it shows.
#include <spdlog/spdlog.h>

#include <algorithm>

#include "job/machine_check.h"
#include "serve/job_service.h"

namespace reelscale::serve {

// The profile given at start becomes the active version; without one, the store's active
// version (a refit from an earlier run, then this run's base) if there is one, else the
// built-in default for this executor: on owned local slots, the local profile fitted to
// this machine by a start-up check (what its jobs are planned with, so refits start from
// it; stored as the first version, with the check in its provenance).
void JobService::load_profile() {
  refits_ = static_cast<int>(store_.profiles().size());
  if (!options_.profile_source.empty()) {
    base_profile_ = planning_.profile;
    const std::string version = planning_.profile.version();
    store_.save_profile({version, record::unix_now(), true, "given at start: " + options_.profile_source,
                         plan::to_json(planning_.profile).dump(), 0, 0});
    spdlog::info("planning with profile {} ({}), given at start", planning_.profile.name, version);
    return;
  }
  if (const std::optional<StoredProfile> p = store_.active_profile()) {
    planning_.profile = plan::parse_profile(nlohmann::json::parse(p->profile_json));
    planning_.profile.declared_version = p->version;  // its figures' text may not round-trip bit for bit
    planning_.profile_given = true;
    base_profile_ = planning_.profile;  // this run starts from it
    spdlog::info("planning with the stored profile version {} ({})", p->version, p->provenance);
    return;
  }
  if (executor_.owned_capacity().slots > 0) {
    // Not checked: the built-in figures as they are (local_profile_fitted of no measurement).
    const job::MachineCheck check = options_.machine_check ? job::check_machine_speed(options_.scratch) : job::MachineCheck{};
    planning_.profile = job::local_profile_fitted(check);
    planning_.profile_given = true;
    if (check.frames > 0) {
      store_.save_profile({planning_.profile.version(), record::unix_now(), true,
                           "built in, fitted to this machine: " + check.describe(),
                           plan::to_json(planning_.profile).dump(), 0, 0});
      spdlog::info("planning with the built-in local profile {}, fitted to this machine: {}", planning_.profile.version(),
                   check.describe());
    }
  }
  base_profile_ = planning_.profile;
}

void JobService::track_local_speed(const record::JobRecord& r) {
  if (!r.plan || r.plan->platform_model != "local" || r.total_seconds() <= 0) return;
  std::lock_guard lock(planning_mutex_);
  const double predicted = predicted_seconds(planning_.profile, r);
  if (predicted <= 0) return;
  local_speed_.add(r.total_seconds() / predicted);
  speed_records_.push_back(r);
  while (static_cast<int>(speed_records_.size()) > std::max(0, options_.local_speed.window)) speed_records_.pop_front();
}

void JobService::restart_local_speed(const plan::Profile& now_in_use) {
  std::vector<double> ratios;
  for (const record::JobRecord& r : speed_records_) {
    const double predicted = predicted_seconds(now_in_use, r);
    if (predicted > 0) ratios.push_back(r.total_seconds() / predicted);
  }
  local_speed_.restart(ratios);
}

void JobService::apply_retention() {
  finished_since_retention_ = 0;
  if (options_.retain_days <= 0) return;
  const JobStore::Retention r = store_.drop_detail_before(record::unix_now() - options_.retain_days * 86400);
  if (r.jobs > 0) spdlog::info("retention: {} job(s) older than {} days kept their summary only", r.jobs, options_.retain_days);
}

std::vector<record::JobRecord> JobService::recent_records(int limit) {
  std::vector<record::JobRecord> records;
  for (const std::string& text : store_.recent_records(limit)) {
    try {
      records.push_back(record::record_from_json(nlohmann::json::parse(text)));
    } catch (const std::exception& e) {
      spdlog::warn("a stored record was not read for calibration: {}", e.what());
    }
  }
  return records;
}

void JobService::watch_switch() {
  plan::Profile in_use, replaced;
  {
    std::lock_guard lock(planning_mutex_);
    if (!replaced_profile_ || ++finished_since_switch_ < options_.calibration.watch_jobs) return;
    in_use = planning_.profile;
    replaced = *replaced_profile_;
    replaced_profile_.reset();
  }
  std::vector<record::JobRecord> since;
  for (record::JobRecord& r : recent_records(options_.calibration.window)) {
    if (r.plan && r.plan->profile_version == in_use.version()) since.push_back(std::move(r));
  }
  std::string why;
  const bool worse = switch_made_things_worse(in_use, replaced, since, why);
  {
    std::lock_guard lock(planning_mutex_);
    last_calibration_ = (worse ? "rolled back to " + replaced.version() : "the switch to " + in_use.version() + " holds") +
                        ": " + why;
  }
  if (!worse) {
    spdlog::info("calibration: the switch to {} holds: {}", in_use.version(), why);
    return;
  }
  spdlog::warn("calibration: rolled back to {}: {}", replaced.version(), why);
  store_.save_profile({replaced.version(), record::unix_now(), true, "rolled back to: " + why,
                       plan::to_json(replaced).dump(), 0, 0});
  std::lock_guard lock(planning_mutex_);
  planning_.profile = replaced;
  restart_local_speed(replaced);
}

void JobService::maybe_recalibrate() {
  watch_switch();
  const CalibrationPolicy& policy = options_.calibration;
  plan::Profile current;
  {
    std::lock_guard lock(planning_mutex_);
    if (policy.every_jobs <= 0 || ++finished_since_refit_ < policy.every_jobs || replaced_profile_) return;
    finished_since_refit_ = 0;
    current = planning_.profile;
  }
  std::lock_guard refit(refit_mutex_);
  const CalibrationDecision d = consider_recalibration(current, base_profile_, recent_records(policy.window), policy,
                                                       record::utc_today(), refits_ + 1);
  spdlog::info("calibration: {}", d.reason);
  {
    std::lock_guard lock(planning_mutex_);
    last_calibration_ = d.reason;
  }
  if (d.fitted_records == 0) return;
  std::string provenance = d.reason;
  for (const std::string& c : d.changes) provenance += "; " + c;
  store_.save_profile({d.candidate.version(), record::unix_now(), d.switch_to_candidate, provenance,
                       plan::to_json(d.candidate).dump(), d.current_error, d.candidate_error});
  ++refits_;
  if (!d.switch_to_candidate) return;
  std::lock_guard lock(planning_mutex_);
  replaced_profile_ = planning_.profile;
  finished_since_switch_ = 0;
  planning_.profile = d.candidate;
  planning_.profile_given = true;
  restart_local_speed(d.candidate);
}

nlohmann::json JobService::profiles() {
  nlohmann::json versions = nlohmann::json::array();
  std::string active;
  for (const StoredProfile& p : store_.profiles()) {
    if (p.active) active = p.version;
    versions.push_back({{"version", p.version}, {"created_unix_s", p.created_unix_s}, {"active", p.active},
                        {"provenance", p.provenance}, {"error_before", p.error_before}, {"error_after", p.error_after}});
  }
  std::string in_use, last;
  nlohmann::json speed = nullptr;
  {
    std::lock_guard lock(planning_mutex_);
    in_use = planning_.profile.version();
    last = last_calibration_;
    if (executor_.owned_capacity().slots > 0) {
      const auto [with, without] = local_speed_.judged_errors();
      speed = {{"factor", local_speed_.factor()}, {"candidate", local_speed_.candidate()},
               {"judged_jobs", local_speed_.judged_jobs()}, {"error_with", with}, {"error_without", without},
               {"state", local_speed_.describe()}};
    }
  }
  return {{"active", active.empty() ? in_use : active}, {"in_use", in_use}, {"versions", versions},
          {"last_decision", last}, {"local_speed", speed}};
}

std::optional<nlohmann::json> JobService::profile(const std::string& version) {
  for (const StoredProfile& p : store_.profiles()) {
    if (p.version != version) continue;
    return nlohmann::json{{"version", p.version},       {"created_unix_s", p.created_unix_s},
                          {"active", p.active},         {"provenance", p.provenance},
                          {"error_before", p.error_before}, {"error_after", p.error_after},
                          {"profile", nlohmann::json::parse(p.profile_json)}};
  }
  return std::nullopt;
}

}  // namespace reelscale::serve
