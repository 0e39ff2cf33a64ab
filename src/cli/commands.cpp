// cli/commands.cpp — builds the subcommand set and dispatches to the chosen one.
#include "cli/commands.h"

namespace reelscale::cli {

Commands::Commands(CLI::App& app) {
  commands_.push_back(make_probe_command(app));
  commands_.push_back(make_process_command(app));
  commands_.push_back(make_plan_command(app));
  commands_.push_back(make_thresholds_command(app));
  commands_.push_back(make_simulate_command(app));
  commands_.push_back(make_report_command(app));
  commands_.push_back(make_run_command(app));
  commands_.push_back(make_worker_command(app));
  commands_.push_back(make_profile_command(app));
  commands_.push_back(make_store_command(app));
  commands_.push_back(make_calibrate_command(app));
}

Commands::~Commands() = default;

int Commands::run() {
  for (auto& c : commands_) {
    if (c->app()->parsed()) return c->run();
  }
  return 2;
}

}  // namespace reelscale::cli
