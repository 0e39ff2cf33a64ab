// plan/thresholds.h — sweeps clip length for an endpoint and policy and turns the
// planner's choices into a threshold table (length ranges → hardware and chunks), each
// break-even length found exactly (to the frame) and explained. Output as JSON and as a
// Python dict literal the old system's backend can paste in.
#pragma once

#include <nlohmann/json_fwd.hpp>
#include <string>
#include <vector>

#include "plan/planner.h"

namespace reelscale::plan {

struct ThresholdRow {
  double from_s = 0;   // clip length where this choice starts (inclusive)
  double to_s = 0;     // where the next one starts (exclusive); infinity for the last row
  std::string hardware;
  int chunks = 1;
  bool feasible = true;
  double cost_at_from = 0;
  double time_at_from = 0;
  std::string why;     // why the choice changes at from_s
};

struct ThresholdTable {
  std::string endpoint;
  std::string policy;
  double fps = 30;
  std::vector<ThresholdRow> rows;
  std::vector<std::string> notes;   // where the figures come from (plan/planner.h figure_notes)
  bool mixed_provenance = false;
};

ThresholdTable sweep_thresholds(const Planner& planner, const std::string& endpoint, double min_s = 0.5,
                                double max_s = 600, double fps = 30, double pixels = 810.0 * 1440.0,
                                const std::string& model = "");
nlohmann::json to_json(const ThresholdTable& t);
std::string to_python(const ThresholdTable& t);
std::string to_text(const ThresholdTable& t);

}  // namespace reelscale::plan
