// plan/report.cpp — usage-level cost reports and their renderings.
#include "plan/report.h"

#include <cstdio>

#include <cmath>
#include <iomanip>
#include <map>
#include <set>
#include <sstream>

namespace reelscale::plan {

std::vector<ReportRow> usage_report(const Profile& profile, const PriceTable& prices, const Platform& platform,
                                    const Workload& workload, const std::vector<double>& volumes,
                                    const std::vector<Scenario>& scenarios) {
  std::vector<ReportRow> rows;
  for (const Scenario& s : scenarios) {
    for (double v : volumes) {
      Workload w = workload;
      w.jobs_per_day = v;
      const SimulationResult r = simulate(profile, prices, platform, w, s.decide);
      ReportRow row;
      row.scenario = s.name;
      row.jobs_per_day = v;
      row.usd_per_month = 30 * r.cost_usd;
      row.usd_per_job = r.jobs ? r.cost_usd / r.jobs : 0;
      row.gpu_hours_per_month = 30 * r.gpu_billed_s / 3600;
      row.container_hours_per_month = 30 * r.billed_container_s / 3600;
      row.p50_s = r.latency_p50_s;
      row.p95_s = r.latency_p95_s;
      row.p99_s = r.latency_p99_s;
      row.idle_share = r.idle_share;
      row.cold_start_share = r.tasks ? static_cast<double>(r.cold_starts) / r.tasks : 0;
      rows.push_back(row);
    }
  }
  return rows;
}

ThresholdTable old_system_table() {
  ThresholdTable t;
  t.endpoint = "framing_ai";
  t.policy = "old system's hand-set table";
  t.rows = {{0, 3, "T4", 1, true, 0, 0, "hand-set"},
            {3, 10, "T4", 2, true, 0, 0, "hand-set"},
            {10, INFINITY, "T4", 4, true, 0, 0, "hand-set"}};
  return t;
}

std::string money_text(double usd) {
  if (usd == 0) return "0";
  const double a = std::abs(usd);
  const int decimals = a >= 1 ? 2 : std::min(12, 2 - static_cast<int>(std::floor(std::log10(a))));
  char text[48];
  std::snprintf(text, sizeof text, "%.*f", decimals, usd);
  return text;
}

std::string report_csv(const std::vector<ReportRow>& rows) {
  std::ostringstream os;
  os << "scenario,videos_per_day,usd_per_month,usd_per_video,gpu_hours_per_month,container_hours_per_month,"
        "latency_p50_s,latency_p95_s,latency_p99_s,idle_share,cold_start_share\n";
  os << std::setprecision(6);
  for (const auto& r : rows) {
    os << '"' << r.scenario << "\"," << r.jobs_per_day << ',' << r.usd_per_month << ',' << r.usd_per_job << ','
       << r.gpu_hours_per_month << ',' << r.container_hours_per_month << ',' << r.p50_s << ',' << r.p95_s << ','
       << r.p99_s << ',' << r.idle_share << ',' << r.cold_start_share << "\n";
  }
  return os.str();
}

std::string report_svg(const std::vector<ReportRow>& rows) {
  // $ per month against videos per day, both axes logarithmic, one line per scenario.
  const double W = 760, H = 440, L = 80, R = 250, T = 30, B = 60;
  double x0 = INFINITY, x1 = 0, y0 = INFINITY, y1 = 0;
  std::map<std::string, std::vector<const ReportRow*>> series;
  std::vector<std::string> order;
  for (const auto& r : rows) {
    if (!series.count(r.scenario)) order.push_back(r.scenario);
    series[r.scenario].push_back(&r);
    x0 = std::min(x0, r.jobs_per_day);
    x1 = std::max(x1, r.jobs_per_day);
    y0 = std::min(y0, std::max(r.usd_per_month, 1e-3));
    y1 = std::max(y1, r.usd_per_month);
  }
  if (rows.empty()) return "<svg xmlns=\"http://www.w3.org/2000/svg\"/>\n";
  const double lx0 = std::floor(std::log10(x0)), lx1 = std::max(lx0 + 1, std::ceil(std::log10(x1)));
  const double ly0 = std::floor(std::log10(y0)), ly1 = std::max(ly0 + 1, std::ceil(std::log10(y1)));
  auto px = [&](double x) { return L + (std::log10(x) - lx0) / (lx1 - lx0) * (W - L - R); };
  auto py = [&](double y) { return H - B - (std::log10(std::max(y, 1e-3)) - ly0) / (ly1 - ly0) * (H - T - B); };
  static const char* colours[] = {"#1f77b4", "#d62728", "#2ca02c", "#9467bd", "#ff7f0e", "#8c564b", "#e377c2"};
  std::ostringstream os;
  os << std::fixed << std::setprecision(1);
  os << "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"" << W << "\" height=\"" << H
     << "\" font-family=\"sans-serif\" font-size=\"12\">\n<rect width=\"100%\" height=\"100%\" fill=\"white\"/>\n";
  for (double e = lx0; e <= lx1; ++e) {
    os << "<line x1=\"" << px(std::pow(10, e)) << "\" y1=\"" << T << "\" x2=\"" << px(std::pow(10, e)) << "\" y2=\""
       << H - B << "\" stroke=\"#ddd\"/><text x=\"" << px(std::pow(10, e)) << "\" y=\"" << H - B + 18
       << "\" text-anchor=\"middle\">" << static_cast<long long>(std::pow(10, e)) << "</text>\n";
  }
  for (double e = ly0; e <= ly1; ++e) {
    os << "<line x1=\"" << L << "\" y1=\"" << py(std::pow(10, e)) << "\" x2=\"" << W - R << "\" y2=\"" << py(std::pow(10, e))
       << "\" stroke=\"#ddd\"/><text x=\"" << L - 6 << "\" y=\"" << py(std::pow(10, e)) + 4 << "\" text-anchor=\"end\">$"
       << std::pow(10, e) << "</text>\n";
  }
  os << "<text x=\"" << (L + W - R) / 2 << "\" y=\"" << H - 15 << "\" text-anchor=\"middle\">videos per day</text>\n";
  os << "<text transform=\"translate(18," << (T + H - B) / 2 << ") rotate(-90)\" text-anchor=\"middle\">$ per month</text>\n";
  int i = 0;
  for (const std::string& name : order) {
    const char* c = colours[i % 7];
    os << "<polyline fill=\"none\" stroke=\"" << c << "\" stroke-width=\"2\" points=\"";
    for (const ReportRow* r : series[name]) os << px(r->jobs_per_day) << ',' << py(r->usd_per_month) << ' ';
    os << "\"/>\n";
    for (const ReportRow* r : series[name]) {
      os << "<circle cx=\"" << px(r->jobs_per_day) << "\" cy=\"" << py(r->usd_per_month) << "\" r=\"3\" fill=\"" << c << "\"/>\n";
    }
    os << "<rect x=\"" << W - R + 15 << "\" y=\"" << T + 20 * i << "\" width=\"12\" height=\"12\" fill=\"" << c
       << "\"/><text x=\"" << W - R + 32 << "\" y=\"" << T + 20 * i + 11 << "\">" << name << "</text>\n";
    ++i;
  }
  os << "</svg>\n";
  return os.str();
}

std::string report_markdown(const std::vector<ReportRow>& rows, const std::string& context) {
  std::ostringstream os;
  os << "# Cost at usage levels\n\n" << context << "\n\n";
  os << "| scenario | videos/day | $/month | $/video | GPU-hours/month | latency p50 / p95 / p99 s | idle share | cold starts |\n";
  os << "|---|---|---|---|---|---|---|---|\n";
  os << std::fixed;
  for (const auto& r : rows) {
    os << "| " << r.scenario << " | " << std::setprecision(0) << r.jobs_per_day << " | " << std::setprecision(2)
       << r.usd_per_month << " | " << std::setprecision(4) << r.usd_per_job << " | " << std::setprecision(1)
       << r.gpu_hours_per_month << " | " << r.p50_s << " / " << r.p95_s << " / " << r.p99_s << " | " << std::setprecision(0)
       << 100 * r.idle_share << "% | " << 100 * r.cold_start_share << "% |\n";
  }
  return os.str();
}

}  // namespace reelscale::plan
