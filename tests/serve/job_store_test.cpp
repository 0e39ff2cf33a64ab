// tests/serve/job_store_test.cpp — the job store on a real SQLite file: a store written
// by an older schema is migrated forward with its jobs kept, a newer one is refused with
// a clear error, idempotency keys, cancelling only queued jobs, finishing writes the
// chunk rows, and profile versions keep one active.
#include <gtest/gtest.h>

#include <tuple>
#include <nlohmann/json.hpp>

#include "common/error.h"
#include "serve/job_store.h"
#include "serve/stats.h"
#include "serve/sqlite.h"
#include "test_media.h"

namespace rt = reelscale::testing;
using namespace reelscale;
using namespace reelscale::serve;

namespace {

StoredJob queued(const std::string& id, const std::string& key = "", const std::string& body_sha = "b") {
  StoredJob j;
  j.id = id;
  j.idempotency_key = key;
  j.body_sha256 = body_sha;
  j.endpoint = "framing";
  j.spec_json = "{}";
  j.state = "queued";
  j.created_unix_s = 100;
  return j;
}

}  // namespace

TEST(JobStore, AnOlderSchemaIsMigratedForwardWithItsJobs) {
  rt::TempDir dir;
  const std::string path = (dir / "jobs.db").string();
  {
    // What version 1 of the schema wrote.
    Database db(path);
    db.exec("CREATE TABLE jobs (id TEXT PRIMARY KEY, seq INTEGER NOT NULL UNIQUE, idempotency_key TEXT UNIQUE, "
            "body_sha256 TEXT NOT NULL, endpoint TEXT NOT NULL, spec TEXT NOT NULL, state TEXT NOT NULL, "
            "plan TEXT NOT NULL DEFAULT '{}', profile_version TEXT NOT NULL DEFAULT '', created_unix_s REAL NOT NULL, "
            "started_unix_s REAL NOT NULL DEFAULT 0, finished_unix_s REAL NOT NULL DEFAULT 0, "
            "frames_done INTEGER NOT NULL DEFAULT 0, frames_total INTEGER NOT NULL DEFAULT 0, "
            "chunks_done INTEGER NOT NULL DEFAULT 0, chunks_total INTEGER NOT NULL DEFAULT 0, "
            "error_kind TEXT NOT NULL DEFAULT '', error_message TEXT NOT NULL DEFAULT '', output TEXT NOT NULL DEFAULT '', "
            "temp_prefix TEXT NOT NULL DEFAULT '', record TEXT NOT NULL DEFAULT '');"
            "INSERT INTO jobs (id, seq, body_sha256, endpoint, spec, state, created_unix_s, plan, record) "
            "VALUES ('0ld', 1, 'x', 'overlay', '{}', 'done', 5, '{\"wall_mean_s\": 2.0, \"cost_usd\": 0.003}', "
            "'{\"hardware\": \"T4\", \"timings_s\": {\"total\": 2.5}, \"frames\": 60, \"fps\": \"30000/1001\", "
            "\"cloud_equivalent_usd\": 0.01}'); PRAGMA user_version = 1;");
  }
  JobStore store(path);
  EXPECT_EQ(store.schema_version(), kJobStoreSchemaVersion);
  const auto old = store.get("0ld");
  ASSERT_TRUE(old.has_value());
  EXPECT_EQ(old->endpoint, "overlay");
  EXPECT_EQ(old->cost_usd, 0) << "a column a migration added has its default";
  // Version 4's summary columns are filled from the records already stored.
  EXPECT_EQ(old->hardware, "T4");
  EXPECT_DOUBLE_EQ(old->wall_s, 2.5);
  EXPECT_NEAR(old->clip_s, 60 / (30000.0 / 1001), 1e-9);
  EXPECT_DOUBLE_EQ(old->predicted_s, 2.0);
  EXPECT_DOUBLE_EQ(old->predicted_usd, 0.003);
  EXPECT_DOUBLE_EQ(old->cloud_equivalent_usd, 0.01);
  // Version 5 sums clip seconds into the hourly roll-up, from the jobs already stored.
  double clip_sum = -1;
  store.read_rows("SELECT SUM(clip_s) FROM hourly WHERE hour >= ?1", 0, [&](const Statement& s) { clip_sum = s.real(0); });
  EXPECT_NEAR(clip_sum, 60 / (30000.0 / 1001), 1e-9);
  StoredJob j = queued("n3w");
  EXPECT_EQ(store.insert(j), InsertOutcome::kCreated);
  EXPECT_EQ(j.seq, 2);
  store.save_profile({"v1", 1, true, "given", "{}", 0, 0});
  EXPECT_EQ(store.active_profile()->version, "v1");
}

