// common/subprocess.h — running a program and collecting what it printed: the argument
// vector goes to the program as is (no shell), stdin is empty, and stdout and stderr come
// back whole. For short control commands (Slurm's sbatch, squeue, scancel), not for media.
#pragma once

#include <string>
#include <vector>

namespace reelscale {

struct CommandResult {
  int exit_code = -1;   // the program's status; 127 when it could not be started
  std::string out;
  std::string err;
};

// Runs argv[0] (looked up on PATH) with `argv`, waits for it, and returns what it printed.
// Error(kUnavailable) when it cannot be started at all.
CommandResult run_command(const std::vector<std::string>& argv);

}  // namespace reelscale
