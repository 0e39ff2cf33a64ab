// serve/webhooks.h — webhook events of the job service, to the Standard Webhooks 1.0
// convention: job.started, job.succeeded, job.failed and job.cancelled, each stored with
// the state change that caused it (serve/job_store.h), then sent by a few sender threads
// with the webhook-id, webhook-timestamp and webhook-signature headers. Timeouts, refused
// connections, 5xx, 408 and 429 are retried with exponential back-off and jitter until the
// event is `retry_for_s` old; any other answer ends it as failed. A 2xx ends it as
// delivered, so a receiver that answers 2xx gets each event once. A restarted service
// resumes the pending ones; a receiver that hangs holds one sender for `timeout_s`, never
// a job.
#pragma once

#include <atomic>
#include <condition_variable>
#include <functional>
#include <mutex>
#include <optional>
#include <nlohmann/json.hpp>
#include <string>
#include <thread>
#include <vector>

#include "access/webhooks.h"
#include "serve/job_store.h"

namespace reelscale::serve {

struct WebhookOptions {
  std::vector<std::string> allow;   // --webhook-allow prefixes
  std::string secret_file;          // --webhook-secret-file
  double timeout_s = 10;            // one attempt, connection included
  double first_retry_s = 5;         // the first back-off; doubled each attempt
  double max_retry_gap_s = 3600;    // the longest back-off
  double retry_for_s = 24 * 3600;   // after this long an event is given up (failed)
  int senders = 4;
};

// The event for a job's state: its id, the signed body ({"type", "timestamp", "data"}:
// the job's state and record summary, with `extra`'s fields) and its first attempt due now.
Delivery webhook_event(const StoredJob& job, const std::string& type, const nlohmann::json& extra = nullptr);
// The event type of a finished job's state: done -> job.succeeded, and so on.
std::string finished_event_type(const std::string& state);

class WebhookDeliverer {
 public:
  // `count` is told each attempt's outcome: delivered, retrying or failed (given up).
  using OutcomeCounter = std::function<void(const std::string& outcome)>;
  WebhookDeliverer(JobStore& store, access::WebhookSecrets secrets, WebhookOptions options, OutcomeCounter count);
  ~WebhookDeliverer();  // stops the senders; an attempt in flight is abandoned, still pending
  WebhookDeliverer(const WebhookDeliverer&) = delete;
  WebhookDeliverer& operator=(const WebhookDeliverer&) = delete;
  void wake();  // an event was stored

 private:
  struct Answer {
    int status = 0;
    std::string error;
    double seconds = 0;
  };
  void sender_main();
  std::optional<Delivery> claim();
  void deliver(Delivery d);
  Answer post(const Delivery& d, int64_t timestamp) const;
  double back_off_s(int attempts) const;

  JobStore& store_;
  access::WebhookSecrets secrets_;
  WebhookOptions options_;
  OutcomeCounter count_;
  std::mutex mutex_;
  std::condition_variable wake_;
  std::atomic<bool> stopping_{false};  // set under mutex_ (the senders wait on it); read by curl's progress callback
  bool new_events_ = false;        // wake() was called since a sender last looked
  std::vector<std::string> busy_;  // deliveries a sender holds now
  std::vector<std::thread> senders_;
};

}  // namespace reelscale::serve
