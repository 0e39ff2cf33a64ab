// common/random_hex.h — identifiers from the system's random device: `bytes` random
// bytes as lower-case hex (job ids, Slurm run names, webhook message ids).
#pragma once

#include <string>

namespace reelscale {

std::string random_hex(int bytes);

}  // namespace reelscale
