// plan/record_report.cpp — grouping real records and extrapolating the observed mix.
#include "plan/record_report.h"

#include "plan/report.h"

#include <algorithm>
#include <cmath>
#include <map>
#include <sstream>

namespace reelscale::plan {

namespace {

const std::vector<double> kEdges = {5, 10, 20, 30, 60, 120, 300};

std::string bucket_of(double seconds) {
  const auto it = std::upper_bound(kEdges.begin(), kEdges.end(), seconds);
  const size_t i = static_cast<size_t>(it - kEdges.begin());
  if (i == 0) return "0-5 s";
  if (i == kEdges.size()) return "300+ s";
  return std::to_string(static_cast<int>(kEdges[i - 1])) + "-" + std::to_string(static_cast<int>(kEdges[i])) + " s";
}

struct Accumulator {
  RecordGroup g;
  std::vector<double> times;
  void add(const record::JobRecord& r) {
    ++g.jobs;
    if (!r.ok()) {
      ++g.failed;
      return;
    }
    g.cost_usd += r.cost_usd;
    g.cloud_equivalent_usd += r.cloud_equivalent_usd;
    g.output_seconds += r.output_seconds();
    times.push_back(r.total_seconds());
  }
  RecordGroup done() {
    std::sort(times.begin(), times.end());
    const double n = static_cast<double>(times.size());
    if (!times.empty()) {
      double sum = 0;
      for (double t : times) sum += t;
      g.mean_time_s = sum / n;
      g.p90_time_s = times[static_cast<size_t>(std::min(n - 1, std::floor(0.9 * n)))];
      g.mean_cost_usd = g.cost_usd / n;
      g.mean_cloud_equivalent_usd = g.cloud_equivalent_usd / n;
    }
    return g;
  }
};

std::string fmt(double v, int precision = 4) {
  std::ostringstream os;
  os.precision(precision);
  os << v;
  return os.str();
}

}  // namespace

RecordReport report_from_records(const std::vector<record::JobRecord>& records, const std::vector<double>& jobs_per_day) {
  RecordReport out;
  std::map<std::pair<std::string, std::string>, Accumulator> groups;
  std::map<std::string, Accumulator> endpoints;
  double first = 0, last = 0, cost = 0, billed = 0, cloud = 0;
  int ok = 0;
  for (const auto& r : records) {
    const std::string bucket = bucket_of(r.output_seconds());
    Accumulator& a = groups[{r.endpoint, bucket}];
    a.g.endpoint = r.endpoint;
    a.g.bucket = bucket;
    a.add(r);
    Accumulator& e = endpoints[r.endpoint];
    e.g.endpoint = r.endpoint;
    e.g.bucket = "all";
    e.add(r);
    first = first == 0 ? r.started_unix_s : std::min(first, r.started_unix_s);
    last = std::max(last, r.started_unix_s);
    if (r.ok()) {
      cost += r.cost_usd;
      cloud += r.cloud_equivalent_usd;
      billed += r.billed_seconds;
      ++ok;
    }
  }
  for (auto& [key, a] : groups) out.groups.push_back(a.done());
  for (auto& [key, a] : endpoints) out.endpoints.push_back(a.done());
  out.jobs = static_cast<int>(records.size());
  out.days_observed = std::max(0.0, last - first) / 86400.0;
  out.usd_per_job = ok ? cost / ok : 0;
  out.cloud_equivalent_usd_per_job = ok ? cloud / ok : 0;
  const double billed_per_job = ok ? billed / ok : 0;
  for (double level : jobs_per_day) {
    out.levels.push_back({level, level * out.usd_per_job, 30 * level * out.usd_per_job, 30 * level * billed_per_job / 3600,
                          30 * level * out.cloud_equivalent_usd_per_job});
  }
  return out;
}

std::string record_report_csv(const RecordReport& r) {
  std::ostringstream os;
  os << "table,endpoint,length_bucket,jobs,failed,mean_cost_usd,mean_cloud_equivalent_usd,mean_time_s,p90_time_s,"
        "usd_per_output_second,jobs_per_day,usd_per_day,usd_per_month,billed_hours_per_month,"
        "cloud_equivalent_usd_per_month\n";
  for (const auto& g : r.groups) {
    os << "by_length," << g.endpoint << "," << g.bucket << "," << g.jobs << "," << g.failed << "," << fmt(g.mean_cost_usd, 6)
       << "," << fmt(g.mean_cloud_equivalent_usd, 6) << "," << fmt(g.mean_time_s) << "," << fmt(g.p90_time_s) << ","
       << fmt(g.usd_per_output_second(), 6) << ",,,,,\n";
  }
  for (const auto& g : r.endpoints) {
    os << "by_endpoint," << g.endpoint << ",all," << g.jobs << "," << g.failed << "," << fmt(g.mean_cost_usd, 6) << ","
       << fmt(g.mean_cloud_equivalent_usd, 6) << "," << fmt(g.mean_time_s) << "," << fmt(g.p90_time_s) << ","
       << fmt(g.usd_per_output_second(), 6) << ",,,,,\n";
  }
  for (const auto& l : r.levels) {
    os << "usage,,,,,,,,,," << l.jobs_per_day << "," << fmt(l.usd_per_day, 6) << "," << fmt(l.usd_per_month, 6) << ","
       << fmt(l.billed_hours_per_month) << "," << fmt(l.cloud_equivalent_usd_per_month, 6) << "\n";
  }
  return os.str();
}

std::string record_report_markdown(const RecordReport& r, const std::string& context) {
  std::ostringstream os;
  os << "# Cost analysis from job records\n\n" << context << "\n\n" << r.jobs << " jobs over " << fmt(r.days_observed, 3)
     << " days; $" << money_text(r.usd_per_job) << " billed per finished job"
     << (r.cloud_equivalent_usd_per_job > 0 ? ", $" + money_text(r.cloud_equivalent_usd_per_job) +
                                                  " cloud-equivalent (owned local slots: their cores at the cloud's price)"
                                            : std::string())
     << ".\n\n"
     << "## Cost and time per video, by endpoint and clip length\n\n"
     << "| endpoint | clip length | jobs | failed | mean $ | mean cloud-equivalent $ (local slots) | mean s | p90 s | "
        "$ per output second |\n|---|---|---|---|---|---|---|---|---|\n";
  for (const auto& g : r.groups) {
    os << "| " << g.endpoint << " | " << g.bucket << " | " << g.jobs << " | " << g.failed << " | " << money_text(g.mean_cost_usd)
       << " | " << money_text(g.mean_cloud_equivalent_usd) << " | " << fmt(g.mean_time_s) << " | " << fmt(g.p90_time_s)
       << " | " << money_text(g.usd_per_output_second()) << " |\n";
  }
  os << "\n## By endpoint\n\n| endpoint | jobs | failed | mean $ | mean s | p90 s | $ per output second |\n|---|---|---|---|---|---|---|\n";
  for (const auto& g : r.endpoints) {
    os << "| " << g.endpoint << " | " << g.jobs << " | " << g.failed << " | " << money_text(g.mean_cost_usd) << " | "
       << fmt(g.mean_time_s) << " | " << fmt(g.p90_time_s) << " | " << money_text(g.usd_per_output_second()) << " |\n";
  }
  os << "\n## At usage levels (the observed mix of endpoints and lengths)\n\n"
     << "| jobs per day | $ per day | $ per month | billed hours per month | cloud-equivalent $ per month (local slots) "
        "|\n|---|---|---|---|---|\n";
  for (const auto& l : r.levels) {
    os << "| " << l.jobs_per_day << " | " << money_text(l.usd_per_day) << " | " << money_text(l.usd_per_month) << " | "
       << fmt(l.billed_hours_per_month) << " | " << money_text(l.cloud_equivalent_usd_per_month) << " |\n";
  }
  return os.str();
}

std::string record_report_svg(const RecordReport& r) {
  // Mean cost per video by length bucket, one bar per (endpoint, bucket).
  const double width = 640, height = 320, left = 60, bottom = 260, top = 30;
  double most = 1e-12;
  for (const auto& g : r.groups) most = std::max(most, g.mean_cost_usd);
  std::ostringstream os;
  os << "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"" << width << "\" height=\"" << height << "\">\n"
     << "<text x=\"" << left << "\" y=\"18\" font-size=\"13\">Mean cost per video ($), by endpoint and clip length</text>\n"
     << "<line x1=\"" << left << "\" y1=\"" << bottom << "\" x2=\"" << width - 10 << "\" y2=\"" << bottom << "\" stroke=\"black\"/>\n";
  const double slot = r.groups.empty() ? 0 : (width - left - 20) / static_cast<double>(r.groups.size());
  for (size_t i = 0; i < r.groups.size(); ++i) {
    const auto& g = r.groups[i];
    const double h = (bottom - top) * g.mean_cost_usd / most, x = left + slot * static_cast<double>(i) + 4;
    os << "<rect x=\"" << x << "\" y=\"" << bottom - h << "\" width=\"" << std::max(1.0, slot - 8) << "\" height=\"" << h
       << "\" fill=\"#3366cc\"><title>" << g.endpoint << " " << g.bucket << ": $" << fmt(g.mean_cost_usd, 6)
       << "</title></rect>\n<text x=\"" << x << "\" y=\"" << bottom + 14 << "\" font-size=\"9\">" << g.endpoint << "</text>\n"
       << "<text x=\"" << x << "\" y=\"" << bottom + 26 << "\" font-size=\"9\">" << g.bucket << "</text>\n";
  }
  os << "<text x=\"4\" y=\"" << top + 4 << "\" font-size=\"10\">" << fmt(most, 3) << "</text>\n</svg>\n";
  return os.str();
}

}  // namespace reelscale::plan
