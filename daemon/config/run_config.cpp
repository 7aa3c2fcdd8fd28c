// Run config loading: YAML text → guarded parse → one pass over the tree that fills run_spec and
// collects diagnostics → checks against the dataset (template variables, reference keys).
#include "config/run_config.hpp"

#include <algorithm>
#include <cmath>
#include <filesystem>
#include <fstream>
#include <set>
#include <sstream>

#include "config/dataset_file.hpp"
#include "config/duration.hpp"
#include "config/yaml_reader.hpp"
#include "core/catalog.hpp"
#include "core/json_schema.hpp"
#include "core/prompt_template.hpp"

namespace optd::config {
namespace {

struct llm_param_rule {
  const char* name;
  core::param_kind kind;
  double min, max;
};

constexpr llm_param_rule llm_params[] = {
    {"temperature", core::param_kind::number, 0, 2},
    {"max_tokens", core::param_kind::integer, 1, 1'000'000},
    {"max_completion_tokens", core::param_kind::integer, 1, 1'000'000},
    {"top_p", core::param_kind::number, 0, 1},
    {"seed", core::param_kind::integer, -9.2e18, 9.2e18},
    {"frequency_penalty", core::param_kind::number, -2, 2},
    {"presence_penalty", core::param_kind::number, -2, 2},
    {"stop", core::param_kind::object, 0, 0},
    {"response_format", core::param_kind::object, 0, 0},
};

class loader {
 public:
  loader(const std::string& name, std::string base_dir, const load_context& context, loaded_run& out)
      : r_(name, out.problems, context.limits.max_nodes, &out.notes),
        base_dir_(std::move(base_dir)),
        lookup_(context.datasets),
        providers_(context.providers),
        read_files_(context.read_dataset_files),
        opik_datasets_(context.opik_datasets),
        check_code_(context.check_code),
        priced_(context.priced),
        daily_budgeted_(context.daily_budgeted),
        out_(out) {}

  void load(const YAML::Node& root) {
    if (!r_.expect_map(root, "")) return;
    // Constructed, never assigned: yaml-cpp's Node::operator= overwrites the referenced node.
    const bool wrapped = static_cast<bool>(root["studio_config"]);
    const YAML::Node studio = wrapped ? root["studio_config"] : root;
    if (wrapped) {
      r_.check_keys(root, {"studio_config", "id", "name", "project_name", "project_id", "objective_name",
                           "dataset_name", "dataset_file", "status", "metadata", "limits"},
                    "");
      if (!r_.expect_map(studio, "studio_config")) return;
      r_.check_keys(studio, {"dataset_name", "prompt", "llm_model", "evaluation", "optimizer"}, "studio_config");
      prefix_ = "studio_config.";
    } else {
      r_.check_keys(root, {"name", "project_name", "objective_name", "dataset_name", "dataset_file", "prompt",
                           "llm_model", "evaluation", "optimizer", "limits", "id"},
                    "");
    }
    auto& s = out_.spec;
    s.name = r_.string_at(root, "name", "", false).value_or("");
    s.project_name = r_.string_at(root, "project_name", "", false).value_or("");
    out_.id = r_.string_at(root, "id", "", false).value_or("");
    auto dataset_name = r_.string_at(studio, "dataset_name", prefix_, false);
    if (!dataset_name && studio != root) dataset_name = r_.string_at(root, "dataset_name", "", false);
    auto dataset_file = r_.string_at(root, "dataset_file", "", false);
    if (!dataset_name && !dataset_file) r_.error(studio, "missing required key '" + prefix_ + "dataset_name'");
    s.dataset_name = dataset_name.value_or("");
    if (dataset_file) {
      std::filesystem::path p(*dataset_file);
      if (p.is_relative() && !base_dir_.empty()) p = std::filesystem::path(base_dir_) / p;
      s.dataset_file = p.lexically_normal().string();
      if (s.dataset_name.empty()) s.dataset_name = std::filesystem::path(*dataset_file).stem().string();
    }
    load_prompt(studio);
    load_llm(studio);
    load_metrics(studio);
    load_optimizer(studio);
    load_limits(root);
    check_priced_for_daily_budgets(studio["llm_model"] ? studio["llm_model"] : studio);
    // One metric is its own objective; several are combined into one, named as Opik's optimizer
    // names its MultiMetricObjective. That name must be no metric's: both are trace scores.
    auto objective = r_.string_at(root, "objective_name", "", false);
    s.objective_name = objective ? *objective
                       : s.metrics.size() == 1 ? s.metrics.front().score_name()
                       : s.metrics.empty()     ? ""
                                               : "multi_metric_objective";
    if (objective && s.metrics.size() > 1)
      for (const auto& m : s.metrics)
        if (m.score_name() == *objective)
          r_.error(root["objective_name"], "objective_name '" + *objective + "' is the name of one of the " +
                                               std::to_string(s.metrics.size()) +
                                               " metrics, but the objective is their weighted sum; give it a name of "
                                               "its own (by default: multi_metric_objective)");
    load_dataset(root);
    for (const auto& n : out_.notes) s.notes.push_back(format(n));
  }

