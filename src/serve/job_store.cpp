// serve/job_store.cpp — the job store's schema, migrations and queries.
#include "serve/job_store.h"

#include <algorithm>
#include <nlohmann/json.hpp>

#include "common/error.h"

namespace reelscale::serve {

namespace {

// Each migration takes the schema from version i to i + 1; they run in order, each in
// its own transaction with the version it reaches.
const char* const kMigrations[] = {
    // 1: the jobs.
    R"(CREATE TABLE jobs (
         id TEXT PRIMARY KEY,
         seq INTEGER NOT NULL UNIQUE,
         idempotency_key TEXT UNIQUE,
         body_sha256 TEXT NOT NULL,
         endpoint TEXT NOT NULL,
         spec TEXT NOT NULL,
         state TEXT NOT NULL CHECK (state IN ('queued', 'running', 'done', 'failed', 'cancelled')),
         plan TEXT NOT NULL DEFAULT '{}',
         profile_version TEXT NOT NULL DEFAULT '',
         created_unix_s REAL NOT NULL,
         started_unix_s REAL NOT NULL DEFAULT 0,
         finished_unix_s REAL NOT NULL DEFAULT 0,
         frames_done INTEGER NOT NULL DEFAULT 0,
         frames_total INTEGER NOT NULL DEFAULT 0,
         chunks_done INTEGER NOT NULL DEFAULT 0,
         chunks_total INTEGER NOT NULL DEFAULT 0,
         error_kind TEXT NOT NULL DEFAULT '',
         error_message TEXT NOT NULL DEFAULT '',
         output TEXT NOT NULL DEFAULT '',
         temp_prefix TEXT NOT NULL DEFAULT '',
         record TEXT NOT NULL DEFAULT '');
       CREATE INDEX jobs_by_state ON jobs (state, seq);)",
    // 2: per-chunk rows of finished jobs (worker, attempts, time), and cost columns.
    R"(ALTER TABLE jobs ADD COLUMN cost_usd REAL NOT NULL DEFAULT 0;
       ALTER TABLE jobs ADD COLUMN billed_seconds REAL NOT NULL DEFAULT 0;
       CREATE TABLE chunks (
         job_id TEXT NOT NULL REFERENCES jobs (id) ON DELETE CASCADE,
         idx INTEGER NOT NULL,
         worker TEXT NOT NULL,
         attempts INTEGER NOT NULL,
         frames INTEGER NOT NULL,
         seconds REAL NOT NULL,
         billed_seconds REAL NOT NULL,
         PRIMARY KEY (job_id, idx));)",
    // 3: the profile versions the service planned with.
    R"(CREATE TABLE profiles (
         version TEXT PRIMARY KEY,
         created_unix_s REAL NOT NULL,
         active INTEGER NOT NULL,
         provenance TEXT NOT NULL,
         profile TEXT NOT NULL,
         error_before REAL NOT NULL DEFAULT 0,
         error_after REAL NOT NULL DEFAULT 0);)",
    // 4: each finished job's summary as columns (what reports and charts read, kept when
    // retention drops the full record), filled from the records already stored; covering
    // indexes for the dashboard's windows, so its aggregates never read the wide rows
    // (a record is kilobytes: reading 100,000 of them took seconds).
    R"(ALTER TABLE jobs ADD COLUMN hardware TEXT NOT NULL DEFAULT '';
       ALTER TABLE jobs ADD COLUMN wall_s REAL NOT NULL DEFAULT 0;
       ALTER TABLE jobs ADD COLUMN clip_s REAL NOT NULL DEFAULT 0;
       ALTER TABLE jobs ADD COLUMN predicted_s REAL NOT NULL DEFAULT 0;
       ALTER TABLE jobs ADD COLUMN predicted_usd REAL NOT NULL DEFAULT 0;
       ALTER TABLE jobs ADD COLUMN cloud_equivalent_usd REAL NOT NULL DEFAULT 0;
       ALTER TABLE jobs ADD COLUMN detail_dropped INTEGER NOT NULL DEFAULT 0;
       UPDATE jobs SET
         hardware = coalesce(json_extract(record, '$.hardware'), json_extract(plan, '$.hardware'), ''),
         wall_s = coalesce(json_extract(record, '$.timings_s.total'), 0),
         clip_s = coalesce(json_extract(record, '$.frames') /
                  nullif(CAST(substr(json_extract(record, '$.fps'), 1, instr(json_extract(record, '$.fps'), '/') - 1) AS REAL) /
                         CAST(substr(json_extract(record, '$.fps'), instr(json_extract(record, '$.fps'), '/') + 1) AS REAL), 0), 0),
         predicted_s = coalesce(json_extract(plan, '$.wall_mean_s'), 0),
         predicted_usd = coalesce(json_extract(plan, '$.cost_usd'), 0),
         cloud_equivalent_usd = coalesce(json_extract(record, '$.cloud_equivalent_usd'), 0)
       WHERE json_valid(record) AND json_valid(plan) AND record != '';
       CREATE INDEX jobs_summary ON jobs (created_unix_s, state, endpoint, hardware, finished_unix_s, cost_usd,
         cloud_equivalent_usd, billed_seconds, chunks_total, clip_s);
       CREATE INDEX jobs_by_finished ON jobs (finished_unix_s, detail_dropped);
       CREATE INDEX jobs_by_state_wall ON jobs (state, wall_s, created_unix_s);
       CREATE INDEX jobs_scatter ON jobs (state, created_unix_s, seq, id, endpoint, predicted_s, wall_s, predicted_usd,
         cost_usd, cloud_equivalent_usd);
       CREATE TABLE hourly (
         hour INTEGER NOT NULL,
         endpoint TEXT NOT NULL,
         hardware TEXT NOT NULL,
         state TEXT NOT NULL,
         chunks INTEGER NOT NULL,
         clip_bucket INTEGER NOT NULL,
         jobs INTEGER NOT NULL,
         cost_usd REAL NOT NULL,
         cloud_equivalent_usd REAL NOT NULL,
         billed_seconds REAL NOT NULL,
         PRIMARY KEY (hour, endpoint, hardware, state, chunks, clip_bucket));
       INSERT INTO hourly SELECT CAST(created_unix_s / 3600 AS INTEGER), endpoint, hardware, state, MAX(1, chunks_total),
         CASE WHEN clip_s < 5 THEN 0 WHEN clip_s < 10 THEN 1 WHEN clip_s < 20 THEN 2 WHEN clip_s < 30 THEN 3
              WHEN clip_s < 60 THEN 4 WHEN clip_s < 120 THEN 5 WHEN clip_s < 300 THEN 6 ELSE 7 END AS b,
         COUNT(*), SUM(cost_usd), SUM(cloud_equivalent_usd), SUM(billed_seconds)
         FROM jobs WHERE state IN ('done', 'failed', 'cancelled') GROUP BY 1, 2, 3, 4, 5, 6;)",
    // 5: the backend's labels (a row per key, for filters; kept by retention) and their
    // hourly roll-up (what cost per label sums: the jobs are never joined), clip seconds in
    // the hourly roll-up, a job's webhook URL and its webhook deliveries with every attempt,
    // and charges that come after a job (a node's idle tail).
    R"(ALTER TABLE jobs ADD COLUMN labels TEXT NOT NULL DEFAULT '{}';
       ALTER TABLE jobs ADD COLUMN webhook_url TEXT NOT NULL DEFAULT '';
       CREATE TABLE job_labels (
         job_id TEXT NOT NULL REFERENCES jobs (id) ON DELETE CASCADE,
         key TEXT NOT NULL,
         value TEXT NOT NULL,
         PRIMARY KEY (job_id, key));
       CREATE INDEX job_labels_by_value ON job_labels (key, value, job_id);
       CREATE TABLE deliveries (
         id TEXT PRIMARY KEY,
         job_id TEXT NOT NULL REFERENCES jobs (id) ON DELETE CASCADE,
         event TEXT NOT NULL,
         url TEXT NOT NULL,
         body TEXT NOT NULL,
         created_unix_s REAL NOT NULL,
         state TEXT NOT NULL CHECK (state IN ('pending', 'delivered', 'failed')),
         attempts INTEGER NOT NULL DEFAULT 0,
         next_attempt_unix_s REAL NOT NULL,
         finished_unix_s REAL NOT NULL DEFAULT 0);
       CREATE INDEX deliveries_due ON deliveries (state, next_attempt_unix_s);
       CREATE INDEX deliveries_by_job ON deliveries (job_id, created_unix_s);
       CREATE TABLE delivery_attempts (
         delivery_id TEXT NOT NULL REFERENCES deliveries (id) ON DELETE CASCADE,
         n INTEGER NOT NULL,
         at_unix_s REAL NOT NULL,
         status INTEGER NOT NULL,
         error TEXT NOT NULL,
         seconds REAL NOT NULL,
         PRIMARY KEY (delivery_id, n));
       CREATE TABLE label_hourly (
         key TEXT NOT NULL,
         hour INTEGER NOT NULL,
         value TEXT NOT NULL,
         jobs INTEGER NOT NULL,
         done INTEGER NOT NULL,
         failed INTEGER NOT NULL,
         cost_usd REAL NOT NULL,
         cloud_equivalent_usd REAL NOT NULL,
         billed_seconds REAL NOT NULL,
         clip_s REAL NOT NULL,
         PRIMARY KEY (key, hour, value));
       ALTER TABLE hourly ADD COLUMN clip_s REAL NOT NULL DEFAULT 0;
       CREATE TEMP TABLE clip_sums (hour, endpoint, hardware, state, chunks, clip_bucket, clip_s,
         PRIMARY KEY (hour, endpoint, hardware, state, chunks, clip_bucket));
       INSERT INTO clip_sums SELECT CAST(created_unix_s / 3600 AS INTEGER), endpoint, hardware, state, MAX(1, chunks_total),
         CASE WHEN clip_s < 5 THEN 0 WHEN clip_s < 10 THEN 1 WHEN clip_s < 20 THEN 2 WHEN clip_s < 30 THEN 3
              WHEN clip_s < 60 THEN 4 WHEN clip_s < 120 THEN 5 WHEN clip_s < 300 THEN 6 ELSE 7 END,
         SUM(clip_s) FROM jobs WHERE state IN ('done', 'failed', 'cancelled') GROUP BY 1, 2, 3, 4, 5, 6;
       UPDATE hourly SET clip_s = COALESCE((SELECT c.clip_s FROM clip_sums c WHERE (c.hour, c.endpoint, c.hardware, c.state,
         c.chunks, c.clip_bucket) = (hourly.hour, hourly.endpoint, hourly.hardware, hourly.state, hourly.chunks,
         hourly.clip_bucket)), 0);
       DROP TABLE clip_sums;
       CREATE TABLE late_charges (
         job_id TEXT NOT NULL REFERENCES jobs (id) ON DELETE CASCADE,
         node TEXT NOT NULL,
         at_unix_s REAL NOT NULL,
         seconds REAL NOT NULL,
         usd REAL NOT NULL,
         tail_s REAL NOT NULL DEFAULT 0);
       CREATE INDEX late_charges_by_job ON late_charges (job_id);
       CREATE INDEX late_charges_recent ON late_charges (at_unix_s);)",
};
static_assert(sizeof(kMigrations) / sizeof(kMigrations[0]) == kJobStoreSchemaVersion);

