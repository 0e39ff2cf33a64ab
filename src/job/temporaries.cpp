// job/temporaries.cpp — owner records, the per-job prefix and the stale sweep.
#include "job/temporaries.h"

#include <signal.h>
#include <unistd.h>

#include <cerrno>
#include <fstream>
#include <map>
#include <nlohmann/json.hpp>
#include <regex>
#include <sstream>

#include "common/stopwatch.h"
#include "record/job_record.h"

namespace reelscale::job {

namespace {

constexpr const char* kTempMarker = ".reelscale-tmp-";
constexpr const char* kOwnerFile = "owner.json";

std::string host_name() {
  char buf[256] = {0};
  if (gethostname(buf, sizeof buf - 1) != 0) return "unknown";
  return buf;
}

// Field 22 of /proc/<pid>/stat: when the process started, in clock ticks after boot.
long long start_ticks_of(long pid) {
  std::ifstream f("/proc/" + std::to_string(pid) + "/stat");
  std::string text((std::istreambuf_iterator<char>(f)), std::istreambuf_iterator<char>());
  const auto paren = text.rfind(')');
  if (paren == std::string::npos) return -1;
  std::istringstream rest(text.substr(paren + 2));
  std::string field;
  for (int i = 3; i <= 22 && rest >> field; ++i) {
    if (i == 22) return std::stoll(field);
  }
  return -1;
}

bool pid_alive(long pid) { return pid > 0 && (::kill(static_cast<pid_t>(pid), 0) == 0 || errno == EPERM); }

nlohmann::json to_json(const OwnerRecord& o) {
  return {{"job_id", o.job_id}, {"host", o.host}, {"pid", o.pid}, {"pid_start_ticks", o.pid_start_ticks},
          {"started_unix_s", o.started_unix_s}, {"output", o.output}};
}

std::optional<OwnerRecord> read_owner(store::ObjectStore& store, const std::string& url) {
  try {
    const nlohmann::json j = nlohmann::json::parse(store.get(url));
    OwnerRecord o;
    o.job_id = j.value("job_id", "");
    o.host = j.value("host", "");
    o.pid = j.value("pid", 0L);
    o.pid_start_ticks = j.value("pid_start_ticks", 0LL);
    o.started_unix_s = j.value("started_unix_s", 0.0);
    o.output = j.value("output", "");
    return o;
  } catch (const std::exception&) {
    return std::nullopt;  // absent or unreadable: judged by age alone
  }
}

// The temporaries found in a folder, grouped by job prefix.
struct Group {
  double newest_unix_s = 0;
  bool has_owner = false;
};

// An object whose time could not be read (renamed or removed between the listing and
// its stat, as a running job's owner record is while it is written) counts as written
// now: a job starting beside another must never take its fresh temporaries for old ones.
std::map<std::string, Group> temp_groups(store::ObjectStore& store, const std::string& folder, double now) {
  std::map<std::string, Group> groups;
  for (const store::ObjectInfo& o : store.list(folder + kTempMarker)) {
    const auto slash = o.url.find('/', folder.size());
    if (slash == std::string::npos) continue;
    Group& g = groups[o.url.substr(0, slash + 1)];
    g.newest_unix_s = std::max(g.newest_unix_s, o.modified_unix_s > 0 ? o.modified_unix_s : now);
    g.has_owner = g.has_owner || o.url.substr(slash + 1) == kOwnerFile;
  }
  return groups;
}

void abort_uploads_of(store::ObjectStore& store, const OwnerRecord& owner, SweepReport& report) {
  if (owner.output.empty()) return;
  for (const store::UploadInfo& u : store.unfinished_uploads(owner.output)) {
    if (u.url != owner.output || (u.initiated_unix_s > 0 && u.initiated_unix_s + 1 < owner.started_unix_s)) continue;
    store.abort_upload(u);
    ++report.aborted_uploads;
  }
}

// Hidden atomic-write temporaries (".name.part-<pid>-<n>-<k>.ext") of dead processes.
void sweep_partial_files(store::ObjectStore& store, const std::string& folder, const StaleBounds& bounds,
                         SweepReport& report) {
  if (!store.local_path(folder)) return;
  static const std::regex partial(R"(^\..*\.part-(\d+)-\d+-\d+(\.[A-Za-z0-9]+)?$)");
  const double now = record::unix_now();
  for (const store::ObjectInfo& o : store.list(folder + ".")) {
    const std::string name = std::filesystem::path(o.url).filename().string();
    std::smatch m;
    if (std::filesystem::path(o.url).parent_path() != std::filesystem::path(folder).parent_path() ||
        !std::regex_match(name, m, partial)) {
      continue;
    }
    if (pid_alive(std::stol(m[1])) || now - o.modified_unix_s < bounds.dead_owner_age_s) continue;
    store.remove(o.url);
    report.removed.push_back(o.url);
  }
}

}  // namespace

OwnerRecord owner_for_this_process(const std::string& job_id, const std::string& output) {
  OwnerRecord o;
  o.job_id = job_id;
  o.host = host_name();
  o.pid = static_cast<long>(getpid());
  o.pid_start_ticks = start_ticks_of(o.pid);
  o.started_unix_s = record::unix_now();
  o.output = output;
  return o;
}

bool owner_is_live(const OwnerRecord& owner) {
  if (owner.host != host_name() || !pid_alive(owner.pid)) return false;
  return owner.pid_start_ticks <= 0 || start_ticks_of(owner.pid) == owner.pid_start_ticks;
}

std::string temp_prefix_beside(const std::string& output_url, const std::string& job_id) {
  return store::Location::parse(output_url).sibling(kTempMarker + job_id + "/");
}

JobTemporaries::JobTemporaries(store::ObjectStore& store, std::string prefix, const OwnerRecord& owner)
    : store_(store), prefix_(std::move(prefix)) {
  if (prefix_.empty() || prefix_.back() != '/') prefix_ += '/';
  if (auto local = store_.local_path(prefix_)) std::filesystem::create_directories(*local);
  store_.put_bytes(to_json(owner).dump(2) + "\n", prefix_ + kOwnerFile);
}

JobTemporaries::~JobTemporaries() {
  if (!done_) cleanup();
}

double JobTemporaries::cleanup() {
  const Stopwatch clock;
  done_ = true;
  try {
    store_.remove_prefix(prefix_);
  } catch (const std::exception&) {
    // Best effort; the next sweep of this folder finds what is left.
  }
  return clock.seconds();
}

SweepReport remove_stale_temporaries(store::ObjectStore& store, const std::string& folder_url,
                                     const StaleBounds& bounds) {
  std::string folder = folder_url;
  if (!folder.empty() && folder.back() != '/') folder += '/';
  SweepReport report;
  const double now = record::unix_now();
  for (const auto& [prefix, group] : temp_groups(store, folder, now)) {
    const std::optional<OwnerRecord> owner = group.has_owner ? read_owner(store, prefix + kOwnerFile) : std::nullopt;
    const bool local_owner = owner && owner->host == host_name();
    if (owner && owner_is_live(*owner)) {
      report.kept.push_back(prefix);
      continue;
    }
    // Storage clocks round to whole seconds (a just-written object may look a little in the future).
    const double age =
        std::max(0.0, now - (owner ? std::max(owner->started_unix_s, group.newest_unix_s) : group.newest_unix_s));
    if (age < (local_owner ? bounds.dead_owner_age_s : bounds.unknown_owner_age_s)) {
      report.kept.push_back(prefix);
      continue;
    }
    if (owner) abort_uploads_of(store, *owner, report);
    store.remove_prefix(prefix);
    report.removed.push_back(prefix);
  }
  sweep_partial_files(store, folder, bounds, report);
  return report;
}

}  // namespace reelscale::job
