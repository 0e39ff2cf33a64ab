// exec/stored_task.cpp — running a task read from storage and storing its outcome.
#include "exec/stored_task.h"

#include <nlohmann/json.hpp>

#include "common/error.h"

namespace reelscale::exec {

std::string result_url(const std::string& task_url) {
  const std::string suffix = ".json";
  const bool json = task_url.size() > suffix.size() && task_url.compare(task_url.size() - suffix.size(), suffix.size(), suffix) == 0;
  return (json ? task_url.substr(0, task_url.size() - suffix.size()) : task_url) + ".result.json";
}

std::string to_json_text(const StoredOutcome& outcome) {
  nlohmann::json j = {{"ok", outcome.ok}};
  if (outcome.ok) {
    j["chunk"] = record::to_json(outcome.chunk);
  } else {
    j["error_kind"] = outcome.error_kind;
    j["message"] = outcome.message;
  }
  return j.dump();
}

std::optional<StoredOutcome> read_outcome(store::ObjectStore& store, const std::string& task_url) {
  const std::string url = result_url(task_url);
  if (!store.exists(url)) return std::nullopt;
  const nlohmann::json j = nlohmann::json::parse(store.get(url), nullptr, false);
  if (j.is_discarded() || !j.is_object() || !j.contains("ok") || !j["ok"].is_boolean()) {
    fail(ErrorKind::kInternal, "the outcome at " + url + " is not a stored task outcome");
  }
  StoredOutcome out;
  out.ok = j["ok"].get<bool>();
  if (out.ok) {
    out.chunk = record::chunk_from_json(j.at("chunk"));
  } else {
    out.error_kind = j.value("error_kind", std::string("internal"));
    out.message = j.value("message", std::string());
  }
  return out;
}

StoredOutcome run_stored_task(const std::string& task_url, const ProcessorFactoryMaker& maker, store::ObjectStore& store,
                              const std::filesystem::path& scratch, const media::MediaLimits& limits,
                              const std::string& place, const std::atomic<bool>* cancel) {
  StoredOutcome outcome;
  try {
    const nlohmann::json j = nlohmann::json::parse(store.get(task_url), nullptr, false);
    if (j.is_discarded()) fail(ErrorKind::kBadInput, "the task at " + task_url + " is not valid JSON");
    const ChunkTaskSpec task = task_from_json(j);
    std::unique_ptr<process::FrameProcessor> processor = maker(task.job)(task.probe);
    outcome.chunk = execute_task(task, *processor, store, scratch, {}, {}, cancel, limits);
    outcome.chunk.worker = place;
    outcome.ok = true;
  } catch (const Error& e) {
    outcome.error_kind = error_kind_name(e.kind());
    outcome.message = e.what();
  } catch (const std::exception& e) {
    outcome.error_kind = error_kind_name(ErrorKind::kInternal);
    outcome.message = e.what();
  }
  store.put_bytes(to_json_text(outcome), result_url(task_url));
  return outcome;
}

}  // namespace reelscale::exec