const char* const kColumns =
    "id, seq, idempotency_key, body_sha256, endpoint, spec, state, plan, profile_version, created_unix_s, "
    "started_unix_s, finished_unix_s, frames_done, frames_total, chunks_done, chunks_total, error_kind, error_message, "
    "output, temp_prefix, record, cost_usd, billed_seconds, hardware, wall_s, clip_s, predicted_s, predicted_usd, "
    "cloud_equivalent_usd, labels, webhook_url";

Labels labels_from_text(const std::string& text) {
  Labels out;
  const nlohmann::json j = nlohmann::json::parse(text, nullptr, false);
  if (!j.is_object()) return out;
  for (const auto& [k, v] : j.items()) {
    if (v.is_string()) out[k] = v.get<std::string>();
  }
  return out;
}

StoredJob read_row(const Statement& s) {
  StoredJob j;
  j.id = s.text(0);
  j.seq = s.integer(1);
  j.idempotency_key = s.text(2);
  j.body_sha256 = s.text(3);
  j.endpoint = s.text(4);
  j.spec_json = s.text(5);
  j.state = s.text(6);
  j.plan_json = s.text(7);
  j.profile_version = s.text(8);
  j.created_unix_s = s.real(9);
  j.started_unix_s = s.real(10);
  j.finished_unix_s = s.real(11);
  j.frames_done = s.integer(12);
  j.frames_total = s.integer(13);
  j.chunks_done = s.integer(14);
  j.chunks_total = s.integer(15);
  j.error_kind = s.text(16);
  j.error_message = s.text(17);
  j.output = s.text(18);
  j.temp_prefix = s.text(19);
  j.record_json = s.text(20);
  j.cost_usd = s.real(21);
  j.billed_seconds = s.real(22);
  j.hardware = s.text(23);
  j.wall_s = s.real(24);
  j.clip_s = s.real(25);
  j.predicted_s = s.real(26);
  j.predicted_usd = s.real(27);
  j.cloud_equivalent_usd = s.real(28);
  j.labels = labels_from_text(s.text(29));
  j.webhook_url = s.text(30);
  return j;
}

