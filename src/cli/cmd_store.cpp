// cli/cmd_store.cpp — `reelscale store put|get|ls|rm|mb|gc`: the object store from the
// shell (the same code paths jobs use; credentials from the AWS_* variables). `gc FOLDER`
// removes what killed jobs left there (job/temporaries.h).
#include <cstdio>

#include "cli/commands.h"
#include "common/error.h"
#include "job/temporaries.h"
#include "store/store.h"

namespace reelscale::cli {

namespace {

class StoreCommand final : public Command {
 public:
  explicit StoreCommand(CLI::App& parent) {
    app_ = parent.add_subcommand("store", "Objects by URL: put, get, ls, rm, mb (make bucket), gc (leftovers of killed jobs)");
    app_->add_option("action", action_, "put LOCAL URL | get URL LOCAL | ls PREFIX | rm URL | mb BUCKET | gc FOLDER")->required();
    app_->add_option("args", args_, "Arguments of the action");
    app_->add_option("--older-than", bounds_.dead_owner_age_s, "gc: seconds a dead local job's leftovers must have aged");
    app_->add_option("--unknown-older-than", bounds_.unknown_owner_age_s,
                     "gc: seconds leftovers of another host's or an unknown job must have aged");
  }
  CLI::App* app() const override { return app_; }
  int run() override {
    store::ObjectStore s;
    auto need = [&](size_t n) {
      if (args_.size() != n) fail(ErrorKind::kBadInput, "store " + action_ + " takes " + std::to_string(n) + " argument(s)");
    };
    if (action_ == "put") {
      need(2);
      s.put_file(args_[0], args_[1]);
    } else if (action_ == "get") {
      need(2);
      s.get_to_file(args_[0], args_[1]);
    } else if (action_ == "ls") {
      need(1);
      for (const auto& o : s.list(args_[0])) std::printf("%12lld  %s\n", static_cast<long long>(o.size), o.url.c_str());
    } else if (action_ == "rm") {
      need(1);
      s.remove(args_[0]);
    } else if (action_ == "mb") {
      need(1);
      s.create_bucket(args_[0]);
    } else if (action_ == "gc") {
      need(1);
      const job::SweepReport r = job::remove_stale_temporaries(s, args_[0], bounds_);
      for (const auto& p : r.removed) std::printf("removed  %s\n", p.c_str());
      for (const auto& p : r.kept) std::printf("kept     %s (its job is live or too recent)\n", p.c_str());
      std::printf("%zu removed, %zu kept, %d unfinished upload(s) aborted\n", r.removed.size(), r.kept.size(),
                  r.aborted_uploads);
    } else {
      fail(ErrorKind::kBadInput, "unknown store action '" + action_ + "' (put, get, ls, rm, mb, gc)");
    }
    return 0;
  }

 private:
  CLI::App* app_;
  std::string action_;
  std::vector<std::string> args_;
  job::StaleBounds bounds_;
};

}  // namespace

std::unique_ptr<Command> make_store_command(CLI::App& parent) { return std::make_unique<StoreCommand>(parent); }

}  // namespace reelscale::cli
