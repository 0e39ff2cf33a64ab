// infer/state_dict.h — PyTorch weight files (`.pth`, the zip format torch.save writes)
// read and written without Python and without libtorch's pickle_load (which reads a
// collections.OrderedDict as None). Tensors come out as float32 in plain vectors, so
// this header stays free of libtorch.
#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <vector>

namespace reelscale::infer {

struct TensorData {
  std::vector<int64_t> shape;
  std::vector<float> values;  // contiguous, row-major
  int64_t numel() const;
};

using StateDict = std::map<std::string, TensorData>;

struct LoadedWeights {
  StateDict tensors;
  std::string source_key;  // "params_ema", "params" or "" (a bare state dict)
};

// Reads a .pth file. Prefers "params_ema" over "params" (Real-ESRGAN's releases hold one
// or both); a file whose top level is itself a name -> tensor dict works too. Throws
// Error(kNotFound) for a missing file and Error(kBadInput) naming the problem for a
// corrupt, legacy-format or tensor-less file.
LoadedWeights load_state_dict(const std::string& path);

// Writes `tensors` as torch.save({top_key: OrderedDict(tensors)}) would (float32
// storages), so tests and tools can make weight files torch.load reads too.
void save_state_dict(const std::string& path, const StateDict& tensors, const std::string& top_key = "params");

}  // namespace reelscale::infer