TEST(JobStore, ANewerSchemaIsRefusedClearly) {
  rt::TempDir dir;
  const std::string path = (dir / "jobs.db").string();
  { Database(path).exec("PRAGMA user_version = 99"); }
  try {
    JobStore store(path);
    FAIL() << "a newer schema was opened";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("version 99, newer than this build"), std::string::npos) << e.what();
  }
}

TEST(JobStore, IdempotencyCancellingAndFinishing) {
  rt::TempDir dir;
  JobStore store((dir / "jobs.db").string());
  StoredJob a = queued("a1", "key", "same");
  ASSERT_EQ(store.insert(a), InsertOutcome::kCreated);
  StoredJob again = queued("a2", "key", "same");
  EXPECT_EQ(store.insert(again), InsertOutcome::kExisting);
  EXPECT_EQ(again.id, "a1");
  StoredJob other = queued("a3", "key", "different");
  EXPECT_EQ(store.insert(other), InsertOutcome::kConflict);
  EXPECT_FALSE(store.get("a3").has_value());
  StoredJob b = queued("b1");
  ASSERT_EQ(store.insert(b), InsertOutcome::kCreated);
  store.mark_running("b1", 200, "/tmp/x/.reelscale-tmp-b1/");
  EXPECT_FALSE(store.cancel_queued("b1", 201)) << "a running job is not cancelled by the store";
  EXPECT_TRUE(store.cancel_queued("a1", 201));
  EXPECT_EQ(store.get("a1")->state, "cancelled");
  StoredJob done = *store.get("b1");
  done.state = "done";
  done.finished_unix_s = 210;
  done.record_json = nlohmann::json{{"chunk_results", {{{"index", 0}, {"worker", "local:0"}, {"frames", 10}},
                                                       {{"index", 1}, {"worker", "local:1"}, {"frames", 12}}}}}
                         .dump();
  store.finish(done);
  EXPECT_EQ(store.get("b1")->state, "done");
  EXPECT_EQ(store.recent_records(10).size(), 1u);
  Database db((dir / "jobs.db").string());
  Statement s = db.prepare("SELECT COUNT(*), SUM(frames) FROM chunks WHERE job_id = 'b1'");
  ASSERT_TRUE(s.step());
  EXPECT_EQ(s.integer(0), 2);
  EXPECT_EQ(s.integer(1), 22);
  EXPECT_EQ(store.count_in_state("done"), 1);
  JobFilter f;
  f.state = "cancelled";
  EXPECT_EQ(store.list(f).size(), 1u);
  store.save_profile({"p1", 1, true, "first", "{}", 0, 0});
  store.save_profile({"p2", 2, true, "refit", "{}", 0.5, 0.1});
  EXPECT_EQ(store.active_profile()->version, "p2");
  EXPECT_EQ(store.profiles().size(), 2u);
}

