// cli/commands.h — the subcommands of `reelscale`. Each command's options live in the
// Commands object main() creates (no global state); run() executes the one chosen.
#pragma once

#include <CLI/CLI.hpp>
#include <memory>
#include <string>

namespace reelscale::cli {

class Command {
 public:
  virtual ~Command() = default;
  virtual CLI::App* app() const = 0;
  virtual int run() = 0;
};

class Commands {
 public:
  explicit Commands(CLI::App& app);
  ~Commands();
  // Runs the subcommand the user chose; returns the exit code.
  int run();

 private:
  std::vector<std::unique_ptr<Command>> commands_;
};

// "HOST:PORT" of a --listen option (Error kBadInput naming the option otherwise).
void parse_listen(const std::string& listen, std::string& host, int& port);

// Each command file provides one factory.
std::unique_ptr<Command> make_probe_command(CLI::App& parent);
std::unique_ptr<Command> make_process_command(CLI::App& parent);
std::unique_ptr<Command> make_plan_command(CLI::App& parent);
std::unique_ptr<Command> make_thresholds_command(CLI::App& parent);
std::unique_ptr<Command> make_simulate_command(CLI::App& parent);
std::unique_ptr<Command> make_report_command(CLI::App& parent);
std::unique_ptr<Command> make_run_command(CLI::App& parent);
std::unique_ptr<Command> make_worker_command(CLI::App& parent);
std::unique_ptr<Command> make_chunk_command(CLI::App& parent);
std::unique_ptr<Command> make_serve_command(CLI::App& parent);
std::unique_ptr<Command> make_profile_command(CLI::App& parent);
std::unique_ptr<Command> make_startup_age_command(CLI::App& parent);
std::unique_ptr<Command> make_cores_command(CLI::App& parent);
std::unique_ptr<Command> make_store_command(CLI::App& parent);
std::unique_ptr<Command> make_calibrate_command(CLI::App& parent);

}  // namespace reelscale::cli
