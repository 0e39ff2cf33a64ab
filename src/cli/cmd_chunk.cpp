// cli/cmd_chunk.cpp — `reelscale chunk TASK_URL`: runs one chunk task read from storage
// and stores its outcome beside it (exec/stored_task.h). What a batch scheduler's job
// (a Slurm array task) runs; SIGTERM (scancel, a time limit) stops it cleanly.
#include <unistd.h>

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <atomic>

#include "cli/commands.h"
#include "cli/media_limit_options.h"
#include "cli/model_options.h"
#include "cli/signals.h"
#include "common/cores.h"
#include "common/error.h"
#include "exec/stored_task.h"
#include "process/processors.h"

namespace reelscale::cli {

namespace {

// The node the task runs on: Slurm's name for it, else the host name.
std::string this_place() {
  if (const char* node = std::getenv("SLURMD_NODENAME"); node && *node) return node;
  char host[256] = {};
  return gethostname(host, sizeof host - 1) == 0 ? host : "unknown";
}

// The cores the scheduler gave the task, never more than the node's own (its CPU quota
// rounded up, on a quota node or in a container), else the node's.
int task_cores() {
  if (const char* cpus = std::getenv("SLURM_CPUS_PER_TASK"); cpus && std::atoi(cpus) > 0) {
    return std::min(std::atoi(cpus), machine_cores());
  }
  return machine_cores();
}

class ChunkCommand final : public Command {
 public:
  explicit ChunkCommand(CLI::App& parent) {
    app_ = parent.add_subcommand("chunk", "Run one chunk task stored at TASK_URL; its outcome goes beside it "
                                          "(TASK.result.json). What a Slurm array task runs");
    app_->add_option("task", task_url_, "The task's JSON (a local path or an s3:// URL)")->required();
    app_->add_option("--scratch", scratch_, "Folder for the chunk file before upload");
    app_->add_option("--place", place_, "Name of this node in the record (default: $SLURMD_NODENAME or the host name)");
    models_.add_to(app_);
    limits_.add_to(app_);
  }
  CLI::App* app() const override { return app_; }
  int run() override {
    std::atomic<bool> cancel{false};
    SignalWatcher signals([&](int) { cancel = true; });
    store::ObjectStore store;
    process::Processors processors(models_.resolve());
    processors.set_cpu_threads(task_cores());
    const exec::StoredOutcome outcome =
        exec::run_stored_task(task_url_, processors.maker(), store, scratch_.empty() ? std::filesystem::temp_directory_path() : std::filesystem::path(scratch_),
                              limits_.limits, place_.empty() ? this_place() : place_, &cancel);
    if (outcome.ok) {
      std::printf("chunk %d: %lld frames -> %s\n", outcome.chunk.index, static_cast<long long>(outcome.chunk.frames),
                  outcome.chunk.output.c_str());
      return 0;
    }
    std::fprintf(stderr, "reelscale chunk: %s: %s\n", outcome.error_kind.c_str(), outcome.message.c_str());
    return error_exit_code(error_kind_from_name(outcome.error_kind));
  }

 private:
  CLI::App* app_;
  std::string task_url_, scratch_, place_;
  ModelOptions models_;
  MediaLimitOptions limits_;
};

}  // namespace

std::unique_ptr<Command> make_chunk_command(CLI::App& parent) { return std::make_unique<ChunkCommand>(parent); }

}  // namespace reelscale::cli