// The dashboard's aggregates, computed in SQL, against the same sums computed here from
// the rows; retention then drops the full records and the aggregates stay the same.
TEST(JobStore, StatsAggregateInSqlAndRetentionKeepsTheSummary) {
  rt::TempDir dir;
  JobStore store((dir / "jobs.db").string());
  const double now = 1.8e9;
  double cost = 0, cloud = 0;
  std::vector<double> done_walls;
  std::vector<int64_t> arrivals(24, 0);
  for (int i = 0; i < 100; ++i) {
    StoredJob j = queued("j" + std::to_string(i));
    j.created_unix_s = now - 3600.0 * (i % 30);
    ASSERT_EQ(store.insert(j), InsertOutcome::kCreated);
    j.state = i % 10 == 0 ? "failed" : "done";
    j.finished_unix_s = j.created_unix_s + 1;
    j.cost_usd = 0.001 * i;
    j.cloud_equivalent_usd = 0.002 * i;
    j.hardware = i % 2 ? "CPU" : "T4";
    j.billed_seconds = i % 2 ? 0 : 2.0;
    j.wall_s = 0.1 * i;
    j.clip_s = i % 40;
    j.predicted_s = 0.1 * i + 0.05;
    j.chunks_total = 1 + i % 3;
    j.record_json = nlohmann::json{{"padding", std::string(4000, 'x')}}.dump();
    store.finish(j);
    cost += j.cost_usd;
    cloud += j.cloud_equivalent_usd;
    if (j.state == "done") done_walls.push_back(j.wall_s);
    ++arrivals[static_cast<size_t>(static_cast<int64_t>(j.created_unix_s / 3600) % 24)];
  }
  const nlohmann::json s = dashboard_stats(store, 0, 60);
  EXPECT_EQ(s["jobs"], 100);
  EXPECT_NEAR(s["cost_usd"].get<double>(), cost, 1e-9);
  EXPECT_NEAR(s["cloud_equivalent_usd"].get<double>(), cloud, 1e-9);
  EXPECT_DOUBLE_EQ(s["billed_seconds_by_hardware"]["T4"].get<double>(), 100.0);
  EXPECT_DOUBLE_EQ(s["gpu_seconds"].get<double>(), 100.0);
  std::sort(done_walls.begin(), done_walls.end());
  EXPECT_DOUBLE_EQ(s["latency_s"]["p50"].get<double>(), done_walls[done_walls.size() / 2]);
  EXPECT_DOUBLE_EQ(s["latency_s"]["p90"].get<double>(), done_walls[static_cast<size_t>(0.9 * done_walls.size())]);
  EXPECT_EQ(s["latency_s"]["deadline"], 60);
  EXPECT_EQ(s["predicted_vs_actual"].size(), done_walls.size());
  EXPECT_EQ(s["arrivals_by_hour_utc"].get<std::vector<int64_t>>(), arrivals);
  int64_t bucketed = 0, ended = 0, failed = 0;
  for (const auto& b : s["clip_lengths"]) bucketed += b["jobs"].get<int64_t>();
  for (const auto& e : s["error_rate_by_chunks"]) ended += e["jobs"].get<int64_t>(), failed += e["failed"].get<int64_t>();
  EXPECT_EQ(bucketed, 100);
  EXPECT_EQ(ended, 100);
  EXPECT_EQ(failed, 10);
  double hourly = 0;
  for (const auto& h : s["cost_per_hour_by_endpoint"]) hourly += h["cost_usd"]["framing"].get<double>();
  EXPECT_NEAR(hourly, cost, 1e-9);

  EXPECT_EQ(store.drop_detail_before(now - 3600.0 * 10).jobs, 57) << "the jobs finished over 10 hours before (i % 30 >= 11)";
  EXPECT_TRUE(store.get("j29")->record_json.empty());
  EXPECT_DOUBLE_EQ(store.get("j29")->wall_s, 2.9);
  EXPECT_FALSE(store.get("j1")->record_json.empty());
  EXPECT_EQ(dashboard_stats(store, 0, 60).dump(), s.dump()) << "the charts read the summary, which stays";
  EXPECT_EQ(store.drop_detail_before(now - 3600.0 * 10).jobs, 0) << "once";
}

