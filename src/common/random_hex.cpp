// common/random_hex.cpp — random bytes as hex.
#include "common/random_hex.h"

#include <random>

namespace reelscale {

std::string random_hex(int bytes) {
  std::random_device rd;
  static const char* const kHex = "0123456789abcdef";
  std::string out;
  for (int i = 0; i < bytes; ++i) {
    const unsigned v = rd() & 0xff;
    out += kHex[v >> 4];
    out += kHex[v & 15];
  }
  return out;
}

}  // namespace reelscale
