// process/keyframes.cpp — easing names.
#include "process/keyframes.h"

#include "common/error.h"

namespace reelscale::process {

Easing parse_easing(const std::string& text) {
  if (text == "linear") return Easing::kLinear;
  if (text == "eased" || text == "ease" || text == "ease-in-out") return Easing::kEased;
  fail(ErrorKind::kBadInput, "easing '" + text + "' is not one of linear, eased");
}

const char* easing_name(Easing e) { return e == Easing::kLinear ? "linear" : "eased"; }

}  // namespace reelscale::process
