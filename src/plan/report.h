// plan/report.h — what a policy costs at a usage level: simulated days of jobs at
// several volumes (videos per day) for several deciders, reported as $ per month,
// GPU-hours, latency percentiles and idle share, in CSV, an SVG chart and Markdown.
#pragma once

#include <string>
#include <vector>

#include "plan/simulator.h"

namespace reelscale::plan {

struct Scenario {
  std::string name;
  Decider decide;
};

struct ReportRow {
  std::string scenario;
  double jobs_per_day = 0;
  double usd_per_month = 0;
  double usd_per_job = 0;
  double gpu_hours_per_month = 0;
  double container_hours_per_month = 0;
  double p50_s = 0, p95_s = 0, p99_s = 0;
  double idle_share = 0;
  double cold_start_share = 0;  // of task starts
};

// One simulated day per (scenario, volume); a month is 30 days of it.
std::vector<ReportRow> usage_report(const Profile& profile, const PriceTable& prices, const Platform& platform,
                                    const Workload& workload, const std::vector<double>& volumes,
                                    const std::vector<Scenario>& scenarios);

// The old system's hand-set table: T4, 0-3 s on 1, 3-10 s on 2, longer on 4.
ThresholdTable old_system_table();

// Dollars as a table shows them, no "$" (the header names the unit): to the cent from a
// dollar, else to three significant digits ("0.000482"), never rounded to 0.0000 nor
// written with an exponent; "0" for nothing.
std::string money_text(double usd);

std::string report_csv(const std::vector<ReportRow>& rows);
std::string report_svg(const std::vector<ReportRow>& rows);
std::string report_markdown(const std::vector<ReportRow>& rows, const std::string& context);

}  // namespace reelscale::plan
