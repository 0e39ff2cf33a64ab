// serve/job_store_reports.cpp — what the job store reports beyond single jobs: cost and jobs
// by label value, the label keys seen, the latest records (calibration), nodes' idle tails,
// and the profile versions the service planned with.
#include <algorithm>

#include "serve/job_store.h"

namespace reelscale::serve {

std::vector<double> JobStore::recent_idle_tails(int limit) {
  const std::lock_guard lock(mutex_);
  Statement s = db_.prepare("SELECT tail_s FROM late_charges WHERE tail_s > 0 ORDER BY at_unix_s DESC LIMIT ?");
  s.bind(1, static_cast<int64_t>(limit));
  std::vector<double> out;
  while (s.step()) out.push_back(s.real(0));
  return out;
}

std::string clip_bucket_sql(const std::string& column) {
  std::string sql = "CASE";
  int b = 0;
  for (const double edge : kClipBucketEdges) sql += " WHEN " + column + " < " + std::to_string(edge) + " THEN " + std::to_string(b++);
  return sql + " ELSE " + std::to_string(b) + " END";
}

int clip_bucket(double clip_s) {
  int b = 0;
  for (const double edge : kClipBucketEdges) b += clip_s >= edge ? 1 : 0;
  return b;
}

std::vector<std::string> JobStore::recent_records(int limit) {
  const std::lock_guard lock(mutex_);
  Statement s = db_.prepare("SELECT record FROM jobs WHERE state = 'done' AND record != '' ORDER BY seq DESC LIMIT ?");
  s.bind(1, static_cast<int64_t>(limit));
  std::vector<std::string> out;
  while (s.step()) out.push_back(s.text(0));
  std::reverse(out.begin(), out.end());
  return out;
}

void JobStore::save_profile(const StoredProfile& p) {
  const std::lock_guard lock(mutex_);
  Transaction t(db_);
  if (p.active) db_.exec("UPDATE profiles SET active = 0");
  db_.prepare("INSERT OR REPLACE INTO profiles (version, created_unix_s, active, provenance, profile, error_before, "
              "error_after) VALUES (?, ?, ?, ?, ?, ?, ?)")
      .bind(1, p.version)
      .bind(2, p.created_unix_s)
      .bind(3, static_cast<int64_t>(p.active ? 1 : 0))
      .bind(4, p.provenance)
      .bind(5, p.profile_json)
      .bind(6, p.error_before)
      .bind(7, p.error_after)
      .run();
  t.commit();
}

namespace {
StoredProfile read_profile(const Statement& s) {
  return {s.text(0), s.real(1), s.integer(2) != 0, s.text(3), s.text(4), s.real(5), s.real(6)};
}
}  // namespace

std::optional<StoredProfile> JobStore::active_profile() {
  const std::lock_guard lock(mutex_);
  Statement s = db_.prepare("SELECT version, created_unix_s, active, provenance, profile, error_before, error_after "
                            "FROM profiles WHERE active = 1");
  if (!s.step()) return std::nullopt;
  return read_profile(s);
}

std::vector<StoredProfile> JobStore::profiles() {
  const std::lock_guard lock(mutex_);
  Statement s = db_.prepare("SELECT version, created_unix_s, active, provenance, profile, error_before, error_after "
                            "FROM profiles ORDER BY created_unix_s DESC");
  std::vector<StoredProfile> out;
  while (s.step()) out.push_back(read_profile(s));
  return out;
}

std::vector<LabelTotals> JobStore::totals_by_label(const std::string& key, double since_unix_s, int limit) {
  const std::lock_guard lock(mutex_);
  // From the roll-ups, by the hour `since` falls in (as every stats window): the jobs are
  // never read. Jobs without the key are the window's totals less the labelled ones.
  Statement s = db_.prepare("SELECT value, SUM(jobs), SUM(done), SUM(failed), SUM(cost_usd), SUM(cloud_equivalent_usd), "
                            "SUM(billed_seconds), SUM(clip_s) FROM label_hourly WHERE key = ?1 AND "
                            "hour >= CAST(?2 / 3600 AS INTEGER) GROUP BY value "
                            "ORDER BY SUM(cost_usd) + SUM(cloud_equivalent_usd) DESC, SUM(jobs) DESC, value");
  s.bind(1, key).bind(2, since_unix_s);
  auto read = [](const Statement& row, std::string value) {
    return LabelTotals{std::move(value), row.integer(1), row.integer(2), row.integer(3), row.real(4), row.real(5),
                       row.real(6), row.real(7)};
  };
  auto add = [](LabelTotals& to, const LabelTotals& t, double sign) {
    to.jobs += static_cast<int64_t>(sign) * t.jobs, to.done += static_cast<int64_t>(sign) * t.done;
    to.failed += static_cast<int64_t>(sign) * t.failed, to.cost_usd += sign * t.cost_usd;
    to.cloud_equivalent_usd += sign * t.cloud_equivalent_usd, to.billed_seconds += sign * t.billed_seconds;
    to.clip_s += sign * t.clip_s;
  };
  std::vector<LabelTotals> out;
  LabelTotals other{"other"}, labelled{""};
  while (s.step()) {
    const LabelTotals t = read(s, s.text(0));
    add(labelled, t, 1);
    if (static_cast<int>(out.size()) < limit) {
      out.push_back(t);
    } else {
      add(other, t, 1);
    }
  }
  if (other.jobs > 0) out.push_back(other);
  Statement all = db_.prepare("SELECT 0, SUM(jobs), SUM(CASE WHEN state = 'done' THEN jobs ELSE 0 END), "
                              "SUM(CASE WHEN state = 'failed' THEN jobs ELSE 0 END), SUM(cost_usd), "
                              "SUM(cloud_equivalent_usd), SUM(billed_seconds), SUM(clip_s) FROM hourly "
                              "WHERE hour >= CAST(?1 / 3600 AS INTEGER)");
  all.bind(1, since_unix_s);
  all.step();
  LabelTotals none = read(all, "");
  add(none, labelled, -1);
  if (none.jobs > 0) out.push_back(none);
  return out;
}

std::vector<std::string> JobStore::label_keys(double since_unix_s) {
  const std::lock_guard lock(mutex_);
  // Each key found by a seek on the primary key, then whether it has an hour in the window:
  // the roll-up's rows are never all read.
  Statement s = db_.prepare(
      "WITH RECURSIVE k(key) AS (SELECT MIN(key) FROM label_hourly UNION ALL "
      "SELECT (SELECT MIN(key) FROM label_hourly WHERE key > k.key) FROM k WHERE k.key IS NOT NULL) "
      "SELECT key FROM k WHERE key IS NOT NULL AND EXISTS (SELECT 1 FROM label_hourly l WHERE l.key = k.key AND "
      "l.hour >= CAST(?1 / 3600 AS INTEGER)) ORDER BY key");
  s.bind(1, since_unix_s);
  std::vector<std::string> out;
  while (s.step()) out.push_back(s.text(0));
  return out;
}

}  // namespace reelscale::serve
