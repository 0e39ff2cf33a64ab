// serve/job_store.h — the job service's durable state in SQLite: every accepted job (its
// spec, plan and profile version, state, progress, outcome and, once finished, its typed
// record with per-chunk timings, workers, attempts, billed seconds and cost), under a
// versioned schema migrated forward at open. A job is written before it is acknowledged,
// so a killed service loses no accepted job. Safe to call from several threads.
#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include "serve/sqlite.h"

namespace reelscale::serve {

inline constexpr int kJobStoreSchemaVersion = 5;

// Clip-length buckets of the hourly roll-up (seconds; bucket i: below edge i, the last: the rest).
inline constexpr double kClipBucketEdges[] = {5, 10, 20, 30, 60, 120, 300};
int clip_bucket(double clip_s);
std::string clip_bucket_sql(const std::string& column);  // the same, in SQL

// The backend's labels of a job ({"user_id": "u-123", "feature": "export"}).
using Labels = std::map<std::string, std::string>;

struct StoredJob {
  std::string id;
  int64_t seq = 0;                 // submission order; the listing's cursor
  std::string idempotency_key;
  std::string body_sha256;
  std::string endpoint;
  std::string spec_json;
  std::string state;               // queued | running | done | failed | cancelled
  std::string plan_json;
  std::string profile_version;
  double created_unix_s = 0;
  double started_unix_s = 0;       // 0: not yet
  double finished_unix_s = 0;
  int64_t frames_done = 0;
  int64_t frames_total = 0;
  int64_t chunks_done = 0;
  int64_t chunks_total = 0;
  std::string error_kind;
  std::string error_message;
  std::string output;
  std::string temp_prefix;         // its temporaries while it runs
  std::string record_json;         // the typed record once finished
  double cost_usd = 0;
  double billed_seconds = 0;
  // The finished job's summary, kept when retention drops the record.
  std::string hardware;
  double wall_s = 0;               // measured wall time
  double clip_s = 0;               // output seconds
  double predicted_s = 0;
  double predicted_usd = 0;
  double cloud_equivalent_usd = 0; // local slots: the cores used at the cloud's per-core price
  Labels labels;
  std::string webhook_url;         // "" : no webhooks
  bool finished() const { return state == "done" || state == "failed" || state == "cancelled"; }
};

struct JobFilter {
  std::string state;
  std::string endpoint;
  double since_unix_s = 0;
  int64_t after_seq = 0;           // the cursor: jobs submitted after this one (before it, newest first)
  int limit = 50;
  bool newest_first = false;
  Labels labels;                   // every one must match
};

// A webhook event to deliver: its id (the webhook-id header, the same on every attempt),
// the signed body, and where its attempts stand.
struct Delivery {
  std::string id;
  std::string job_id;
  std::string event;               // job.started | job.succeeded | job.failed | job.cancelled
  std::string url;
  std::string body;
  double created_unix_s = 0;
  std::string state = "pending";   // pending | delivered | failed (gave up)
  int attempts = 0;
  double next_attempt_unix_s = 0;
  double finished_unix_s = 0;
};

struct DeliveryAttempt {
  int n = 0;                       // 1, 2, ...
  double at_unix_s = 0;
  int status = 0;                  // the HTTP status, 0 when none came back
  std::string error;               // a timeout, a refused connection, ... ("" with a status)
  double seconds = 0;
};

// Cost and jobs of one label value over a window (GET /v1/stats, `report --by`).
struct LabelTotals {
  std::string value;
  int64_t jobs = 0, done = 0, failed = 0;
  double cost_usd = 0, cloud_equivalent_usd = 0, billed_seconds = 0, clip_s = 0;
};

// What a finished job spent, for the scheduler's usage: the bill, or on local slots its
// cloud-equivalent cost.
struct Spend {
  Labels labels;
  double usd = 0;
  double finished_unix_s = 0;
};

// A profile version the service planned with: the one it started with, and each refit it
// switched to (or tried), with where it came from and how well it predicted.
struct StoredProfile {
  std::string version;
  double created_unix_s = 0;
  bool active = false;
  std::string provenance;
  std::string profile_json;
  double error_before = 0;   // median |measured / predicted - 1| of the profile it replaced
  double error_after = 0;    // of this one, on the same held-back records
};

// What inserting a job did: a new job, the job the idempotency key already names (same
// body), or a conflict (the key names a job with another body).
enum class InsertOutcome { kCreated, kExisting, kConflict };

class JobStore {
 public:
  explicit JobStore(const std::string& path);
  int schema_version();

