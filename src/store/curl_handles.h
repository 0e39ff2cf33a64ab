// store/curl_handles.h — RAII for libcurl's easy handles and header lists, and its
// one-time global initialisation: what every HTTP client here (S3, webhooks) uses.
#pragma once

#include <curl/curl.h>

#include <memory>
#include <mutex>

namespace reelscale::store {

struct CurlDeleter {
  void operator()(CURL* c) const { curl_easy_cleanup(c); }
};
struct SlistDeleter {
  void operator()(curl_slist* l) const { curl_slist_free_all(l); }
};
using CurlPtr = std::unique_ptr<CURL, CurlDeleter>;
using SlistPtr = std::unique_ptr<curl_slist, SlistDeleter>;

// curl_global_init, once per process, before the first handle.
inline void curl_global_once() {
  static std::once_flag once;
  std::call_once(once, [] { curl_global_init(CURL_GLOBAL_DEFAULT); });
}

}  // namespace reelscale::store
