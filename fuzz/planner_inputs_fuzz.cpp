// fuzz/planner_inputs_fuzz.cpp — the profile, price-table, platform and policy parsers
// (the first byte picks which), and a plan from a parsed profile.
#include <nlohmann/json.hpp>

#include "fuzz_input.h"
#include "plan/inputs.h"
#include "plan/planner.h"

using namespace reelscale::plan;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size < 1) return 0;
  const nlohmann::json j = nlohmann::json::parse(reelscale::fuzz::as_text(data + 1, size - 1), nullptr, false);
  if (j.is_discarded()) return 0;
  reelscale::fuzz::refuse_cleanly([&] {
    switch (data[0] % 4) {
      case 0: {
        const Profile profile = parse_profile(j);
        (void)profile.version();
        const PriceTable prices = default_prices();
        const Platform platform = Platform::local(2, 2);
        const Policy policy;
        for (const auto& [endpoint, cells] : profile.cells) {
          const Planner planner(profile, prices, platform, policy);
          if (!planner.hardware(endpoint).empty()) (void)planner.plan(JobShape::of_length(endpoint, 3));
        }
        break;
      }
      case 1: (void)to_json(parse_prices(j)); break;
      case 2: (void)to_json(parse_platform(j)); break;
      default: (void)to_json(parse_policy(j)); break;
    }
  });
  return 0;
}
