#include "queue/rq_job.hpp"

#include <algorithm>
#include <charconv>

#include "core/iso8601.hpp"
#include "net/zlib_codec.hpp"

namespace optd::queue {

namespace {

// A Studio job's data is a few kilobytes nested a few levels; far more is not one (and JSON nested
// thousands deep would exhaust the stack of whatever copies or prints it recursively).
constexpr std::size_t max_data_bytes = 16u << 20;
constexpr int max_depth = 64;

// How deep the arrays and objects of `json` nest (strings skipped), counted before it is parsed.
int nesting(std::string_view json) {
  int depth = 0, deepest = 0;
  bool in_string = false;
  for (std::size_t i = 0; i < json.size(); ++i) {
    char c = json[i];
    if (in_string) {
      if (c == '\\') ++i;
      else if (c == '"') in_string = false;
    } else if (c == '"') {
      in_string = true;
    } else if (c == '[' || c == '{') {
      deepest = std::max(deepest, ++depth);
    } else if (c == ']' || c == '}') {
      --depth;
    }
  }
  return deepest;
}

std::string text_of(const nlohmann::json& j, const char* key) {
  auto it = j.find(key);
  return it != j.end() && it->is_string() ? it->get<std::string>() : std::string();
}

std::int64_t integer_of(const std::map<std::string, std::string>& hash, const char* key) {
  auto it = hash.find(key);
  if (it == hash.end()) return 0;
  std::int64_t n = 0;
  auto [end, ec] = std::from_chars(it->second.data(), it->second.data() + it->second.size(), n);
  return ec == std::errc{} && end == it->second.data() + it->second.size() ? n : 0;
}

}  // namespace

parsed_job parse_studio_job(std::string id, const std::map<std::string, std::string>& hash) {
  parsed_job out;
  auto& job = out.job;
  job.id = std::move(id);
  if (hash.empty()) {
    out.problem = "the job's hash rq:job:" + job.id + " is gone (expired, or deleted)";
    return out;
  }
  if (auto it = hash.find("enqueued_at"); it != hash.end())
    job.enqueued_ms = core::parse_iso8601(it->second).value_or(0);
  job.timeout_s = hash.count("timeout") ? integer_of(hash, "timeout") : integer_of(hash, "timeout_in_sec");

  auto it = hash.find("data");
  if (it == hash.end() || it->second.empty()) {
    out.problem = "the job has no data";
    return out;
  }
  std::string inflated;
  std::string_view data = it->second;
  if (static_cast<unsigned char>(data.front()) == 0x78) {  // zlib's header; JSON starts with '['
    if (net::inflate(data, net::zlib_format::zlib, max_data_bytes, inflated) != net::inflate_result::ok) {
      out.problem = "the job's data is neither JSON nor zlib-compressed JSON";
      return out;
    }
    data = inflated;
  }
  if (nesting(data) > max_depth) {
    out.problem = "the job's data nests deeper than " + std::to_string(max_depth) + " levels";
    return out;
  }
  auto call = nlohmann::json::parse(data, nullptr, false);
  if (call.is_discarded() || !call.is_array() || call.empty() || !call[0].is_string()) {
    out.problem = "the job's data is not RQ's JSON call [function, null, [args], {kwargs}]";
    return out;
  }
  job.function = call[0].get<std::string>();
  // The message: the first argument when it is an object, else the keyword arguments.
  nlohmann::json message;
  if (call.size() > 2 && call[2].is_array() && !call[2].empty() && call[2][0].is_object()) message = call[2][0];
  else if (call.size() > 3 && call[3].is_object()) message = call[3];
  job.optimization_id = text_of(message, "optimization_id");
  job.workspace_id = text_of(message, "workspace_id");
  job.workspace_name = text_of(message, "workspace_name");
  job.project_name = text_of(message, "project_name");
  job.opik_api_key = config::secret(text_of(message, "opik_api_key"));
  if (auto c = message.find("config"); c != message.end()) job.config = *c;

  if (job.function != studio_job_function)
    out.problem = "the job calls " + job.function + ", not " + std::string(studio_job_function) +
                  " (the only Studio job optd runs)";
  else if (job.optimization_id.empty())
    out.problem = "the job's message has no optimization_id";
  else if (job.workspace_name.empty() && job.workspace_id.empty())
    out.problem = "the job's message names no workspace";
  else if (!job.config.is_object())
    out.problem = "the job's message has no config";
  return out;
}

nlohmann::json run_request(const studio_job& job) {
  nlohmann::json body = {{"id", job.optimization_id}, {"studio_config", job.config}};
  if (!job.project_name.empty()) body["project_name"] = job.project_name;
  return body;
}

}  // namespace optd::queue