std::optional<std::string> key_or_null(const std::string& key) {
  return key.empty() ? std::nullopt : std::optional<std::string>(key);
}

}  // namespace

JobStore::JobStore(const std::string& path) : db_(path) { migrate(); }

int JobStore::schema_version() {
  const std::lock_guard lock(mutex_);
  Statement s = db_.prepare("PRAGMA user_version");
  s.step();
  return static_cast<int>(s.integer(0));
}

void JobStore::migrate() {
  const int at = schema_version();
  const std::lock_guard lock(mutex_);
  if (at > kJobStoreSchemaVersion) {
    fail(ErrorKind::kBadInput, "the job store's schema is version " + std::to_string(at) + ", newer than this build's " +
                                   std::to_string(kJobStoreSchemaVersion) + ": upgrade reelscale");
  }
  for (int v = at; v < kJobStoreSchemaVersion; ++v) {
    Transaction t(db_);
    db_.exec(kMigrations[v]);
    db_.exec("PRAGMA user_version = " + std::to_string(v + 1));
    t.commit();
  }
}

InsertOutcome JobStore::insert(StoredJob& job) {
  const std::lock_guard lock(mutex_);
  Transaction t(db_);
  if (!job.idempotency_key.empty()) {
    Statement s = db_.prepare(std::string("SELECT ") + kColumns + " FROM jobs WHERE idempotency_key = ?");
    s.bind(1, job.idempotency_key);
    if (s.step()) {
      StoredJob existing = read_row(s);
      if (existing.body_sha256 != job.body_sha256) return InsertOutcome::kConflict;
      job = existing;
      return InsertOutcome::kExisting;
    }
  }
  Statement next = db_.prepare("SELECT COALESCE(MAX(seq), 0) + 1 FROM jobs");
  next.step();
  job.seq = next.integer(0);
  db_.prepare("INSERT INTO jobs (id, seq, idempotency_key, body_sha256, endpoint, spec, state, plan, profile_version, "
              "created_unix_s, frames_total, chunks_total, output, labels, webhook_url) "
              "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)")
      .bind(1, job.id)
      .bind(2, job.seq)
      .bind(3, key_or_null(job.idempotency_key))
      .bind(4, job.body_sha256)
      .bind(5, job.endpoint)
      .bind(6, job.spec_json)
      .bind(7, job.state)
      .bind(8, job.plan_json)
      .bind(9, job.profile_version)
      .bind(10, job.created_unix_s)
      .bind(11, job.frames_total)
      .bind(12, job.chunks_total)
      .bind(13, job.output)
      .bind(14, nlohmann::json(job.labels).dump())
      .bind(15, job.webhook_url)
      .run();
  for (const auto& [key, value] : job.labels) {
    db_.prepare("INSERT INTO job_labels (job_id, key, value) VALUES (?, ?, ?)").bind(1, job.id).bind(2, key).bind(3, value).run();
  }
  t.commit();
  return InsertOutcome::kCreated;
}

