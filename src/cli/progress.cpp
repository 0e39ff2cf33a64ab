// cli/progress.cpp — terminal bar and log-line progress.
#include "cli/progress.h"

#include <unistd.h>

#include <cstdio>

namespace reelscale::cli {

ProgressDisplay::ProgressDisplay(std::string label)
    : label_(std::move(label)), terminal_(isatty(STDERR_FILENO) != 0) {}

void ProgressDisplay::update(int64_t done, int64_t total) {
  std::lock_guard lock(mutex_);
  const double elapsed = since_start_.seconds();
  const double fps = elapsed > 0 ? done / elapsed : 0;
  const double eta = fps > 0 ? (total - done) / fps : 0;
  const int percent = total > 0 ? static_cast<int>(100 * done / total) : 0;
  if (terminal_) {
    if (done < total && since_draw_.seconds() < 0.1) return;
    since_draw_.restart();
    constexpr int kWidth = 30;
    const int filled = total > 0 ? static_cast<int>(kWidth * done / total) : 0;
    std::string bar(filled, '#');
    bar.resize(kWidth, '.');
    std::fprintf(stderr, "\r%s [%s] %3d%% %lld/%lld frames  %.1f fps  ETA %.0fs ", label_.c_str(), bar.c_str(),
                 percent, static_cast<long long>(done), static_cast<long long>(total), fps, eta);
    drawn_ = true;
  } else if (percent / 10 != last_percent_logged_ / 10 || done == total) {
    if (percent == last_percent_logged_) return;
    last_percent_logged_ = percent;
    std::fprintf(stderr, "%s: %d%% (%lld/%lld frames, %.1f fps, ETA %.0f s)\n", label_.c_str(), percent,
                 static_cast<long long>(done), static_cast<long long>(total), fps, eta);
  }
}

void ProgressDisplay::finish() {
  std::lock_guard lock(mutex_);
  if (terminal_ && drawn_) std::fprintf(stderr, "\n");
}

}  // namespace reelscale::cli
