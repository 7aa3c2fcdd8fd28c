#pragma once
// The validated form of a run config: plain structs, no YAML, no I/O. Produced by config/,
// consumed by engine/ and the plugins. Parameter bags stay JSON because they are plugin-defined.
#include <chrono>
#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

namespace optd::core {

enum class role { system, user, assistant };

std::string_view to_string(role r) noexcept;
std::optional<role> role_from_string(std::string_view s) noexcept;

struct chat_message {
  core::role role = role::user;
  std::string content;
  bool operator==(const chat_message&) const = default;
};

using prompt_messages = std::vector<chat_message>;

nlohmann::json to_json(const prompt_messages& messages);

struct llm_model_spec {
  std::string model;
  std::string provider;  // empty: the daemon config's default provider
  nlohmann::json parameters = nlohmann::json::object();
};

struct metric_spec {
  std::string type;
  nlohmann::json parameters = nlohmann::json::object();
  std::optional<double> weight;  // in the objective (core/objective.hpp); none: Opik's default
  // What its scores are called: the type, but for a code metric the name its class gives them
  // (learned at validation). Empty: the type.
  std::string name = {};

  const std::string& score_name() const noexcept { return name.empty() ? type : name; }
};

struct optimizer_spec {
  std::string type;
  nlohmann::json parameters = nlohmann::json::object();  // without model/model_parameters
  std::string model;                                     // reasoning model; empty: llm_model.model
  std::string provider;                                  // empty: llm_model.provider
  nlohmann::json model_parameters = nlohmann::json::object();
};

struct run_limits {
  int max_trials = 10;
  int n_samples = 0;  // 0: every dataset item
  int max_concurrency = 8;
  std::optional<std::chrono::milliseconds> max_duration;
  std::optional<double> max_cost_usd;
};

struct run_spec {
  std::string name;
  std::string project_name;
  std::string objective_name;
  std::string dataset_name;
  std::string dataset_file;  // resolved path, empty when the dataset is already stored
  prompt_messages prompt;
  llm_model_spec llm_model;
  std::vector<metric_spec> metrics;
  optimizer_spec optimizer;
  run_limits limits;
  // What validation accepted and ignored, said again in the run's log.
  std::vector<std::string> notes;
};

struct dataset_item {
  std::string id;
  nlohmann::json data;
};

}  // namespace optd::core
