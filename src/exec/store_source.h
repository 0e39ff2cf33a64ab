// exec/store_source.h — a media::ByteSource over the object store: the demuxer reads an
// S3 object by ranged GETs, so a worker fetches the parts of the input it decodes rather
// than the whole file. Read-ahead starts small (a seek lands anywhere) and doubles while
// reads stay sequential, up to a few MB, so a long sequential read (the probe) needs few
// requests; a few spans stay cached.
#pragma once

#include <cstdint>
#include <list>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "media/input.h"
#include "store/store.h"

namespace reelscale::exec {

class StoreByteSource final : public media::ByteSource {
 public:
  StoreByteSource(store::ObjectStore& store, std::string url, int64_t min_fetch = 64 << 10, int64_t max_fetch = 4 << 20,
                  int cached_spans = 8);
  int64_t size() override;
  int64_t read(int64_t offset, uint8_t* buffer, int64_t len) override;
  std::string name() const override { return url_; }
  int64_t bytes_fetched() const;

 private:
  struct Span {
    int64_t offset;
    std::vector<uint8_t> data;
  };
  const Span& span_at(int64_t pos);

  store::ObjectStore& store_;
  std::string url_;
  int64_t size_ = -1;
  int64_t min_fetch_, max_fetch_, next_fetch_;
  int64_t last_end_ = -1;
  size_t cached_spans_;
  std::list<Span> cache_;  // most recent first
  int64_t fetched_ = 0;
  mutable std::mutex mutex_;
};

// A MediaSource for a URL, with the bounds its decoding keeps: the path itself when
// local, else a StoreByteSource.
media::MediaSource media_source_for(store::ObjectStore& store, const std::string& url,
                                    const media::MediaLimits& limits = {});

}  // namespace reelscale::exec
