// cli/executor_options.h — which executor `run` and `serve` dispatch chunks through
// (--executor local | remote | slurm) and the Slurm cluster file (--cluster).
#pragma once

#include <CLI/CLI.hpp>
#include <memory>
#include <string>

#include "common/error.h"
#include "exec/slurm_executor.h"

namespace reelscale::cli {

struct ExecutorOptions {
  std::string kind;          // "" : remote when workers are given, else local
  std::string cluster_file;

  void add_to(CLI::App* app) {
    app->add_option("--executor", kind,
                    "Where chunks run: local (slots here), remote (--workers), slurm (--cluster); "
                    "default: remote when --workers is given, else local")
        ->check(CLI::IsMember({"local", "remote", "slurm"}));
    app->add_option("--cluster", cluster_file, "Cluster file for --executor slurm (deploy/slurm/README.md)");
  }

  // The executor chosen, given whether worker URLs were named.
  std::string chosen(bool have_workers) const {
    const std::string k = !kind.empty() ? kind : have_workers ? "remote" : "local";
    if (k == "remote" && !have_workers) fail(ErrorKind::kBadInput, "--executor remote needs --workers");
    if (k == "slurm" && cluster_file.empty()) {
      fail(ErrorKind::kBadInput, "--executor slurm needs --cluster FILE: the classes, partitions and prices of the cluster "
                                 "(deploy/slurm/README.md; scripts/slurm-cluster.sh start DIR writes DIR/cluster.json for "
                                 "the cluster it starts)");
    }
    return k;
  }

  std::unique_ptr<exec::Executor> make_slurm(const std::string& hardware, const exec::AttemptPolicy& attempts,
                                             store::ObjectStore& store) const {
    exec::SlurmOptions slurm;
    slurm.cluster = exec::read_cluster_file(cluster_file);
    slurm.hardware = hardware;
    slurm.attempts = attempts;
    return std::make_unique<exec::SlurmExecutor>(slurm, store);
  }
};

}  // namespace reelscale::cli