 private:
  void load_prompt(const YAML::Node& studio) {
    auto path = prefix_ + "prompt";
    auto prompt = studio["prompt"];
    if (!prompt) return r_.error(studio, "missing required key '" + path + "'");
    if (!r_.expect_map(prompt, path)) return;
    r_.check_keys(prompt, {"messages", "without_variables"}, path);
    auto messages = prompt["messages"];
    if (!messages) return r_.error(prompt, "missing required key '" + path + ".messages'");
    if (!messages.IsSequence() || messages.size() == 0)
      return r_.error(messages, path + ".messages must be a non-empty list of {role, content}");
    bool unclosed = false;
    for (std::size_t i = 0; i < messages.size(); ++i) {
      auto m = messages[i];
      auto mpath = path + ".messages[" + std::to_string(i) + "]";
      if (!r_.expect_map(m, mpath)) continue;
      r_.check_keys(m, {"role", "content"}, mpath);
      auto role = r_.string_at(m, "role", mpath, true);
      auto content = r_.string_at(m, "content", mpath, true);
      core::chat_message msg;
      if (role) {
        if (auto parsed = core::role_from_string(*role)) msg.role = *parsed;
        else r_.error(m["role"], mpath + ".role: unknown role '" + *role + "'; use system, user or assistant");
      }
      if (content) {
        msg.content = *content;
        content_marks_.push_back({m["content"], msg.content});
        if (auto open = unclosed_variable(msg.content); open && (unclosed = true))
          r_.error(m["content"], mpath + ".content: '{{' at offset " + std::to_string(*open) +
                                     " is not closed; a variable is written {{name}}");
      }
      out_.spec.prompt.push_back(std::move(msg));
    }
    // Without a variable every item gets the same prompt, and the optimizer tunes it against a
    // constant: almost always a forgotten {{field}}. optd's own configs say so when they mean it;
    // a Studio config (what Opik's UI sends, and Opik's worker runs) gets a note.
    auto constant = r_.bool_at(prompt, "without_variables", path).value_or(false);
    if (!constant && !unclosed && core::template_variables(out_.spec.prompt).empty()) {
      auto message = path + " has no {{variable}}: every item would get the same prompt";
      if (prefix_.empty()) r_.error(messages, message + " (add one, or say `without_variables: true` under prompt)");
      else r_.note(messages, message);
    }
  }

  // Where a "{{" without its "}}" starts, if one does.
  static std::optional<std::size_t> unclosed_variable(std::string_view text) {
    for (auto open = text.find("{{"); open != std::string_view::npos; open = text.find("{{", open + 2)) {
      auto close = text.find("}}", open + 2);
      if (close == std::string_view::npos) return open;
      open = close;
    }
    return std::nullopt;
  }

  void load_llm(const YAML::Node& studio) {
    auto path = prefix_ + "llm_model";
    auto llm = studio["llm_model"];
    if (!llm) return r_.error(studio, "missing required key '" + path + "'");
    if (!r_.expect_map(llm, path)) return;
    r_.check_keys(llm, {"model", "provider", "parameters"}, path);
    auto& m = out_.spec.llm_model;
    m.model = r_.string_at(llm, "model", path, true).value_or("");
    m.provider = r_.string_at(llm, "provider", path, false).value_or("");
    check_provider(llm, m.provider, path);
    if (auto params = llm["parameters"]) m.parameters = llm_parameters(params, path + ".parameters");
  }