std::optional<StoredJob> JobStore::get(const std::string& id) { return one_where("id", id); }

std::optional<StoredJob> JobStore::by_idempotency_key(const std::string& key) { return one_where("idempotency_key", key); }

std::optional<StoredJob> JobStore::one_where(const std::string& column, const std::string& value) {
  const std::lock_guard lock(mutex_);
  Statement s = db_.prepare(std::string("SELECT ") + kColumns + " FROM jobs WHERE " + column + " = ?");
  s.bind(1, value);
  if (!s.step()) return std::nullopt;
  return read_row(s);
}

std::vector<StoredJob> JobStore::list(const JobFilter& f) {
  const std::lock_guard lock(mutex_);
  std::string label_terms;
  for (size_t i = 0; i < f.labels.size(); ++i) {
    const std::string k = std::to_string(6 + 2 * i), v = std::to_string(7 + 2 * i);
    label_terms += " AND id IN (SELECT job_id FROM job_labels WHERE key = ?" + k + " AND value = ?" + v + ")";
  }
  Statement s = db_.prepare(std::string("SELECT ") + kColumns +
                            " FROM jobs WHERE (?1 = '' OR state = ?1) AND (?2 = '' OR endpoint = ?2) AND "
                            "created_unix_s >= ?3" + label_terms + " AND " +
                            (f.newest_first ? "(?4 = 0 OR seq < ?4) ORDER BY seq DESC" : "seq > ?4 ORDER BY seq") +
                            " LIMIT ?5");
  s.bind(1, f.state).bind(2, f.endpoint).bind(3, f.since_unix_s).bind(4, f.after_seq).bind(5, static_cast<int64_t>(f.limit));
  int param = 6;
  for (const auto& [key, value] : f.labels) {
    s.bind(param++, key);
    s.bind(param++, value);
  }
  std::vector<StoredJob> out;
  while (s.step()) out.push_back(read_row(s));
  return out;
}

