#pragma once
// Loads a run config: Opik's `studio_config` in YAML (or JSON), either at the top level or under a
// `studio_config` key as in Opik's POST /v1/private/optimizations body, with optd's run fields
// beside it. Collects every problem with its line and column instead of stopping at the first.
#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "config/diagnostic.hpp"
#include "config/yaml_guard.hpp"
#include "core/run_spec.hpp"

namespace optd::config {

struct loaded_run {
  core::run_spec spec;
  std::string source;  // the config's text, as read (from a file: to resume a run of it by)
  std::vector<nlohmann::json> dataset_rows;  // the dataset's item data, from the file or the lookup
  std::string dataset_hash;                  // of the file, when one was read
  std::string id;                            // optional client-chosen id (Opik body `id`)
  // The dataset is neither a file nor stored: it is read from Opik when the run starts, and the
  // checks that need its fields (template variables, reference keys) are made then.
  bool dataset_in_opik = false;
  diagnostics problems;
  // What is accepted but means nothing in optd (a parameter Opik's UI sends and its worker
  // ignores): each with its place, also in spec.notes for the run's log.
  diagnostics notes;
  bool ok() const noexcept { return problems.empty(); }
};

// Finds a dataset that is already stored, by name; nullopt when there is none.
using dataset_lookup = std::function<std::optional<std::vector<nlohmann::json>>(std::string_view name)>;

// What loading a code metric's Python taught: its scores' name, or what is wrong with it (at a
// line and column of the code, 0 when unknown). `refused`: code metrics cannot run here at all.
struct code_check {
  std::string metric_name;
  std::string problem;
  int line = 0;
  int column = 0;
  bool refused = false;
};
using code_checker = std::function<code_check(const std::string& code)>;

// What the loader checks a run config against, besides itself.
struct load_context {
  dataset_lookup datasets;              // stored datasets, for configs without dataset_file
  std::vector<std::string> providers;   // known provider names; empty: not checked
  yaml_limits limits;
  // False for configs that arrive over the network: a dataset_file is then never opened (the
  // daemon must not read files a request names); the dataset is looked up by name instead.
  bool read_dataset_files = true;
  // True when the daemon records into Opik: a dataset it does not store is then Opik's.
  bool opik_datasets = false;
  // Runs a code metric as Studio does before a run (load, score an empty output); unset (a client
  // checking a config before sending it): the daemon will.
  code_checker check_code;
  // Whether the daemon config has a price for `model` on `provider` ("": the default one); unset:
  // not checked. A max_cost_usd needs prices for every model the run calls.
  std::function<bool(std::string_view provider, std::string_view model)> priced;
  // Whether `provider` ("": the default one) has a daily_budget_usd: every model the run calls
  // through it then needs a price too. Unset: not checked.
  std::function<bool(std::string_view provider)> daily_budgeted;
};

// Reads and validates `path`. A relative dataset_file is resolved against the config's folder.
loaded_run load_run_config_file(const std::string& path, const load_context& context = {});

// The same for text that did not come from a file; `name` labels diagnostics and `base_dir`
// resolves a relative dataset_file.
loaded_run parse_run_config(std::string_view text, const std::string& name, const std::string& base_dir,
                            const load_context& context = {});

}  // namespace optd::config