  nlohmann::json llm_parameters(const YAML::Node& params, const std::string& path) {
    if (!r_.expect_map(params, path)) return nlohmann::json::object();
    auto out = nlohmann::json::object();
    for (auto it = params.begin(); it != params.end(); ++it) {
      const auto& key = it->first.Scalar();
      const llm_param_rule* rule = nullptr;
      for (const auto& p : llm_params)
        if (key == p.name) rule = &p;
      if (rule == nullptr) {
        r_.error(it->first, "unknown key '" + join_path(path, key) +
                                "'; known: temperature, max_tokens, max_completion_tokens, top_p, seed, "
                                "frequency_penalty, presence_penalty, stop, response_format");
        continue;
      }
      if (auto v = typed_param(params, rule->name, rule->kind, rule->min, rule->max, path)) out[key] = *v;
    }
    return out;
  }

  std::optional<nlohmann::json> typed_param(const YAML::Node& map, const char* key, core::param_kind kind,
                                            double min, double max, const std::string& path) {
    switch (kind) {
      case core::param_kind::boolean:
        if (auto b = r_.bool_at(map, key, path)) return nlohmann::json(*b);
        return std::nullopt;
      case core::param_kind::string:
        if (auto s = r_.string_at(map, key, path, false)) return nlohmann::json(*s);
        return std::nullopt;
      case core::param_kind::integer: {
        auto lo = min == max ? std::numeric_limits<long long>::min() : static_cast<long long>(min);
        auto hi = min == max ? std::numeric_limits<long long>::max() : static_cast<long long>(max);
        if (auto i = r_.integer_at(map, key, path, lo, hi)) return nlohmann::json(*i);
        return std::nullopt;
      }
      case core::param_kind::number: {
        auto lo = min == max ? -std::numeric_limits<double>::max() : min;
        auto hi = min == max ? std::numeric_limits<double>::max() : max;
        if (auto d = r_.number_at(map, key, path, lo, hi)) return nlohmann::json(*d);
        return std::nullopt;
      }
      case core::param_kind::object: return r_.to_json(map[key], join_path(path, key));
    }
    return std::nullopt;
  }

  // Checks `params` against a catalog entry; returns the accepted values.
  // `owner` is the map holding `parameters`; problems with absent parameters point at it.
  nlohmann::json plugin_parameters(const YAML::Node& owner, const core::type_desc& type, const std::string& path,
                                   std::initializer_list<std::string_view> extra_keys = {}) {
    auto out = nlohmann::json::object();
    const YAML::Node params = owner["parameters"];
    if (!params || params.IsNull()) {
      for (const auto& p : type.params)
        if (p.required) r_.error(owner, "missing required parameter '" + join_path(path, p.name) + "'");
      return out;
    }
    if (!r_.expect_map(params, path)) return out;
    std::vector<std::string_view> known;
    for (const auto& p : type.params) known.push_back(p.name);
    known.insert(known.end(), extra_keys.begin(), extra_keys.end());
    for (auto it = params.begin(); it != params.end(); ++it) {
      const auto& key = it->first.Scalar();
      if (std::find(known.begin(), known.end(), key) != known.end()) continue;
      std::string names;
      for (const auto& p : type.params) names += (names.empty() ? "" : ", ") + std::string(p.name);
      auto best = yaml_reader::closest(key, known);
      r_.error(it->first, "unknown parameter '" + join_path(path, key) + "' for " + std::string(type.type) +
                              (!best.empty() ? "; did you mean '" + std::string(best) + "'?" : "") +
                              (names.empty() ? " (it takes none)" : " (known: " + names + ")"));
    }
    for (const auto& p : type.params) {
      std::string key(p.name);
      if (!params[key]) {
        if (p.required) r_.error(params, "missing required parameter '" + join_path(path, key) + "'");
        continue;
      }
      auto v = typed_param(params, key.c_str(), p.kind, p.min, p.max, path);
      if (!v) continue;
      if (!p.choices.empty() && v->is_string() &&
          std::find(p.choices.begin(), p.choices.end(), v->get<std::string>()) == p.choices.end()) {
        std::string choices;
        for (auto c : p.choices) choices += (choices.empty() ? "" : ", ") + std::string(c);
        r_.error(params[key], join_path(path, key) + " must be one of " + choices + ", got '" + v->get<std::string>() + "'");
        continue;
      }
      if (!p.ignored.empty()) {
        r_.note(it_key(params, key), "note: " + join_path(path, key) + " is accepted and ignored: " + std::string(p.ignored));
        continue;
      }
      out[key] = *v;
    }
    return out;
  }