std::vector<StoredJob> JobStore::in_state(const std::string& state) {
  const std::lock_guard lock(mutex_);
  Statement s = db_.prepare(std::string("SELECT ") + kColumns + " FROM jobs WHERE state = ? ORDER BY seq");
  s.bind(1, state);
  std::vector<StoredJob> out;
  while (s.step()) out.push_back(read_row(s));
  return out;
}

std::vector<Spend> JobStore::spent_since(double unix_s) {
  const std::lock_guard lock(mutex_);
  Statement s = db_.prepare(
      "SELECT labels, MAX(cost_usd, cloud_equivalent_usd), finished_unix_s FROM jobs "
      "WHERE finished_unix_s >= ? AND state IN ('done', 'failed', 'cancelled') ORDER BY finished_unix_s");
  s.bind(1, unix_s);
  std::vector<Spend> out;
  while (s.step()) out.push_back({labels_from_text(s.text(0)), s.real(1), s.real(2)});
  return out;
}

std::vector<StoredJob> JobStore::budget_jobs_since(double unix_s) {
  const std::lock_guard lock(mutex_);
  Statement s = db_.prepare(
      "SELECT id, labels, state, created_unix_s, started_unix_s, cost_usd, cloud_equivalent_usd, error_kind, plan "
      "FROM jobs WHERE state IN ('queued', 'running') OR started_unix_s >= ? ORDER BY seq");
  s.bind(1, unix_s);
  std::vector<StoredJob> out;
  while (s.step()) {
    StoredJob j;
    j.id = s.text(0);
    j.labels = labels_from_text(s.text(1));
    j.state = s.text(2);
    j.created_unix_s = s.real(3);
    j.started_unix_s = s.real(4);
    j.cost_usd = s.real(5);
    j.cloud_equivalent_usd = s.real(6);
    j.error_kind = s.text(7);
    j.plan_json = s.text(8);
    out.push_back(std::move(j));
  }
  return out;
}