TEST(JobStore, LabelsAreFilteredAndSummedWithTheRestAsOtherAndRetentionKeepsThem) {
  rt::TempDir dir;
  JobStore store((dir / "jobs.db").string());
  // Five users, one job each, costing 5, 4, 3, 2 and 1 dollars; one job without labels.
  for (int i = 0; i < 6; ++i) {
    StoredJob j = queued("j" + std::to_string(i));
    if (i < 5) j.labels = {{"user_id", "u-" + std::to_string(i)}, {"feature", i % 2 ? "export" : "preview"}};
    ASSERT_EQ(store.insert(j), InsertOutcome::kCreated);
    j.state = i == 1 ? "failed" : "done";
    j.finished_unix_s = 200;
    j.cost_usd = 5 - i;
    j.clip_s = 10;
    store.finish(j);
  }
  JobFilter f;
  f.labels = {{"feature", "export"}};
  std::vector<StoredJob> page = store.list(f);
  ASSERT_EQ(page.size(), 2u);
  EXPECT_EQ(page[0].labels.at("user_id"), "u-1");
  f.labels = {{"feature", "export"}, {"user_id", "u-3"}};
  ASSERT_EQ(store.list(f).size(), 1u);
  // The three most costly users, the rest as "other", the unlabelled job as "".
  const std::vector<LabelTotals> t = store.totals_by_label("user_id", 0, 3);
  ASSERT_EQ(t.size(), 5u);
  EXPECT_EQ(t[0].value, "u-0");
  EXPECT_DOUBLE_EQ(t[0].cost_usd, 5);
  EXPECT_EQ(t[1].failed, 1);
  EXPECT_EQ(t[3].value, "other");
  EXPECT_EQ(t[3].jobs, 2);
  EXPECT_DOUBLE_EQ(t[3].cost_usd, 2 + 1);
  EXPECT_EQ(t[4].value, "");
  EXPECT_DOUBLE_EQ(t[4].cost_usd, 0);
  EXPECT_EQ(t[4].jobs, 1);
  EXPECT_EQ(store.label_keys(0), (std::vector<std::string>{"feature", "user_id"}));
  // Retention drops records, never labels: cost per user still adds up.
  store.drop_detail_before(1e12);
  EXPECT_DOUBLE_EQ(store.totals_by_label("user_id", 0, 10)[0].cost_usd, 5);
  EXPECT_EQ(store.get("j2")->labels.at("user_id"), "u-2");
}

TEST(JobStore, DeliveriesAreStoredWithTheirStateChangeAndComeDueInOrder) {
  rt::TempDir dir;
  JobStore store((dir / "jobs.db").string());
  StoredJob j = queued("w1");
  j.webhook_url = "http://127.0.0.1:1/hook";
  ASSERT_EQ(store.insert(j), InsertOutcome::kCreated);
  Delivery started{"msg_a", "w1", "job.started", j.webhook_url, "{}", 100, "pending", 0, 100, 0};
  store.mark_running("w1", 100, "", started);
  store.mark_running("w1", 101, "", Delivery{"msg_dup", "w1", "job.started", j.webhook_url, "{}", 101, "pending", 0, 101, 0});
  // A job already running is not marked again, and stores no second event.
  ASSERT_EQ(store.deliveries_of("w1").size(), 1u);
  j.state = "done";
  j.finished_unix_s = 150;
  store.finish(j, Delivery{"msg_b", "w1", "job.succeeded", j.webhook_url, "{}", 150, "pending", 0, 150, 0});
  EXPECT_EQ(store.due_deliveries(120, {}, 10).size(), 1u) << "only the started event is due at 120";
  // In order: job.succeeded waits while job.started is pending, even once it is due itself,
  // and while a sender holds job.started.
  std::vector<Delivery> due = store.due_deliveries(200, {}, 10);
  ASSERT_EQ(due.size(), 1u);
  EXPECT_EQ(due[0].id, "msg_a");
  EXPECT_TRUE(store.due_deliveries(200, {"msg_a"}, 10).empty()) << "the later event waits for the one a sender holds";
  Delivery retry = due[0];
  retry.attempts = 1;
  retry.next_attempt_unix_s = 300;
  store.record_attempt(retry, DeliveryAttempt{1, 200, 503, "", 0.01});
  EXPECT_TRUE(store.due_deliveries(250, {}, 10).empty()) << "job.started backs off, job.succeeded waits behind it";
  EXPECT_DOUBLE_EQ(store.next_delivery_due(), 300) << "the held event is not due before the one it waits for";
  const auto all = store.deliveries_of("w1");
  ASSERT_EQ(all.size(), 2u);
  EXPECT_EQ(all[0].second.size(), 1u);
  EXPECT_EQ(all[0].second[0].status, 503);
  EXPECT_EQ(all[0].first.attempts, 1);
  // Once job.started is delivered, job.succeeded is due.
  retry.state = "delivered";
  retry.attempts = 2;
  retry.finished_unix_s = 300;
  store.record_attempt(retry, DeliveryAttempt{2, 300, 200, "", 0.01});
  due = store.due_deliveries(300, {}, 10);
  ASSERT_EQ(due.size(), 1u);
  EXPECT_EQ(due[0].id, "msg_b");
}

