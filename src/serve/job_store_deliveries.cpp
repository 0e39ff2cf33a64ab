// serve/job_store_deliveries.cpp — the job store's webhook deliveries: each event stored
// with the state change that caused it, the due ones found for sending (a job's in order),
// and every attempt kept (GET /v1/jobs/{id}/deliveries).
#include <algorithm>
#include <nlohmann/json.hpp>

#include "serve/job_store.h"

namespace reelscale::serve {

namespace {

const char* const kDeliveryColumns =
    "id, job_id, event, url, body, created_unix_s, state, attempts, next_attempt_unix_s, finished_unix_s";

// A job's events go out in the order they happened: one waits while an earlier event of the
// same job (stored before it, in the transaction of its own state change) is still pending,
// retries included, so a receiver never sees job.succeeded before job.started.
const char* const kNoEarlierPending =
    "NOT EXISTS (SELECT 1 FROM deliveries e WHERE e.job_id = d.job_id AND e.state = 'pending' AND e.rowid < d.rowid)";

Delivery read_delivery(const Statement& s) {
  Delivery d;
  d.id = s.text(0);
  d.job_id = s.text(1);
  d.event = s.text(2);
  d.url = s.text(3);
  d.body = s.text(4);
  d.created_unix_s = s.real(5);
  d.state = s.text(6);
  d.attempts = static_cast<int>(s.integer(7));
  d.next_attempt_unix_s = s.real(8);
  d.finished_unix_s = s.real(9);
  return d;
}

}  // namespace

void JobStore::insert_delivery(const Delivery& event) {
  // The event's place among its job's events (data.sequence: 0, 1, 2, ...), fixed here, in the
  // transaction that stores it, so two events of one job never share a place.
  Statement earlier = db_.prepare("SELECT COUNT(*) FROM deliveries WHERE job_id = ?");
  earlier.bind(1, event.job_id);
  Delivery d = event;
  nlohmann::json body = nlohmann::json::parse(d.body, nullptr, false);
  if (earlier.step() && body.is_object() && body["data"].is_object()) {
    body["data"]["sequence"] = earlier.integer(0);
    d.body = body.dump();
  }
  db_.prepare(std::string("INSERT INTO deliveries (") + kDeliveryColumns + ") VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)")
      .bind(1, d.id)
      .bind(2, d.job_id)
      .bind(3, d.event)
      .bind(4, d.url)
      .bind(5, d.body)
      .bind(6, d.created_unix_s)
      .bind(7, d.state)
      .bind(8, static_cast<int64_t>(d.attempts))
      .bind(9, d.next_attempt_unix_s)
      .bind(10, d.finished_unix_s)
      .run();
}

bool JobStore::add_queued_event(const std::string& id, const Delivery& event) {
  const std::lock_guard lock(mutex_);
  Transaction t(db_);
  Statement queued = db_.prepare("SELECT 1 FROM jobs WHERE id = ? AND state = 'queued'");
  queued.bind(1, id);
  if (!queued.step()) return false;
  insert_delivery(event);
  t.commit();
  return true;
}

std::vector<Delivery> JobStore::due_deliveries(double now_unix_s, const std::vector<std::string>& busy, int limit) {
  const std::lock_guard lock(mutex_);
  Statement s = db_.prepare(std::string("SELECT ") + kDeliveryColumns +
                            " FROM deliveries d WHERE state = 'pending' AND next_attempt_unix_s <= ? AND " +
                            kNoEarlierPending + " ORDER BY next_attempt_unix_s LIMIT ?");
  s.bind(1, now_unix_s).bind(2, static_cast<int64_t>(limit + busy.size()));
  std::vector<Delivery> out;
  while (s.step() && static_cast<int>(out.size()) < limit) {
    Delivery d = read_delivery(s);
    if (std::find(busy.begin(), busy.end(), d.id) == busy.end()) out.push_back(std::move(d));
  }
  return out;
}

void JobStore::record_attempt(const Delivery& d, const DeliveryAttempt& a) {
  const std::lock_guard lock(mutex_);
  Transaction t(db_);
  db_.prepare("INSERT OR REPLACE INTO delivery_attempts (delivery_id, n, at_unix_s, status, error, seconds) "
              "VALUES (?, ?, ?, ?, ?, ?)")
      .bind(1, d.id)
      .bind(2, static_cast<int64_t>(a.n))
      .bind(3, a.at_unix_s)
      .bind(4, static_cast<int64_t>(a.status))
      .bind(5, a.error)
      .bind(6, a.seconds)
      .run();
  db_.prepare("UPDATE deliveries SET state = ?, attempts = ?, next_attempt_unix_s = ?, finished_unix_s = ? WHERE id = ?")
      .bind(1, d.state)
      .bind(2, static_cast<int64_t>(d.attempts))
      .bind(3, d.next_attempt_unix_s)
      .bind(4, d.finished_unix_s)
      .bind(5, d.id)
      .run();
  t.commit();
}

std::vector<std::pair<Delivery, std::vector<DeliveryAttempt>>> JobStore::deliveries_of(const std::string& job_id) {
  const std::lock_guard lock(mutex_);
  std::vector<std::pair<Delivery, std::vector<DeliveryAttempt>>> out;
  Statement s = db_.prepare(std::string("SELECT ") + kDeliveryColumns +
                            " FROM deliveries WHERE job_id = ? ORDER BY created_unix_s, rowid");
  s.bind(1, job_id);
  while (s.step()) out.push_back({read_delivery(s), {}});
  for (auto& [d, attempts] : out) {
    Statement a = db_.prepare("SELECT n, at_unix_s, status, error, seconds FROM delivery_attempts WHERE delivery_id = ? "
                              "ORDER BY n");
    a.bind(1, d.id);
    while (a.step()) {
      attempts.push_back({static_cast<int>(a.integer(0)), a.real(1), static_cast<int>(a.integer(2)), a.text(3), a.real(4)});
    }
  }
  return out;
}

double JobStore::next_delivery_due() {
  const std::lock_guard lock(mutex_);
  Statement s = db_.prepare(std::string("SELECT COALESCE(MIN(next_attempt_unix_s), 0) FROM deliveries d WHERE state = "
                                        "'pending' AND ") + kNoEarlierPending);
  s.step();
  return s.real(0);
}

}  // namespace reelscale::serve