void JobStore::read_rows(const std::string& sql, double since_unix_s, const std::function<void(const Statement&)>& row) {
  const std::lock_guard lock(mutex_);
  Statement s = db_.prepare(sql);
  s.bind(1, since_unix_s);
  while (s.step()) row(s);
}

JobStore::Retention JobStore::drop_detail_before(double before_unix_s) {
  const std::lock_guard lock(mutex_);
  Transaction t(db_);
  db_.prepare("DELETE FROM chunks WHERE job_id IN (SELECT id FROM jobs WHERE finished_unix_s > 0 AND "
              "finished_unix_s < ? AND detail_dropped = 0)")
      .bind(1, before_unix_s)
      .run();
  db_.prepare("UPDATE jobs SET record = '', spec = '{}', plan = '{}', detail_dropped = 1 WHERE finished_unix_s > 0 AND "
              "finished_unix_s < ? AND detail_dropped = 0")
      .bind(1, before_unix_s)
      .run();
  Retention r;
  r.jobs = db_.changes();
  t.commit();
  return r;
}

int64_t JobStore::count_in_state(const std::string& state) {
  const std::lock_guard lock(mutex_);
  Statement s = db_.prepare("SELECT COUNT(*) FROM jobs WHERE state = ?");
  s.bind(1, state);
  s.step();
  return s.integer(0);
}

int64_t JobStore::count_submitted_since(double unix_s) {
  const std::lock_guard lock(mutex_);
  Statement s = db_.prepare("SELECT COUNT(*) FROM jobs WHERE created_unix_s >= ?");
  s.bind(1, unix_s);
  s.step();
  return s.integer(0);
}

void JobStore::mark_running(const std::string& id, double started_unix_s, const std::string& temp_prefix,
                            const std::optional<Delivery>& event) {
  const std::lock_guard lock(mutex_);
  Transaction t(db_);
  db_.prepare("UPDATE jobs SET state = 'running', started_unix_s = ?, temp_prefix = ? WHERE id = ? AND state = 'queued'")
      .bind(1, started_unix_s)
      .bind(2, temp_prefix)
      .bind(3, id)
      .run();
  if (event && db_.changes() > 0) insert_delivery(*event);
  t.commit();
}

void JobStore::set_progress(const std::string& id, int64_t frames_done, int64_t chunks_done) {
  const std::lock_guard lock(mutex_);
  db_.prepare("UPDATE jobs SET frames_done = ?, chunks_done = ? WHERE id = ?")
      .bind(1, frames_done)
      .bind(2, chunks_done)
      .bind(3, id)
      .run();
}

void JobStore::finish(const StoredJob& j, const std::optional<Delivery>& event) {
  const std::lock_guard lock(mutex_);
  Transaction t(db_);
  db_.prepare("UPDATE jobs SET state = ?, finished_unix_s = ?, error_kind = ?, error_message = ?, record = ?, "
              "cost_usd = ?, billed_seconds = ?, frames_done = ?, chunks_done = ?, chunks_total = ?, plan = ?, "
              "profile_version = ?, hardware = ?, wall_s = ?, clip_s = ?, predicted_s = ?, predicted_usd = ?, "
              "cloud_equivalent_usd = ? WHERE id = ?")
      .bind(1, j.state)
      .bind(2, j.finished_unix_s)
      .bind(3, j.error_kind)
      .bind(4, j.error_message)
      .bind(5, j.record_json)
      .bind(6, j.cost_usd)
      .bind(7, j.billed_seconds)
      .bind(8, j.frames_done)
      .bind(9, j.chunks_done)
      .bind(10, j.chunks_total)
      .bind(11, j.plan_json)
      .bind(12, j.profile_version)
      .bind(13, j.hardware)
      .bind(14, j.wall_s)
      .bind(15, j.clip_s)
      .bind(16, j.predicted_s)
      .bind(17, j.predicted_usd)
      .bind(18, j.cloud_equivalent_usd)
      .bind(19, j.id)
      .run();
  add_to_hourly(j);
  write_chunks(j);
  Statement charged = db_.prepare("SELECT COALESCE(SUM(seconds), 0), COALESCE(SUM(usd), 0) FROM late_charges WHERE job_id = ?");
  charged.bind(1, j.id);
  if (charged.step() && charged.real(0) > 0) apply_charge(j.id, charged.real(0), charged.real(1));
  if (event) insert_delivery(*event);
  t.commit();
}

