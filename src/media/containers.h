// media/containers.h — the container formats reelscale opens: those phones and cameras
// write (MP4/MOV and their 3GP kin, Matroska/WebM, MPEG-TS with AVCHD's M2TS). Every
// other demuxer is refused by name before a byte of a job is processed — playlists
// (HLS), manifests (DASH), lists (concat, ffconcat), image sequences and raw streams
// among them, since each can make FFmpeg open further files or URLs.
#pragma once

#include <string>

extern "C" {
#include <libavformat/avformat.h>
}

namespace reelscale::media {

// The demuxer names accepted, as FFmpeg's format_whitelist takes them.
const char* accepted_demuxers();
// True for a demuxer of an accepted family.
bool is_accepted_container(const AVInputFormat* format);
// Throws Error(kBadInput) naming the format found in `name` unless it is accepted.
void check_container(const AVInputFormat* format, const std::string& name);

}  // namespace reelscale::media
