// cli/main.cpp — the `reelscale` command: parses the command line (CLI11) and hands
// each subcommand to its module. Errors become a one-line message and an exit code.
#include <malloc.h>

#include <CLI/CLI.hpp>
#include <cstdio>
#include <cstdlib>
#include <iostream>
#include <string>
#include <utility>

#include "cli/commands.h"
#include "common/error.h"

extern "C" {
#include <libavutil/log.h>
}

int main(int argc, char** argv) {
  // libtorch on CPU loses ~4x when glibc returns each layer's buffers to the OS.
  mallopt(M_MMAP_THRESHOLD, 256 << 20);
  mallopt(M_TRIM_THRESHOLD, 1 << 30);
  mallopt(M_TOP_PAD, 256 << 20);

  // FFmpeg's own chatter stays out of the way unless asked for (REELSCALE_FFMPEG_LOG=info).
  av_log_set_level(getenv("REELSCALE_FFMPEG_LOG") ? av_log_get_level() : AV_LOG_ERROR);

  CLI::App app{"reelscale: chunked, cost-aware video processing for highlight reels"};
  app.require_subcommand(1);
  reelscale::cli::Commands commands(app);
  if (argc > 1 && argv[1][0] != '-') {
    std::string known;
    bool found = false;
    for (const CLI::App* c : std::as_const(app).get_subcommands([](const CLI::App*) { return true; })) {
      known += " " + c->get_name();
      found = found || c->get_name() == argv[1];
    }
    if (!found) {
      std::fprintf(stderr, "reelscale: unknown command '%s'; the commands are:%s\n", argv[1], known.c_str());
      return 2;
    }
  }
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    // --help and --version print and succeed; a bad command line is the caller's input at
    // fault: exit 2 like any bad input (CLI11's own codes, 106 and the like, are not ours).
    return app.exit(e) == 0 ? 0 : 2;
  }
  try {
    return commands.run();
  } catch (const reelscale::Error& e) {
    std::fprintf(stderr, "reelscale: error: %s\n", e.what());
    return reelscale::error_exit_code(e.kind());
  } catch (const std::exception& e) {
    std::fprintf(stderr, "reelscale: internal error: %s\n", e.what());
    return 1;
  }
}