bool JobStore::add_late_charge(const std::string& job_id, const std::string& node, double at_unix_s, double seconds,
                               double usd, double tail_s) {
  const std::lock_guard lock(mutex_);
  Transaction t(db_);
  db_.prepare("INSERT INTO late_charges (job_id, node, at_unix_s, seconds, usd, tail_s) SELECT id, ?, ?, ?, ?, ? FROM jobs "
              "WHERE id = ?")
      .bind(1, node)
      .bind(2, at_unix_s)
      .bind(3, seconds)
      .bind(4, usd)
      .bind(5, tail_s)
      .bind(6, job_id)
      .run();
  if (db_.changes() == 0) return false;
  Statement finished = db_.prepare("SELECT finished_unix_s > 0 FROM jobs WHERE id = ?");
  finished.bind(1, job_id);
  // A job still running gets its charges when it finishes (finish() adds them up).
  if (finished.step() && finished.integer(0) != 0) apply_charge(job_id, seconds, usd);
  t.commit();
  return true;
}

// A late charge added to a finished job: its columns, its record and its hour's roll-up.
void JobStore::apply_charge(const std::string& job_id, double seconds, double usd) {
  db_.prepare("UPDATE jobs SET cost_usd = cost_usd + ?1, billed_seconds = billed_seconds + ?2, record = CASE WHEN "
              "record != '' AND json_valid(record) THEN json_set(record, '$.cost_usd', "
              "COALESCE(json_extract(record, '$.cost_usd'), 0) + ?1, '$.billed_seconds', "
              "COALESCE(json_extract(record, '$.billed_seconds'), 0) + ?2, '$.idle_billed_seconds', "
              "COALESCE(json_extract(record, '$.idle_billed_seconds'), 0) + ?2) ELSE record END WHERE id = ?3")
      .bind(1, usd)
      .bind(2, seconds)
      .bind(3, job_id)
      .run();
  db_.prepare("UPDATE hourly SET cost_usd = cost_usd + ?1, billed_seconds = billed_seconds + ?2 WHERE "
              "(hour, endpoint, hardware, state, chunks, clip_bucket) = (SELECT CAST(created_unix_s / 3600 AS INTEGER), "
              "endpoint, hardware, state, MAX(1, chunks_total), " + clip_bucket_sql("clip_s") + " FROM jobs WHERE id = ?3)")
      .bind(1, usd)
      .bind(2, seconds)
      .bind(3, job_id)
      .run();
  db_.prepare("UPDATE label_hourly SET cost_usd = cost_usd + ?1, billed_seconds = billed_seconds + ?2 WHERE "
              "(key, hour, value) IN (SELECT l.key, CAST(j.created_unix_s / 3600 AS INTEGER), l.value FROM job_labels l "
              "JOIN jobs j ON j.id = l.job_id WHERE l.job_id = ?3)")
      .bind(1, usd)
      .bind(2, seconds)
      .bind(3, job_id)
      .run();
}

