// exec/node_ledger.h — the bill of a batch cluster's elastic nodes, from what was observed:
// each node's period from its resume (a task found it booting) to its suspend (seen
// powering down), and the tasks that held it. When a period closes, every second of it no
// task held is charged to a job: the idle time after a task (the idle tail above all) to
// the job whose task ran last before it, and any idle time before the first task to that
// task's job. A job's tasks are billed their own held time (boot included, for the task
// that waited for it) when they end; these idle charges come later, once the node is
// seen suspended. Pure bookkeeping: no Slurm, no clock.
#pragma once

#include <map>
#include <string>
#include <vector>

namespace reelscale::exec {

struct IdleCharge {
  std::string job_id;
  std::string node;
  double seconds = 0;
  double tail_s = 0;  // of them, the idle tail: the node's last task to its suspend (the last job's charge only)
};

class NodeLedger {
 public:
  // The node began to boot at `at_unix_s` (a period opens; a repeat while open is ignored).
  void resumed(const std::string& node, double at_unix_s);
  // A task of `job_id` held the node over [start, end] (boot included when it waited for it).
  void held(const std::string& node, const std::string& job_id, double start_unix_s, double end_unix_s);
  std::vector<std::string> open_nodes() const;
  // The node was seen suspended at `at_unix_s`: its period closes and its unheld seconds are
  // charged, at most one charge per job.
  std::vector<IdleCharge> suspended(const std::string& node, double at_unix_s);

 private:
  struct Hold {
    std::string job_id;
    double start = 0, end = 0;
  };
  struct Period {
    double resumed = 0;
    std::vector<Hold> holds;
  };
  std::map<std::string, Period> periods_;
};

}  // namespace reelscale::exec
