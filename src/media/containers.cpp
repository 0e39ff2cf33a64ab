// media/containers.cpp — the accepted demuxers and the refusal naming the format found.
#include "media/containers.h"

#include <cstring>

#include "common/error.h"

namespace reelscale::media {

namespace {

struct Family {
  const char* demuxer;  // FFmpeg's demuxer name
  const char* label;    // what users call it
};

constexpr Family kAccepted[] = {
    {"mov,mp4,m4a,3gp,3g2,mj2", "MP4/MOV"},
    {"matroska,webm", "Matroska/WebM"},
    {"mpegts", "MPEG-TS"},
};

}  // namespace

const char* accepted_demuxers() { return "mov,mp4,m4a,3gp,3g2,mj2,matroska,webm,mpegts"; }

bool is_accepted_container(const AVInputFormat* format) {
  if (!format || !format->name) return false;
  for (const Family& f : kAccepted) {
    if (std::strcmp(format->name, f.demuxer) == 0) return true;
  }
  return false;
}

void check_container(const AVInputFormat* format, const std::string& name) {
  if (is_accepted_container(format)) return;
  std::string accepted;
  for (const Family& f : kAccepted) accepted += std::string(accepted.empty() ? "" : ", ") + f.label;
  const std::string found = format && format->name ? format->name : "unknown";
  const std::string long_name = format && format->long_name ? std::string(" (") + format->long_name + ")" : "";
  fail(ErrorKind::kBadInput, "the container of " + name + " is '" + found + "'" + long_name +
                                 ", which reelscale does not open: it accepts " + accepted +
                                 " (playlists, manifests, lists, image sequences and raw streams are refused)");
}

}  // namespace reelscale::media
