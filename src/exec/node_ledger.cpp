// exec/node_ledger.cpp — closing a node's period into idle charges.
#include "exec/node_ledger.h"

#include <algorithm>

namespace reelscale::exec {

void NodeLedger::resumed(const std::string& node, double at_unix_s) {
  if (!periods_.count(node)) periods_[node].resumed = at_unix_s;
}

void NodeLedger::held(const std::string& node, const std::string& job_id, double start_unix_s, double end_unix_s) {
  const auto it = periods_.find(node);
  if (it == periods_.end() || end_unix_s <= start_unix_s) return;  // an always-on node: no period to share
  it->second.holds.push_back({job_id, start_unix_s, end_unix_s});
}

std::vector<std::string> NodeLedger::open_nodes() const {
  std::vector<std::string> out;
  for (const auto& [node, period] : periods_) out.push_back(node);
  return out;
}

std::vector<IdleCharge> NodeLedger::suspended(const std::string& node, double at_unix_s) {
  const auto it = periods_.find(node);
  if (it == periods_.end()) return {};
  Period period = std::move(it->second);
  periods_.erase(it);
  if (period.holds.empty()) return {};  // booted for a task that never held it: nobody to charge
  std::sort(period.holds.begin(), period.holds.end(), [](const Hold& a, const Hold& b) { return a.start < b.start; });
  std::map<std::string, double> idle;
  // Before the first hold: its job's (it made the node resume).
  idle[period.holds.front().job_id] += std::max(0.0, period.holds.front().start - period.resumed);
  // Each gap after a hold: the job of the hold that ended last before it.
  double covered_to = period.holds.front().start;
  std::string last_job = period.holds.front().job_id;
  for (const Hold& h : period.holds) {
    if (h.start > covered_to) idle[last_job] += h.start - covered_to;
    if (h.end >= covered_to) {
      covered_to = h.end;
      last_job = h.job_id;
    }
  }
  const double tail = std::max(0.0, at_unix_s - covered_to);
  idle[last_job] += tail;
  std::vector<IdleCharge> out;
  for (const auto& [job, seconds] : idle) {
    if (seconds > 0) out.push_back({job, node, seconds, job == last_job ? tail : 0.0});
  }
  return out;
}

}  // namespace reelscale::exec
