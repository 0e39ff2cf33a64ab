// exec/store_source.cpp — block-cached ranged reads.
#include "exec/store_source.h"

#include <algorithm>
#include <cstring>

namespace reelscale::exec {

StoreByteSource::StoreByteSource(store::ObjectStore& store, std::string url, int64_t min_fetch, int64_t max_fetch,
                                 int cached_spans)
    : store_(store), url_(std::move(url)), min_fetch_(min_fetch), max_fetch_(max_fetch), next_fetch_(min_fetch),
      cached_spans_(static_cast<size_t>(cached_spans)) {}

int64_t StoreByteSource::size() {
  std::lock_guard lock(mutex_);
  if (size_ < 0) size_ = store_.head(url_).size;
  return size_;
}

const StoreByteSource::Span& StoreByteSource::span_at(int64_t pos) {
  for (auto it = cache_.begin(); it != cache_.end(); ++it) {
    if (pos >= it->offset && pos < it->offset + static_cast<int64_t>(it->data.size())) {
      cache_.splice(cache_.begin(), cache_, it);
      return cache_.front();
    }
  }
  // Sequential reading earns a longer read-ahead; a jump starts small again.
  next_fetch_ = pos == last_end_ ? std::min(max_fetch_, next_fetch_ * 2) : min_fetch_;
  Span s;
  s.offset = pos;
  const int64_t len = std::min(next_fetch_, size_ - pos);
  s.data.resize(static_cast<size_t>(std::max<int64_t>(0, len)));
  const int64_t got = len > 0 ? store_.get_range(url_, pos, len, s.data.data()) : 0;
  s.data.resize(static_cast<size_t>(got));
  fetched_ += got;
  last_end_ = pos + got;
  cache_.push_front(std::move(s));
  if (cache_.size() > cached_spans_) cache_.pop_back();
  return cache_.front();
}

int64_t StoreByteSource::read(int64_t offset, uint8_t* buffer, int64_t len) {
  std::lock_guard lock(mutex_);
  if (size_ < 0) size_ = store_.head(url_).size;
  int64_t done = 0;
  while (done < len && offset + done < size_) {
    const int64_t pos = offset + done;
    const Span& s = span_at(pos);
    const int64_t within = pos - s.offset;
    if (within >= static_cast<int64_t>(s.data.size())) break;
    const int64_t n = std::min<int64_t>(len - done, static_cast<int64_t>(s.data.size()) - within);
    std::memcpy(buffer + done, s.data.data() + within, static_cast<size_t>(n));
    done += n;
  }
  return done;
}

int64_t StoreByteSource::bytes_fetched() const {
  std::lock_guard lock(mutex_);
  return fetched_;
}

media::MediaSource media_source_for(store::ObjectStore& store, const std::string& url, const media::MediaLimits& limits) {
  if (auto path = store.local_path(url)) return media::MediaSource::local(path->string(), limits);
  media::MediaSource src;
  src.path = url;
  src.limits = limits;
  src.bytes = std::make_shared<StoreByteSource>(store, url);
  return src;
}

}  // namespace reelscale::exec
