// serve/webhooks.cpp — building webhook events, and sending them with libcurl.
#include "serve/webhooks.h"

#include <curl/curl.h>
#include <spdlog/spdlog.h>

#include <algorithm>
#include <cmath>
#include <memory>
#include <nlohmann/json.hpp>
#include <random>

#include "common/random_hex.h"
#include "common/stopwatch.h"
#include "store/curl_handles.h"
#include "record/job_record.h"

namespace reelscale::serve {

namespace {

// The job's state and record summary, as the event's data.
// `sequence`: the event's place among its job's events, for receivers to order by; the store
// fixes it as it stores the event (JobStore::insert_delivery).
nlohmann::json event_data(const StoredJob& j) {
  const nlohmann::json plan = nlohmann::json::parse(j.plan_json, nullptr, false);
  const bool has_plan = plan.is_object();
  nlohmann::json d = {
      {"id", j.id},
      {"sequence", 0},
      {"state", j.state},
      {"endpoint", j.endpoint},
      {"labels", j.labels},
      {"created_unix_s", j.created_unix_s},
      {"started_unix_s", j.started_unix_s},
      {"finished_unix_s", j.finished_unix_s},
      {"profile_version", j.profile_version},
      {"policy_entry", has_plan ? plan.value("policy_entry", "") : ""},
      {"predicted", {{"wall_s", has_plan ? plan.value("wall_mean_s", 0.0) : 0.0},
                     {"cost_usd", has_plan ? plan.value("cost_usd", 0.0) : 0.0}}},
      {"output", j.state == "done" ? nlohmann::json(j.output) : nlohmann::json(nullptr)},
      {"error", j.error_kind.empty() ? nlohmann::json(nullptr)
                                     : nlohmann::json{{"kind", j.error_kind}, {"message", j.error_message}}},
  };
  if (j.finished()) {
    d["actual"] = {{"wall_s", j.wall_s}, {"cost_usd", j.cost_usd}, {"cloud_equivalent_usd", j.cloud_equivalent_usd},
                   {"billed_seconds", j.billed_seconds}, {"hardware", j.hardware}, {"clip_s", j.clip_s},
                   {"chunks", j.chunks_total}};
  }
  return d;
}

size_t discard_body(char*, size_t size, size_t n, void*) { return size * n; }

int abort_when_stopping(void* stopping, curl_off_t, curl_off_t, curl_off_t, curl_off_t) {
  return static_cast<const std::atomic<bool>*>(stopping)->load() ? 1 : 0;
}

}  // namespace

std::string finished_event_type(const std::string& state) {
  return state == "done" ? "job.succeeded" : state == "cancelled" ? "job.cancelled" : "job.failed";
}

Delivery webhook_event(const StoredJob& job, const std::string& type, const nlohmann::json& extra) {
  const double now_unix_s = record::unix_now();
  Delivery d;
  d.id = "msg_" + random_hex(16);
  d.job_id = job.id;
  d.event = type;
  d.url = job.webhook_url;
  nlohmann::json data = event_data(job);
  if (extra.is_object()) data.update(extra);
  d.body = nlohmann::json{{"type", type}, {"timestamp", record::utc_now_iso8601()}, {"data", data}}.dump();
  d.created_unix_s = now_unix_s;
  d.next_attempt_unix_s = now_unix_s;
  return d;
}

WebhookDeliverer::WebhookDeliverer(JobStore& store, access::WebhookSecrets secrets, WebhookOptions options,
                                   OutcomeCounter count)
    : store_(store), secrets_(std::move(secrets)), options_(std::move(options)), count_(std::move(count)) {
  for (int i = 0; i < std::max(1, options_.senders); ++i) senders_.emplace_back([this] { sender_main(); });
}

WebhookDeliverer::~WebhookDeliverer() {
  {
    std::lock_guard lock(mutex_);
    stopping_ = true;
  }
  wake_.notify_all();
  for (std::thread& t : senders_) t.join();
}

void WebhookDeliverer::wake() {
  {
    std::lock_guard lock(mutex_);
    new_events_ = true;
  }
  wake_.notify_one();
}

void WebhookDeliverer::sender_main() {
  while (true) {
    std::optional<Delivery> d;
    {
      std::unique_lock lock(mutex_);
      if (stopping_) return;
    }
    try {
      d = claim();
    } catch (const std::exception& e) {
      spdlog::error("webhooks: reading the pending deliveries failed: {}", e.what());
    }
    if (!d) {
      // Until the soonest retry is due (at most 2 s, so another sender's claim is seen), or
      // a new event is stored.
      double wait_s = 2;
      try {
        const double due = store_.next_delivery_due();
        if (due > 0) wait_s = std::clamp(due - record::unix_now(), 0.25, 2.0);
      } catch (const std::exception&) {
      }
      std::unique_lock lock(mutex_);
      wake_.wait_for(lock, std::chrono::duration<double>(wait_s), [&] { return stopping_.load() || new_events_; });
      new_events_ = false;
      continue;
    }
    try {
      deliver(*d);
    } catch (const std::exception& e) {
      spdlog::error("job {}: webhook {} not recorded: {}", d->job_id, d->id, e.what());
    }
    std::lock_guard lock(mutex_);
    busy_.erase(std::remove(busy_.begin(), busy_.end(), d->id), busy_.end());
  }
}

std::optional<Delivery> WebhookDeliverer::claim() {
  std::lock_guard lock(mutex_);
  std::vector<Delivery> due = store_.due_deliveries(record::unix_now(), busy_, 1);
  if (due.empty()) return std::nullopt;
  busy_.push_back(due.front().id);
  return due.front();
}

double WebhookDeliverer::back_off_s(int attempts) const {
  thread_local std::mt19937_64 rng{std::random_device{}()};
  const double gap = std::min(options_.max_retry_gap_s, options_.first_retry_s * std::pow(2.0, attempts - 1));
  return gap * std::uniform_real_distribution<double>(0.5, 1.0)(rng);  // jitter: receivers are not hit in step
}

void WebhookDeliverer::deliver(Delivery d) {
  const double now = record::unix_now();
  const Answer a = post(d, static_cast<int64_t>(now));
  {
    std::lock_guard lock(mutex_);
    if (stopping_ && a.status == 0) return;  // abandoned by the stop: still pending, resumed at the next start
  }
  ++d.attempts;
  const bool delivered = a.status >= 200 && a.status < 300;
  const bool retryable = a.status == 0 || a.status == 408 || a.status == 429 || a.status >= 500;
  const double next = record::unix_now() + back_off_s(d.attempts);
  if (delivered) {
    d.state = "delivered";
  } else if (!retryable || next > d.created_unix_s + options_.retry_for_s) {
    d.state = "failed";
  } else {
    d.next_attempt_unix_s = next;
  }
  if (d.state != "pending") d.finished_unix_s = record::unix_now();
  store_.record_attempt(d, DeliveryAttempt{d.attempts, now, a.status, a.error, a.seconds});
  if (count_) count_(d.state == "pending" ? "retrying" : d.state);
  const std::string answer = a.status > 0 ? "HTTP " + std::to_string(a.status) : a.error;
  if (delivered) {
    spdlog::info("job {}: webhook {} ({}) delivered on attempt {}", d.job_id, d.id, d.event, d.attempts);
  } else if (d.state == "failed") {
    spdlog::warn("job {}: webhook {} ({}) given up after {} attempt(s), last: {}", d.job_id, d.id, d.event, d.attempts, answer);
  } else {
    spdlog::info("job {}: webhook {} ({}) attempt {}: {}; next in {:.1f} s", d.job_id, d.id, d.event, d.attempts, answer,
                 d.next_attempt_unix_s - record::unix_now());
  }
}

WebhookDeliverer::Answer WebhookDeliverer::post(const Delivery& d, int64_t timestamp) const {
  Answer a;
  store::curl_global_once();
  const store::CurlPtr curl(curl_easy_init());
  if (!curl) return {0, "cannot create a curl handle", 0};
  CURL* c = curl.get();
  curl_slist* raw = curl_slist_append(nullptr, "Content-Type: application/json");
  raw = curl_slist_append(raw, ("webhook-id: " + d.id).c_str());
  raw = curl_slist_append(raw, ("webhook-timestamp: " + std::to_string(timestamp)).c_str());
  raw = curl_slist_append(raw, ("webhook-signature: " + secrets_.signature(d.id, timestamp, d.body)).c_str());
  raw = curl_slist_append(raw, "User-Agent: reelscale-webhooks/1");
  const store::SlistPtr headers(raw);
  curl_easy_setopt(c, CURLOPT_URL, d.url.c_str());
  curl_easy_setopt(c, CURLOPT_PROTOCOLS_STR, "http,https");
  curl_easy_setopt(c, CURLOPT_FOLLOWLOCATION, 0L);  // a redirect may not lead it past the allowlist
  curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
  curl_easy_setopt(c, CURLOPT_TIMEOUT_MS, static_cast<long>(options_.timeout_s * 1000));
  curl_easy_setopt(c, CURLOPT_CONNECTTIMEOUT_MS, static_cast<long>(std::min(options_.timeout_s, 5.0) * 1000));
  curl_easy_setopt(c, CURLOPT_HTTPHEADER, headers.get());
  curl_easy_setopt(c, CURLOPT_POSTFIELDS, d.body.c_str());
  curl_easy_setopt(c, CURLOPT_POSTFIELDSIZE_LARGE, static_cast<curl_off_t>(d.body.size()));
  curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, discard_body);
  curl_easy_setopt(c, CURLOPT_NOPROGRESS, 0L);
  curl_easy_setopt(c, CURLOPT_XFERINFOFUNCTION, abort_when_stopping);
  curl_easy_setopt(c, CURLOPT_XFERINFODATA, const_cast<std::atomic<bool>*>(&stopping_));
  const Stopwatch took;
  const CURLcode rc = curl_easy_perform(c);
  a.seconds = took.seconds();
  if (rc != CURLE_OK) {
    a.error = curl_easy_strerror(rc);
    return a;
  }
  long status = 0;
  curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &status);
  a.status = static_cast<int>(status);
  return a;
}

}  // namespace reelscale::serve
