// plan/record_report.h — the cost-analysis spreadsheet from real job records (the job
// service's store): cost and time per video by length bucket and by endpoint, cost per
// output second, and the same extrapolated to usage levels (jobs per day) from the mix
// of lengths and endpoints actually observed; as CSV, Markdown and an SVG chart.
#pragma once

#include <string>
#include <vector>

#include "record/job_record.h"

namespace reelscale::plan {

struct RecordGroup {
  std::string endpoint;
  std::string bucket;        // clip length range, e.g. "10-20 s"
  int jobs = 0;
  int failed = 0;
  double mean_cost_usd = 0;
  double mean_time_s = 0;
  double p90_time_s = 0;
  double output_seconds = 0;
  double cost_usd = 0;
  double cloud_equivalent_usd = 0;        // owned local slots: their cores at the cloud's per-core price
  double mean_cloud_equivalent_usd = 0;
  double usd_per_output_second() const { return output_seconds > 0 ? cost_usd / output_seconds : 0; }
};

struct UsageLevel {
  double jobs_per_day = 0;
  double usd_per_day = 0;
  double usd_per_month = 0;       // 30 days
  double billed_hours_per_month = 0;
  double cloud_equivalent_usd_per_month = 0;  // owned local slots: their cores at the cloud's per-core price
};

struct RecordReport {
  std::vector<RecordGroup> groups;      // by endpoint and length bucket
  std::vector<RecordGroup> endpoints;   // by endpoint, every length
  std::vector<UsageLevel> levels;
  int jobs = 0;
  double days_observed = 0;
  double usd_per_job = 0;
  double cloud_equivalent_usd_per_job = 0;
};

// `records`: finished jobs (failed ones count in the error figures, not in costs).
RecordReport report_from_records(const std::vector<record::JobRecord>& records, const std::vector<double>& jobs_per_day);

std::string record_report_csv(const RecordReport& r);
std::string record_report_markdown(const RecordReport& r, const std::string& context);
std::string record_report_svg(const RecordReport& r);

}  // namespace reelscale::plan
