// tests/support/sandbox_traps.cpp — the trap files, byte damage, and the two witnesses.
#include "sandbox_traps.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/inotify.h>
#include <sys/socket.h>
#include <unistd.h>

#include <fstream>
#include <iterator>
#include <random>
#include <stdexcept>

#include "test_media.h"

namespace fs = std::filesystem;

namespace reelscale::testing {

namespace {

void write_text(const fs::path& p, const std::string& text) { std::ofstream(p, std::ios::binary) << text; }

std::string hls(const std::string& entry) {
  return "#EXTM3U\n#EXT-X-VERSION:3\n#EXT-X-TARGETDURATION:2\n#EXT-X-MEDIA-SEQUENCE:0\n#EXTINF:2.0,\n" + entry +
         "\n#EXT-X-ENDLIST\n";
}

std::string dash(const std::string& base_url) {
  return "<?xml version=\"1.0\"?>\n"
         "<MPD xmlns=\"urn:mpeg:dash:schema:mpd:2011\" type=\"static\" mediaPresentationDuration=\"PT2S\" "
         "minBufferTime=\"PT1S\" profiles=\"urn:mpeg:dash:profile:isoff-on-demand:2011\">\n"
         " <Period><AdaptationSet mimeType=\"video/mp4\"><Representation id=\"v\" bandwidth=\"100000\" width=\"192\" "
         "height=\"108\"><BaseURL>" + base_url + "</BaseURL></Representation></AdaptationSet></Period>\n</MPD>\n";
}

}  // namespace

std::vector<Trap> make_traps(const fs::path& dir, const fs::path& secret, const std::string& http_base) {
  std::vector<Trap> traps;
  auto add = [&](const std::string& name, const std::string& file, const std::string& text, const std::string& refusal) {
    write_text(dir / file, text);
    traps.push_back({name, dir / file, refusal});
  };
  add("HLS playlist naming a path", "hls-plain.mp4", hls(secret.string()), "'hls'");
  add("HLS playlist naming a file: URL", "hls-file.mp4", hls("file://" + secret.string()), "'hls'");
  add("HLS playlist naming an http:// URL", "hls-http.mp4", hls(http_base + "/seg.ts"), "'hls'");
  add("ffconcat list", "concat.mp4", "ffconcat version 1.0\nfile '" + secret.string() + "'\n", "'concat'");
  add("DASH manifest naming a path", "dash-file.mp4", dash(secret.string()), "'dash'");
  add("DASH manifest naming an http:// URL", "dash-http.mp4", dash(http_base + "/seg.mp4"), "'dash'");
  const std::string png = "ffmpeg -v error -y -f lavfi -i color=c=red:s=64x64 -frames:v 1 " +
                          shell_quote((dir / "frame-001.png").string());
  if (run_command(png).status != 0) throw std::runtime_error("ffmpeg could not write a PNG");
  traps.push_back({"a still image", dir / "frame-001.png", "'png_pipe'"});
  traps.push_back({"an image-sequence pattern", dir / "frame-%03d.png", "not found"});
  return traps;
}

void damage_copy(const fs::path& from, const fs::path& to, int spots, int bytes, unsigned seed) {
  std::ifstream in(from, std::ios::binary);
  std::string data((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  const size_t media = data.find("mdat");
  if (media == std::string::npos) throw std::runtime_error(from.string() + " has no mdat box");
  std::mt19937 rng(seed);
  const size_t first = media + 1000, span = data.size() - first - static_cast<size_t>(bytes) - 400;
  for (int k = 0; k < spots; ++k) {
    const size_t at = first + span * static_cast<size_t>(k) / static_cast<size_t>(spots) + rng() % 300;
    for (int j = 0; j < bytes; ++j) data[at + static_cast<size_t>(j)] = static_cast<char>(rng() & 0xff);
  }
  std::ofstream(to, std::ios::binary) << data;
}

FolderWatch::FolderWatch(const fs::path& dir) {
  fd_ = inotify_init1(IN_NONBLOCK | IN_CLOEXEC);
  if (fd_ < 0 || inotify_add_watch(fd_, dir.c_str(), IN_OPEN | IN_ACCESS) < 0) {
    throw std::runtime_error("cannot watch " + dir.string());
  }
}

FolderWatch::~FolderWatch() {
  if (fd_ >= 0) ::close(fd_);
}

int FolderWatch::take_events() {
  alignas(inotify_event) char buffer[4096];
  int events = 0;
  while (true) {
    const ssize_t n = ::read(fd_, buffer, sizeof buffer);
    if (n <= 0) return events;
    for (ssize_t at = 0; at < n;) {
      const auto* e = reinterpret_cast<const inotify_event*>(buffer + at);
      ++events;
      at += static_cast<ssize_t>(sizeof(inotify_event) + e->len);
    }
  }
}

ConnectionCounter::ConnectionCounter() {
  listen_fd_ = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  socklen_t len = sizeof addr;
  if (listen_fd_ < 0 || ::bind(listen_fd_, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0 ||
      ::listen(listen_fd_, 16) != 0 || ::getsockname(listen_fd_, reinterpret_cast<sockaddr*>(&addr), &len) != 0) {
    throw std::runtime_error("cannot listen on loopback");
  }
  port_ = ntohs(addr.sin_port);
  thread_ = std::thread([this] {
    while (!stop_) {
      pollfd p{listen_fd_, POLLIN, 0};
      if (::poll(&p, 1, 100) <= 0) continue;
      const int c = ::accept(listen_fd_, nullptr, nullptr);
      if (c < 0) continue;
      ++connections_;
      ::close(c);
    }
  });
}

ConnectionCounter::~ConnectionCounter() {
  stop_ = true;
  thread_.join();
  ::close(listen_fd_);
}

TrapRoom::TrapRoom() {
  std::filesystem::create_directories(uploads);
  std::filesystem::create_directories(secret_dir);
  ClipSpec spec;
  spec.frames = 30;
  make_clip(secret_dir / "secret.ts", spec);
  traps = make_traps(uploads, secret_dir / "secret.ts", http.base_url());
  watch_ = std::make_unique<FolderWatch>(secret_dir);
}

}  // namespace reelscale::testing