  // The key node of `key` in `map` (a note points at the key, not at its value).
  static YAML::Node it_key(const YAML::Node& map, const std::string& key) {
    for (auto it = map.begin(); it != map.end(); ++it)
      if (it->first.IsScalar() && it->first.Scalar() == key) return it->first;
    return map;
  }

  static std::string type_list(std::span<const core::type_desc> catalog) {
    std::string s;
    for (const auto& t : catalog) s += (s.empty() ? "" : ", ") + std::string(t.type);
    return s;
  }

  void load_metrics(const YAML::Node& studio) {
    auto path = prefix_ + "evaluation";
    auto eval = studio["evaluation"];
    if (!eval) return r_.error(studio, "missing required key '" + path + "'");
    if (!r_.expect_map(eval, path)) return;
    r_.check_keys(eval, {"metrics"}, path);
    auto metrics = eval["metrics"];
    if (!metrics) return r_.error(eval, "missing required key '" + path + ".metrics'");
    if (!metrics.IsSequence() || metrics.size() == 0)
      return r_.error(metrics, path + ".metrics must be a non-empty list of {type, parameters, weight}");
    for (std::size_t i = 0; i < metrics.size(); ++i) {
      auto m = metrics[i];
      auto mpath = path + ".metrics[" + std::to_string(i) + "]";
      if (!r_.expect_map(m, mpath)) continue;
      r_.check_keys(m, {"type", "parameters", "weight"}, mpath);
      core::metric_spec spec;
      spec.type = r_.string_at(m, "type", mpath, true).value_or("");
      spec.weight = r_.number_at(m, "weight", mpath, 0, 1000);
      const auto* desc = core::find_type(core::metric_catalog(), spec.type);
      if (!spec.type.empty() && desc == nullptr)
        r_.error(m["type"], mpath + ".type: unknown metric type '" + spec.type + "'; known: " +
                                type_list(core::metric_catalog()));
      if (desc) {
        spec.parameters = plugin_parameters(m, *desc, mpath + ".parameters");
        // Opik's UI sends reference_key "" until a column is chosen: the default, as unset.
        if (desc->uses_reference && spec.parameters.value("reference_key", "answer").empty()) {
          spec.parameters.erase("reference_key");
          r_.note(m["parameters"]["reference_key"],
                  "note: " + mpath + ".parameters.reference_key is empty: the default, 'answer', is used");
        }
        if (desc->uses_reference) reference_checks_.push_back({m, mpath, spec.parameters.value("reference_key", "answer")});
        if (spec.type == "regex_match" && spec.parameters.contains("regex")) check_regex(m["parameters"]["regex"], mpath);
        if (spec.type == "json_schema" && spec.parameters.contains("schema")) check_schema(m["parameters"]["schema"], mpath);
        if (spec.type == "code" && spec.parameters.contains("code")) check_code(m, mpath, spec);
        if (spec.parameters.contains("provider"))
          check_provider(m["parameters"], spec.parameters.value("provider", ""), mpath + ".parameters");
      }
      for (const auto& earlier : out_.spec.metrics)
        if (!spec.type.empty() && earlier.score_name() == spec.score_name())
          r_.error(m["type"], mpath + ".type: a metric whose scores are named '" + spec.score_name() +
                                  "' is listed twice; one would hide the other");
      out_.spec.metrics.push_back(std::move(spec));
    }
    // Opik's MultiMetricObjective does not normalize: say what scale such weights give.
    const auto& ms = out_.spec.metrics;
    if (ms.size() > 1 && std::any_of(ms.begin(), ms.end(), [](const auto& m) { return m.weight.has_value(); })) {
      double sum = 0;
      for (const auto& m : ms) sum += m.weight.value_or(1.0);
      if (std::abs(sum - 1.0) > 1e-9) {
        std::ostringstream total;
        total << sum;
        r_.note(metrics, "note: " + path + ".metrics: the weights sum to " + total.str() +
                             ", so the objective (their weighted sum, as Opik's MultiMetricObjective makes it) ranges 0.." +
                             total.str());
      }
    }
  }

  void check_regex(const YAML::Node& node, const std::string& path);
  void check_schema(const YAML::Node& node, const std::string& path);
  void check_code(const YAML::Node& metric, const std::string& path, core::metric_spec& spec);

