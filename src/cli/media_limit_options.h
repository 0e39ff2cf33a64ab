// cli/media_limit_options.h — the decoding bounds the commands that open media share
// (--max-frame-pixels, --max-decode-memory); media/limits.h has the defaults and why.
#pragma once

#include <CLI/CLI.hpp>

#include "media/limits.h"

namespace reelscale::cli {

struct MediaLimitOptions {
  media::MediaLimits limits;

  void add_to(CLI::App* app) {
    app->add_option("--max-frame-pixels", limits.max_frame_pixels,
                    "Largest video frame decoded, in pixels (default: 8192x4320); larger inputs are refused")
        ->check(CLI::PositiveNumber)
        ->default_str(std::to_string(limits.max_frame_pixels));
    app->add_option("--max-decode-memory", limits.max_decode_bytes,
                    "Most memory one decoder may hold (20 frames), e.g. 2GiB, 512MiB (default: 2GiB)")
        ->transform(CLI::AsSizeValue(false))
        ->default_str("2GiB");
  }
};

}  // namespace reelscale::cli
