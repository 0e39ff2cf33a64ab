// plan/prices.cpp — what containers cost: a price table's per-second prices, and the
// built-in one (Modal's published prices).
#include "plan/inputs.h"

#include "common/error.h"

namespace reelscale::plan {

bool PriceTable::known(const std::string& hw) const { return hw == "CPU" || gpu_per_second.count(hw); }

double PriceTable::container_per_second(const std::string& hw, double cores) const {
  if (hw == "CPU") return cpu_container_cores * cpu_core_per_second + cpu_container_memory_gib * memory_gib_per_second;
  auto it = gpu_per_second.find(hw);
  if (it == gpu_per_second.end()) fail(ErrorKind::kBadInput, "the price table has no price for '" + hw + "'");
  const double held = cores > 0 ? cores : default_cores(hw);
  return it->second + held * core_per_second(hw) + gpu_container_memory_gib * memory_gib_per_second;
}

double PriceTable::core_per_second(const std::string& hw) const {
  const auto range = core_ranges.find(hw);
  return range != core_ranges.end() ? range->second.per_core_second : cpu_core_per_second;
}

double PriceTable::default_cores(const std::string& hw) const {
  const auto range = core_ranges.find(hw);
  return range != core_ranges.end() && !range->second.options.empty() ? range->second.options.back() : gpu_container_cores;
}

double PriceTable::orchestrator_per_second() const {
  return orchestrator_cores * cpu_core_per_second + orchestrator_memory_gib * memory_gib_per_second;
}

PriceTable default_prices() {
  PriceTable p;
  p.provenance = Provenance{"Modal published prices, 2026", "2026", false};
  p.gpu_per_second = {{"T4", 0.000164},        {"L4", 0.000222},   {"A10G", 0.000306},
                      {"L40S", 0.000542},      {"A100-40GB", 0.000583}, {"A100-80GB", 0.000694},
                      {"H100", 0.001097},      {"H200", 0.001261}, {"B200", 0.001736}};
  p.cpu_core_per_second = 0.0000131;
  p.gpu_container_core_options = {2, 4, 8, 16};  // a GPU container's CPU request, billed per core
  p.memory_gib_per_second = 0.00000222;
  return p;
}

}  // namespace reelscale::plan