void JobStore::add_to_hourly(const StoredJob& j) {
  const int64_t hour = static_cast<int64_t>(j.created_unix_s / 3600);
  db_.prepare("INSERT INTO hourly (hour, endpoint, hardware, state, chunks, clip_bucket, jobs, cost_usd, cloud_equivalent_usd, "
              "billed_seconds, clip_s) VALUES (?, ?, ?, ?, ?, ?, 1, ?, ?, ?, ?) ON CONFLICT DO UPDATE SET jobs = jobs + 1, "
              "cost_usd = cost_usd + excluded.cost_usd, cloud_equivalent_usd = cloud_equivalent_usd + "
              "excluded.cloud_equivalent_usd, billed_seconds = billed_seconds + excluded.billed_seconds, "
              "clip_s = clip_s + excluded.clip_s")
      .bind(1, hour)
      .bind(2, j.endpoint)
      .bind(3, j.hardware)
      .bind(4, j.state)
      .bind(5, std::max<int64_t>(1, j.chunks_total))
      .bind(6, static_cast<int64_t>(clip_bucket(j.clip_s)))
      .bind(7, j.cost_usd)
      .bind(8, j.cloud_equivalent_usd)
      .bind(9, j.billed_seconds)
      .bind(10, j.clip_s)
      .run();
  if (j.labels.empty()) return;
  Statement per_label = db_.prepare(
      "INSERT INTO label_hourly VALUES (?, ?, ?, 1, ?, ?, ?, ?, ?, ?) ON CONFLICT DO UPDATE SET jobs = jobs + 1, "
      "done = done + excluded.done, failed = failed + excluded.failed, cost_usd = cost_usd + excluded.cost_usd, "
      "cloud_equivalent_usd = cloud_equivalent_usd + excluded.cloud_equivalent_usd, "
      "billed_seconds = billed_seconds + excluded.billed_seconds, clip_s = clip_s + excluded.clip_s");
  for (const auto& [key, value] : j.labels) {
    per_label.reset()
        .bind(1, key)
        .bind(2, hour)
        .bind(3, value)
        .bind(4, static_cast<int64_t>(j.state == "done" ? 1 : 0))
        .bind(5, static_cast<int64_t>(j.state == "failed" ? 1 : 0))
        .bind(6, j.cost_usd)
        .bind(7, j.cloud_equivalent_usd)
        .bind(8, j.billed_seconds)
        .bind(9, j.clip_s)
        .run();
  }
}

void JobStore::write_chunks(const StoredJob& j) {
  if (j.record_json.empty()) return;
  const nlohmann::json record = nlohmann::json::parse(j.record_json, nullptr, false);
  if (!record.is_object() || !record.contains("chunk_results")) return;
  for (const auto& c : record["chunk_results"]) {
    const auto& t = c.value("timings_s", nlohmann::json::object());
    db_.prepare("INSERT OR REPLACE INTO chunks (job_id, idx, worker, attempts, frames, seconds, billed_seconds) "
                "VALUES (?, ?, ?, ?, ?, ?, ?)")
        .bind(1, j.id)
        .bind(2, c.value("index", int64_t{0}))
        .bind(3, c.value("worker", std::string()))
        .bind(4, c.value("attempts", int64_t{1}))
        .bind(5, c.value("frames", int64_t{0}))
        .bind(6, t.value("round_trip", 0.0))
        .bind(7, c.value("billed_seconds", 0.0))
        .run();
  }
}

bool JobStore::cancel_queued(const std::string& id, double now_unix_s, const std::optional<Delivery>& event,
                             const std::string& error_kind, const std::string& error_message) {
  const std::lock_guard lock(mutex_);
  Transaction t(db_);
  db_.prepare("UPDATE jobs SET state = 'cancelled', finished_unix_s = ?, error_kind = ?, error_message = ? "
              "WHERE id = ? AND state = 'queued'")
      .bind(1, now_unix_s)
      .bind(2, error_kind)
      .bind(3, error_message)
      .bind(4, id)
      .run();
  const bool cancelled = db_.changes() > 0;
  if (cancelled && event) insert_delivery(*event);
  t.commit();
  return cancelled;
}

}  // namespace reelscale::serve
