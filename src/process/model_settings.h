// process/model_settings.h — where models are found and how networks run; plain data the
// command line fills in (torch-free).
#pragma once

#include <string>

#include "infer/options.h"

namespace reelscale::process {

struct ModelSettings {
  std::string models_dir;          // empty: default_models_dir()
  infer::SrOptions sr;             // device, precision, tiling
  int batch = 0;                   // frames per network call; 0: 1 on CPU, 4 on CUDA
  std::string detector = "yolo-fastest-1.1_body.cfg";  // a name in the models folder or a path
  infer::DetectorEngine detector_engine = infer::DetectorEngine::kAuto;
};

}  // namespace reelscale::process