// A queued job's job.pending is stored only while it is queued; each event's data.sequence
// is its place among its job's events, set as it is stored.
TEST(JobStore, QueuedEventsOnlyWhileQueuedAndEachEventNumberedInItsJob) {
  rt::TempDir dir;
  JobStore store((dir / "jobs.db").string());
  StoredJob j = queued("p1");
  j.webhook_url = "http://127.0.0.1:1/hook";
  const std::string body = R"({"type": "job.pending", "data": {"id": "p1", "sequence": 0}})";
  ASSERT_EQ(store.insert(j), InsertOutcome::kCreated);
  EXPECT_TRUE(store.add_queued_event("p1", Delivery{"msg_1", "p1", "job.pending", j.webhook_url, body, 100, "pending", 0, 100, 0}));
  EXPECT_TRUE(store.add_queued_event("p1", Delivery{"msg_2", "p1", "job.pending", j.webhook_url, body, 101, "pending", 0, 101, 0}));
  store.mark_running("p1", 102, "", Delivery{"msg_3", "p1", "job.started", j.webhook_url, body, 102, "pending", 0, 102, 0});
  EXPECT_FALSE(store.add_queued_event("p1", Delivery{"msg_4", "p1", "job.pending", j.webhook_url, body, 103, "pending", 0, 103, 0}))
      << "the job runs: too late to say why it waits";
  const auto all = store.deliveries_of("p1");
  ASSERT_EQ(all.size(), 3u);
  for (size_t i = 0; i < all.size(); ++i) {
    EXPECT_EQ(nlohmann::json::parse(all[i].first.body)["data"]["sequence"], i) << all[i].first.id;
  }
  EXPECT_FALSE(store.add_queued_event("none", Delivery{"msg_5", "none", "job.pending", "", body, 1, "pending", 0, 1, 0}));
}

TEST(JobStore, ALateChargeReachesTheJobWhetherItCameBeforeOrAfterTheJobFinished) {
  rt::TempDir dir;
  JobStore store((dir / "jobs.db").string());
  for (const std::string id : {"early", "late"}) {
    StoredJob j = queued(id);
    j.labels = {{"user_id", "u-" + id}};
    ASSERT_EQ(store.insert(j), InsertOutcome::kCreated);
  }
  // "early": the node suspended while the job still ran; "late": after it finished.
  EXPECT_TRUE(store.add_late_charge("early", "cloud1", 150, 10, 0.5, 10));
  for (const std::string id : {"early", "late"}) {
    StoredJob j = *store.get(id);
    j.state = "done";
    j.finished_unix_s = 200;
    j.cost_usd = 1;
    j.billed_seconds = 20;
    j.hardware = "T4";
    j.record_json = R"({"schema_version": 5, "endpoint": "framing", "cost_usd": 1, "billed_seconds": 20})";
    store.finish(j);
  }
  EXPECT_TRUE(store.add_late_charge("late", "cloud2", 250, 16, 0.8, 16));
  EXPECT_FALSE(store.add_late_charge("nobody", "cloud2", 250, 5, 0.1, 5)) << "no such job: nothing kept";
  for (const auto& [id, seconds, usd] : {std::tuple{"early", 10.0, 0.5}, std::tuple{"late", 16.0, 0.8}}) {
    const StoredJob j = *store.get(id);
    EXPECT_DOUBLE_EQ(j.cost_usd, 1 + usd) << id;
    EXPECT_DOUBLE_EQ(j.billed_seconds, 20 + seconds) << id;
    const nlohmann::json r = nlohmann::json::parse(j.record_json);
    EXPECT_DOUBLE_EQ(r["idle_billed_seconds"].get<double>(), seconds) << id;
    EXPECT_DOUBLE_EQ(r["cost_usd"].get<double>(), 1 + usd) << id;
  }
  // The roll-ups the dashboard and the cost per label read hold the charges too.
  double hourly_cost = 0;
  store.read_rows("SELECT SUM(cost_usd) FROM hourly WHERE hour >= ?1", 0, [&](const Statement& s) { hourly_cost = s.real(0); });
  EXPECT_DOUBLE_EQ(hourly_cost, 2 + 0.5 + 0.8);
  for (const LabelTotals& t : store.totals_by_label("user_id", 0, 10)) {
    EXPECT_DOUBLE_EQ(t.cost_usd, t.value == "u-early" ? 1.5 : 1.8) << t.value;
  }
  EXPECT_EQ(store.recent_idle_tails(5), (std::vector<double>{16, 10}));
}
