// cli/commands.cpp — builds the subcommand set and dispatches to the chosen one.
#include "cli/commands.h"

#include "common/error.h"

namespace reelscale::cli {

void parse_listen(const std::string& listen, std::string& host, int& port) {
  const auto colon = listen.rfind(':');
  if (colon == std::string::npos) fail(ErrorKind::kBadInput, "--listen needs HOST:PORT, got '" + listen + "'");
  host = listen.substr(0, colon);
  try {
    size_t used = 0;
    const std::string digits = listen.substr(colon + 1);
    port = std::stoi(digits, &used);
    if (used != digits.size() || port < 0 || port > 65535) throw std::invalid_argument(digits);
  } catch (const std::exception&) {
    fail(ErrorKind::kBadInput, "--listen port is not a port number: '" + listen + "'");
  }
}

Commands::Commands(CLI::App& app) {
  commands_.push_back(make_probe_command(app));
  commands_.push_back(make_process_command(app));
  commands_.push_back(make_plan_command(app));
  commands_.push_back(make_thresholds_command(app));
  commands_.push_back(make_simulate_command(app));
  commands_.push_back(make_report_command(app));
  commands_.push_back(make_run_command(app));
  commands_.push_back(make_worker_command(app));
  commands_.push_back(make_chunk_command(app));
  commands_.push_back(make_serve_command(app));
  commands_.push_back(make_profile_command(app));
  commands_.push_back(make_startup_age_command(app));
  commands_.push_back(make_cores_command(app));
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