  void check_provider(const YAML::Node& map, const std::string& name, const std::string& path) {
    if (name.empty() || providers_.empty()) return;
    if (std::find(providers_.begin(), providers_.end(), name) != providers_.end()) return;
    std::string known;
    for (const auto& p : providers_) known += (known.empty() ? "" : ", ") + p;
    r_.error(map["provider"], path + ".provider: unknown provider '" + name + "'; the daemon config has: " + known);
  }

  void load_optimizer(const YAML::Node& studio) {
    auto path = prefix_ + "optimizer";
    auto opt = studio["optimizer"];
    if (!opt) return r_.error(studio, "missing required key '" + path + "'");
    if (!r_.expect_map(opt, path)) return;
    r_.check_keys(opt, {"type", "parameters"}, path);
    auto& spec = out_.spec.optimizer;
    spec.type = r_.string_at(opt, "type", path, true).value_or("");
    // Opik's worker takes the type in any case ("GEPA"); optd names it as the catalog does.
    std::transform(spec.type.begin(), spec.type.end(), spec.type.begin(),
                   [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
    const auto* desc = core::find_type(core::optimizer_catalog(), spec.type);
    if (!spec.type.empty() && desc == nullptr) {
      r_.error(opt["type"], path + ".type: unknown optimizer type '" + spec.type + "'; known: " +
                                type_list(core::optimizer_catalog()));
      return;
    }
    if (!desc) return;
    const YAML::Node params = opt["parameters"];
    auto ppath = path + ".parameters";
    spec.parameters = plugin_parameters(opt, *desc, ppath, {"model", "model_parameters", "provider"});
    if (params && params.IsMap()) {
      spec.model = r_.string_at(params, "model", ppath, false).value_or("");
      spec.provider = r_.string_at(params, "provider", ppath, false).value_or("");
      check_provider(params, spec.provider, ppath);
      if (auto mp = params["model_parameters"]) spec.model_parameters = llm_parameters(mp, ppath + ".model_parameters");
      if (auto rp = params["reasoning_model_parameters"])
        spec.parameters["reasoning_model_parameters"] = llm_parameters(rp, ppath + ".reasoning_model_parameters");
      if (spec.type == "gepa" && params["prompt_overrides"]) check_gepa_overrides(params["prompt_overrides"], ppath);
    }
  }

  // GEPA's prompt_overrides: only reflection_prompt_template, which must hold the markers where
  // the current instruction and the examples go.
  void check_gepa_overrides(const YAML::Node& overrides, const std::string& ppath) {
    auto path = ppath + ".prompt_overrides";
    if (!r_.expect_map(overrides, path)) return;
    r_.check_keys(overrides, {"reflection_prompt_template"}, path);
    auto t = r_.string_at(overrides, "reflection_prompt_template", path, false);
    if (!t) return;
    for (const char* marker : {"<curr_param>", "<side_info>"})
      if (t->find(marker) == std::string::npos)
        r_.error(overrides["reflection_prompt_template"],
                 path + ".reflection_prompt_template must contain " + marker + " (where GEPA puts " +
                     (std::string_view(marker) == "<curr_param>" ? "the current instruction" : "the scored examples") + ")");
  }

  void load_limits(const YAML::Node& root) {
    auto lim = root["limits"];
    if (!lim) return;
    if (!r_.expect_map(lim, "limits")) return;
    r_.check_keys(lim, {"max_trials", "n_samples", "max_concurrency", "max_duration", "max_cost_usd"}, "limits");
    auto& l = out_.spec.limits;
    l.max_trials = static_cast<int>(r_.integer_at(lim, "max_trials", "limits", 1, 10'000).value_or(l.max_trials));
    l.n_samples = static_cast<int>(r_.integer_at(lim, "n_samples", "limits", 0, 1'000'000).value_or(l.n_samples));
    l.max_concurrency =
        static_cast<int>(r_.integer_at(lim, "max_concurrency", "limits", 1, 10'000).value_or(l.max_concurrency));
    if (auto c = r_.number_at(lim, "max_cost_usd", "limits", 0, 1e9)) {
      l.max_cost_usd = *c;
      check_priced_for_cost_cap(lim["max_cost_usd"]);
    }
    if (auto d = lim["max_duration"]) {
      if (!d.IsScalar()) r_.error(d, "limits.max_duration must be a duration like 90s, 30m or 2h");
      else if (auto parsed = parse_duration(d.Scalar()); parsed && parsed->count() > 0) l.max_duration = *parsed;
      else r_.error(d, "limits.max_duration must be a positive duration like 90s, 30m or 2h, got '" + d.Scalar() + "'");
    }
  }

  // Every model the run calls, with its provider ("": the default one): the task's, the
  // optimizer's reasoning model, each judge's.
  std::vector<std::pair<std::string, std::string>> called_models() const {
    const auto& s = out_.spec;
    std::vector<std::pair<std::string, std::string>> called{{s.llm_model.provider, s.llm_model.model}};
    called.emplace_back(s.optimizer.provider.empty() ? s.llm_model.provider : s.optimizer.provider,
                        s.optimizer.model.empty() ? s.llm_model.model : s.optimizer.model);
    for (const auto& m : s.metrics)
      if (m.type == "geval" || m.type == "json_schema_validator")
        called.emplace_back(m.parameters.value("provider", std::string()), m.parameters.value("model", s.llm_model.model));
    return called;
  }

  // A cost cap is only as good as the prices it counts with: every model the run calls under
  // `cap` (max_cost_usd: all of them; a provider's daily_budget_usd: those it serves) must have
  // one, or the cap could never be reached.
  void check_priced(const YAML::Node& at, const std::function<bool(const std::string& provider)>& capped,
                    const std::function<std::string(const std::string& provider)>& needs) {
    if (!priced_) return;
    std::set<std::pair<std::string, std::string>> reported;
    for (const auto& [provider, model] : called_models()) {
      if (model.empty() || !capped(provider) || priced_(provider, model) || !reported.insert({provider, model}).second)
        continue;
      r_.error(at, needs(provider) + " needs a price for every model the run calls; the daemon config has none for '" +
                       model + "' on " + (provider.empty() ? std::string("the default provider") : "provider '" + provider + "'") +
                       " (add it under that provider's prices)");
    }
  }
  void check_priced_for_cost_cap(const YAML::Node& at) {
    check_priced(at, [](const std::string&) { return true; }, [](const std::string&) { return "limits.max_cost_usd"; });
  }
  void check_priced_for_daily_budgets(const YAML::Node& at) {
    if (!daily_budgeted_) return;
    check_priced(at, [this](const std::string& provider) { return daily_budgeted_(provider); },
                 [](const std::string& provider) {
                   return (provider.empty() ? std::string("the default provider") : "provider '" + provider + "'") +
                          "'s daily_budget_usd";
                 });
  }

  void load_dataset(const YAML::Node& root) {
    auto& s = out_.spec;
    if (!read_files_) s.dataset_file.clear();
    if (!s.dataset_file.empty()) {
      auto rows = read_dataset_file(s.dataset_file);
      if (!rows) {
        auto d = rows.error();
        if (d.line == 0) r_.error(root["dataset_file"], "dataset_file '" + s.dataset_file + "': " + d.message);
        else out_.problems.push_back(d);
        return;
      }
      out_.dataset_rows = std::move(rows->rows);
      out_.dataset_hash = std::move(rows->content_hash);
    } else if (!s.dataset_name.empty()) {
      auto found = lookup_ ? lookup_(s.dataset_name) : std::nullopt;
      if (!found && opik_datasets_) {
        out_.dataset_in_opik = true;
        return;
      }
      if (!found) {
        r_.error(root["dataset_name"] ? root["dataset_name"] : root,
                 read_files_ ? "dataset '" + s.dataset_name + "' is not stored; give dataset_file to load it"
                             : "dataset '" + s.dataset_name + "' is not stored on the daemon; upload it first "
                               "(optd submit does; or PUT /v1/private/datasets/items)");
        return;
      }
      out_.dataset_rows = std::move(*found);
    } else {
      return;
    }
    std::set<std::string> fields;
    for (const auto& row : out_.dataset_rows)
      for (auto it = row.begin(); it != row.end(); ++it) fields.insert(it.key());
    std::string field_list;
    for (const auto& f : fields) field_list += (field_list.empty() ? "" : ", ") + f;
    for (const auto& [node, text] : content_marks_) {
      for (const auto& var : core::template_variables(text)) {
        if (fields.count(var)) continue;
        auto mark = node.Mark();
        auto offset = text.find(var);
        bool single_line = node.Tag() != "!" || text.find('\n') == std::string::npos;
        if (single_line && offset != std::string::npos && text.find('\n') == std::string::npos) {
          while (offset > 0 && text[offset - 1] != '{') --offset;
          mark.column += static_cast<int>(offset) - 2 + (node.Tag() == "!" ? 1 : 0);
        }
        r_.error(mark, "variable {{" + var + "}} is not a field of any item of dataset '" + s.dataset_name +
                           "' (fields: " + field_list + ")");
      }
    }
    for (const auto& ref : reference_checks_) {
      if (fields.count(ref.key)) continue;
      auto params = ref.node["parameters"];
      auto at = params && params["reference_key"] ? params["reference_key"] : ref.node;
      r_.error(at, ref.path + ": reference_key '" + ref.key + "' is not a field of any item of dataset '" +
                       s.dataset_name + "' (fields: " + field_list + ")");
    }
  }

  struct reference_check {
    YAML::Node node;
    std::string path;
    std::string key;
  };

  yaml_reader r_;
  std::string base_dir_;
  const dataset_lookup& lookup_;
  const std::vector<std::string>& providers_;
  bool read_files_;
  bool opik_datasets_;
  const code_checker& check_code_;
  const std::function<bool(std::string_view, std::string_view)>& priced_;
  const std::function<bool(std::string_view)>& daily_budgeted_;
  loaded_run& out_;
  std::string prefix_;
  std::vector<std::pair<YAML::Node, std::string>> content_marks_;
  std::vector<reference_check> reference_checks_;
};

}  // namespace
}  // namespace optd::config

#include <regex>

namespace optd::config {
namespace {

void loader::check_regex(const YAML::Node& node, const std::string& path) {
  try {
    std::regex re(node.Scalar(), std::regex::ECMAScript);
  } catch (const std::regex_error& e) {
    r_.error(node, path + ".parameters.regex is not a valid regular expression: " + e.what());
  }
}

void loader::check_schema(const YAML::Node& node, const std::string& path) {
  auto schema = r_.to_json(node, path + ".parameters.schema");
  if (!schema) return;
  if (auto compiled = core::json_schema::compile(*schema); !compiled)
    r_.error(node, path + ".parameters.schema is not a JSON Schema optd can use: " + compiled.error());
}

void loader::check_code(const YAML::Node& metric, const std::string& path, core::metric_spec& spec) {
  if (!check_code_) return;
  const YAML::Node code = metric["parameters"]["code"];
  auto checked = check_code_(spec.parameters.value("code", ""));
  if (checked.refused) {
    r_.error(metric["type"], path + ".type: code metrics cannot run on this daemon: " + checked.problem);
    return;
  }
  if (!checked.problem.empty()) {
    std::string where = checked.line > 0 ? "line " + std::to_string(checked.line) +
                                               (checked.column > 0 ? ", column " + std::to_string(checked.column) : "") + " of the code: "
                                         : "";
    r_.error(code, path + ".parameters.code: " + where + checked.problem);
    return;
  }
  spec.name = checked.metric_name;
}

}  // namespace

loaded_run parse_run_config(std::string_view text, const std::string& name, const std::string& base_dir,
                            const load_context& context) {
  const auto& limits = context.limits;
  loaded_run out;
  auto loaded = load_yaml(text, name, out.problems, limits);
  if (!loaded) return out;
  const YAML::Node root = *loaded;
  if (!root || root.IsNull()) {
    out.problems.push_back({name, 0, 0, "the config is empty"});
    return out;
  }
  loader(name, base_dir, context, out).load(root);
  return out;
}

loaded_run load_run_config_file(const std::string& path, const load_context& context) {
  const auto& limits = context.limits;
  std::ifstream in(path, std::ios::binary);
  if (!in) {
    loaded_run out;
    out.problems.push_back({path, 0, 0, "cannot open the config file"});
    return out;
  }
  // Read at most one byte past the limit so a huge file is refused without loading it.
  std::string text(limits.max_bytes + 1, '\0');
  in.read(text.data(), static_cast<std::streamsize>(text.size()));
  text.resize(static_cast<std::size_t>(in.gcount()));
  if (text.size() > limits.max_bytes) {
    loaded_run out;
    out.problems.push_back({path, 0, 0, "config is larger than " + std::to_string(limits.max_bytes) + " bytes"});
    return out;
  }
  auto dir = std::filesystem::path(path).parent_path().string();
  auto loaded = parse_run_config(text, path, dir, context);
  loaded.source = std::move(text);
  return loaded;
}

}  // namespace optd::config
