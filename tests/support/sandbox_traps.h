// tests/support/sandbox_traps.h — inputs that try to make reelscale read outside the
// allowed folders (playlists, manifests, lists, image sequences pointing at a secret
// file or at a loopback HTTP server), and the witnesses that tell whether anything was
// read: an inotify watch on the secret's folder and a listener that counts connections.
#pragma once

#include <atomic>
#include <filesystem>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "test_media.h"

namespace reelscale::testing {

struct Trap {
  std::string name;             // what it tries, for messages
  std::filesystem::path path;   // the input to hand to reelscale
  std::string refusal;          // a part of the expected error message
};

// Writes the traps into `dir`: HLS playlists naming `secret` plainly, as file:// and as
// `http_base` + "/seg.ts", an ffconcat list, a DASH manifest (file and http), a PNG and a
// %03d image-sequence pattern. All named like videos (.mp4) where a name can be chosen.
std::vector<Trap> make_traps(const std::filesystem::path& dir, const std::filesystem::path& secret,
                             const std::string& http_base);

// Copies `from` to `to` with `spots` runs of `bytes` random bytes written over its
// media data (after the first 'mdat'), spread evenly: a phone clip with damaged bytes.
void damage_copy(const std::filesystem::path& from, const std::filesystem::path& to, int spots, int bytes,
                 unsigned seed = 3);

// Counts the opens and reads of files in a folder (inotify IN_OPEN | IN_ACCESS).
class FolderWatch {
 public:
  explicit FolderWatch(const std::filesystem::path& dir);
  ~FolderWatch();
  FolderWatch(const FolderWatch&) = delete;
  FolderWatch& operator=(const FolderWatch&) = delete;
  // Events since the last call.
  int take_events();

 private:
  int fd_ = -1;
};

// A loopback TCP listener that accepts and counts connections (and closes them).
class ConnectionCounter {
 public:
  ConnectionCounter();
  ~ConnectionCounter();
  ConnectionCounter(const ConnectionCounter&) = delete;
  ConnectionCounter& operator=(const ConnectionCounter&) = delete;
  std::string base_url() const { return "http://127.0.0.1:" + std::to_string(port_); }
  int connections() const { return connections_.load(); }

 private:
  int listen_fd_ = -1;
  int port_ = 0;
  std::atomic<bool> stop_{false};
  std::atomic<int> connections_{0};
  std::thread thread_;
};

// What the sandbox tests share: under a fresh folder, `uploads` laid with the traps and
// `private` beside it holding the secret (a real MPEG-TS clip) under a watch, and a
// loopback listener the traps name.
class TrapRoom {
  TempDir dir_;  // first: the paths below are made from it

 public:
  TrapRoom();
  const std::filesystem::path& root() const { return dir_.path(); }
  const std::filesystem::path uploads = dir_ / "uploads";
  const std::filesystem::path secret_dir = dir_ / "private";
  ConnectionCounter http;
  std::vector<Trap> traps;
  FolderWatch& watch() { return *watch_; }

 private:
  std::unique_ptr<FolderWatch> watch_;
};

}  // namespace reelscale::testing