  // Fills seq; on kExisting, `job` becomes the stored one.
  InsertOutcome insert(StoredJob& job);
  std::optional<StoredJob> get(const std::string& id);
  std::optional<StoredJob> by_idempotency_key(const std::string& key);
  std::vector<StoredJob> list(const JobFilter& filter);
  std::vector<StoredJob> in_state(const std::string& state);  // oldest first
  int64_t count_in_state(const std::string& state);
  int64_t count_submitted_since(double unix_s);

  // A state change and its webhook event (when the job has a webhook) in one transaction.
  void mark_running(const std::string& id, double started_unix_s, const std::string& temp_prefix,
                    const std::optional<Delivery>& event = std::nullopt);
  void set_progress(const std::string& id, int64_t frames_done, int64_t chunks_done);
  // Ends a job: its state, outcome and record (and its chunks' rows, from the record).
  void finish(const StoredJob& finished, const std::optional<Delivery>& event = std::nullopt);
  // Only a queued job: true when it was cancelled here (and its event stored).
  // A queued job's event (job.pending), stored only while the job is still queued.
  bool add_queued_event(const std::string& id, const Delivery& event);
  bool cancel_queued(const std::string& id, double now_unix_s, const std::optional<Delivery>& event = std::nullopt,
                     const std::string& error_kind = "cancelled",
                     const std::string& error_message = "cancelled before it started");

  // A charge that came after the job ended (a node's idle tail): kept, and added to the
  // job's cost, billed seconds, record and hourly roll-up now if it has finished, else when
  // it finishes. False when there is no such job.
  bool add_late_charge(const std::string& job_id, const std::string& node, double at_unix_s, double seconds, double usd,
                       double tail_s);
  // The idle tails (a node's last task to its suspend) of the most recent late charges.
  std::vector<double> recent_idle_tails(int limit);

  // Webhook deliveries (serve/job_store_deliveries.cpp).
  // Pending deliveries due by `now_unix_s`, soonest first, skipping the ids in `busy`.
  std::vector<Delivery> due_deliveries(double now_unix_s, const std::vector<std::string>& busy, int limit);
  // Records an attempt and where the delivery goes next (its state, attempts and next time).
  void record_attempt(const Delivery& updated, const DeliveryAttempt& attempt);
  std::vector<std::pair<Delivery, std::vector<DeliveryAttempt>>> deliveries_of(const std::string& job_id);
  double next_delivery_due();  // the soonest pending delivery's time (0: none)

  // Finished jobs submitted since the time, summed by the value of one label key (most
  // costly first; beyond `limit` values, one row "other"; jobs without the key: one row "").
  std::vector<LabelTotals> totals_by_label(const std::string& key, double since_unix_s, int limit);
  std::vector<std::string> label_keys(double since_unix_s);  // the keys finished jobs since then carry
  std::vector<Spend> spent_since(double unix_s);               // jobs finished since then
  // Queued and running jobs, and those started since then, oldest first: id, labels, state,
  // times, costs, error kind and plan only (what budgets are rebuilt from).
  std::vector<StoredJob> budget_jobs_since(double unix_s);
  // The records of the most recent finished jobs that are done, oldest first.
  std::vector<std::string> recent_records(int limit);

  // Runs a read-only query (the dashboard's aggregates), `since_unix_s` bound to ?1; calls
  // `row` for each row.
  void read_rows(const std::string& sql, double since_unix_s, const std::function<void(const Statement&)>& row);
  // Retention: finished jobs before the time lose their record, spec, plan and chunk rows;
  // their summary columns stay for reports and charts.
  struct Retention {
    int jobs = 0;
  };
  Retention drop_detail_before(double before_unix_s);

  // Saves a profile version; an active one becomes the only active one.
  void save_profile(const StoredProfile& profile);
  std::optional<StoredProfile> active_profile();
  std::vector<StoredProfile> profiles();  // newest first

 private:
  void migrate();
  std::optional<StoredJob> one_where(const std::string& column, const std::string& value);
  void write_chunks(const StoredJob& job);
  // The finished job added to its hour's roll-up (by submission hour, endpoint, hardware,
  // state, chunk count and clip-length bucket): what the dashboard's series sum.
  void add_to_hourly(const StoredJob& job);
  void insert_delivery(const Delivery& d);  // inside the caller's transaction
  void apply_charge(const std::string& job_id, double seconds, double usd);  // inside the caller's transaction
  std::mutex mutex_;  // one statement sequence at a time (changes() and transactions)
  Database db_;
};

}  // namespace reelscale::serve
