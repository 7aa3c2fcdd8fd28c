#include "api/experiments_api.hpp"

#include <algorithm>
#include <map>
#include <set>

#include "opik/opik_json.hpp"
#include "api/responses.hpp"
#include "core/aggregates.hpp"
#include "core/uuid.hpp"

namespace optd::api {

using net::http_response;

namespace {

const std::string base = "/api/v1/private/experiments";
const std::string datasets_base = "/api/v1/private/datasets/";
const std::string compare_suffix = "/items/experiments/items";

// A trial with what its experiment view needs from the run and the evaluations.
struct experiment_view {
  store::trial_record trial;
  const store::run_record* run;
  std::vector<store::evaluation_record> items;  // finished evaluations only: each had a trace
};

using opik::experiment_name;

// What GET /experiments sorts by (Opik's sortable_by for it).
constexpr const char* experiment_sort_fields[] = {"id", "name", "created_at"};

std::string experiment_status(const store::run_record& run, const store::trial_record& t) {
  if (t.status != "running") return "completed";
  return core::is_final(run.status) ? "cancelled" : "running";
}

// Opik's usage map: prompt, completion and total tokens.
nlohmann::json usage_json(double prompt, double completion) {
  return {{"prompt_tokens", prompt}, {"completion_tokens", completion}, {"total_tokens", prompt + completion}};
}

nlohmann::json feedback_scores_of(const store::evaluation_record& e, const std::string& objective_name,
                                  const std::string& created_at) {
  auto out = nlohmann::json::array();
  for (const auto& s : store::trace_scores(e, objective_name))
    out.push_back({{"name", s.name},
                   {"value", s.value},
                   {"reason", s.reason},
                   {"source", "sdk"},
                   {"created_at", created_at},
                   {"last_updated_at", created_at},
                   {"created_by", "optd"},
                   {"last_updated_by", "optd"}});
  return out;
}

// ExperimentItemCompare: an item with its trace's input, output, scores, cost, duration (ms), usage.
nlohmann::json item_compare_json(const store::evaluation_record& e, const std::string& objective_name,
                                 const nlohmann::json& input) {
  auto created = core::iso8601(e.created_ms), updated = core::iso8601(std::max(e.created_ms, e.completed_ms));
  nlohmann::json output = {{"llm_output", e.output}};
  if (e.status == "failed") output = {{"error", e.error}};
  return {{"id", e.id},
          {"experiment_id", e.trial_id},
          {"dataset_item_id", e.item_id},
          {"trace_id", store::trace_id_of(e)},
          {"input", input},
          {"output", output},
          {"feedback_scores", feedback_scores_of(e, objective_name, updated)},
          // The trace's cost and usage are its spans': the task's call and its judges' calls.
          {"total_estimated_cost", e.cost_usd + e.judge_cost_usd},
          {"duration", static_cast<double>(e.latency_us) / 1000.0},
          {"usage", usage_json(static_cast<double>(e.tokens.prompt_tokens + e.judge_tokens.prompt_tokens),
                               static_cast<double>(e.tokens.completion_tokens + e.judge_tokens.completion_tokens))},
          {"created_at", created},
          {"last_updated_at", updated},
          {"created_by", "optd"},
          {"last_updated_by", "optd"}};
}

nlohmann::json experiment_json(const store::trial_record& t, const store::run_record& run,
                               const store::experiment_summary& summary,
                               const std::optional<store::dataset_record>& dataset) {
  auto feedback = nlohmann::json::array();
  for (const auto& [name, mean] : summary.feedback_scores) feedback.push_back({{"name", name}, {"value", mean}});
  auto experiment_scores = nlohmann::json::array();
  for (const auto& s : store::parse_scores(t.experiment_scores_json))
    experiment_scores.push_back({{"name", s.name}, {"value", s.value}});

  nlohmann::json j = {
      {"id", t.id},
      {"dataset_name", run.dataset_name},
      {"name", experiment_name(run, t)},
      {"metadata", opik::experiment_metadata(run, t)},
      {"tags", nlohmann::json::array()},
      {"type", t.type},
      {"evaluation_method", "dataset"},
      {"feedback_scores", std::move(feedback)},
      {"comments", nlohmann::json::array()},
      {"trace_count", summary.trace_count},
      {"created_at", core::iso8601(t.started_ms)},
      {"last_updated_at", core::iso8601(std::max(t.started_ms, t.ended_ms))},
      {"created_by", "optd"},
      {"last_updated_by", "optd"},
      {"status", experiment_status(run, t)},
      {"experiment_scores", std::move(experiment_scores)},
      {"total_estimated_cost", t.cost_usd}};
  if (run.kind.empty()) j["optimization_id"] = t.run_id;  // else it belongs to none
  if (!run.project_name.empty()) j["project_name"] = run.project_name;
  if (dataset) {
    j["dataset_id"] = dataset->id;
    j["dataset_item_count"] = dataset->item_count;
  }
  if (summary.trace_count > 0) {
    auto count = static_cast<double>(summary.trace_count);
    j["duration"] = {{"p50", summary.p50_ms}, {"p90", summary.p90_ms}, {"p99", summary.p99_ms}};
    j["total_estimated_cost_avg"] = t.cost_usd / count;
    j["usage"] = usage_json(static_cast<double>(summary.prompt_tokens) / count,
                            static_cast<double>(summary.completion_tokens) / count);
  }
  return j;
}

// The experiments optd has, newest first, with the runs they belong to: every one, those of one
// run, or those with given ids (the last two read only what they need from the store).
class experiment_index {
 public:
  explicit experiment_index(store::store& db) : db_(db) {}

  // The experiments `keep` keeps, of the run `only_run` when it names one, else of every run.
  template <typename Keep>
  std::vector<experiment_view> select(Keep keep, bool with_items = true, const std::string& only_run = {}) {
    std::vector<experiment_view> out;
    auto add = [&](const store::run_record& run) {
      for (auto& t : db_.trials(run.id))
        if (keep(run, t)) out.push_back({std::move(t), &run, {}});
    };
    if (!only_run.empty()) {
      if (const auto* run = run_of(only_run)) add(*run);
    } else {
      for (auto& run : db_.list_runs(1'000'000)) {
        auto id = run.id;
        add(runs_.try_emplace(id, std::move(run)).first->second);
      }
    }
    return finish(std::move(out), with_items);
  }

  std::vector<experiment_view> with_ids(const std::vector<std::string>& ids, bool with_items = true) {
    std::vector<experiment_view> out;
    for (const auto& id : std::set<std::string>(ids.begin(), ids.end()))
      if (auto t = db_.trial_by_id(id))
        if (const auto* run = run_of(t->run_id)) out.push_back({std::move(*t), run, {}});
    return finish(std::move(out), with_items);
  }

  std::vector<store::evaluation_record> finished_items(const std::string& trial_id) {
    auto all = db_.evaluations(trial_id);
    std::erase_if(all, [](const auto& e) { return !store::is_finished(e); });
    return all;
  }

 private:
  const store::run_record* run_of(const std::string& id) {
    if (auto it = runs_.find(id); it != runs_.end()) return &it->second;
    auto r = db_.find_run(id);
    if (!r || r->id != id) return nullptr;
    return &runs_.emplace(id, std::move(*r)).first->second;
  }
  std::vector<experiment_view> finish(std::vector<experiment_view> out, bool with_items) {
    std::sort(out.begin(), out.end(), [](const auto& a, const auto& b) { return a.trial.id > b.trial.id; });
    if (with_items)
      for (auto& x : out) x.items = finished_items(x.trial.id);
    return out;
  }

  store::store& db_;
  std::map<std::string, store::run_record> runs_;  // by id; experiment_views point into it
};

// `["a","b"]` → {a, b}; nullopt when the text is not a JSON array of strings.
std::optional<std::vector<std::string>> string_array(const std::string& text) {
  auto j = nlohmann::json::parse(text, nullptr, false);
  if (!j.is_array()) return std::nullopt;
  std::vector<std::string> out;
  for (const auto& v : j) {
    if (!v.is_string()) return std::nullopt;
    out.push_back(v.get<std::string>());
  }
  return out;
}

nlohmann::json item_input(store::store& db, const std::string& run_dataset, const std::string& item_id,
                          std::map<std::string, nlohmann::json>& cache) {
  if (!cache.count(run_dataset)) {
    nlohmann::json by_id = nlohmann::json::object();
    if (auto items = db.dataset_items(run_dataset))
      for (const auto& it : *items) by_id[it.id] = it.data;
    cache[run_dataset] = std::move(by_id);
  }
  const auto& by_id = cache[run_dataset];
  return by_id.contains(item_id) ? by_id[item_id] : nlohmann::json::object();
}

// The Compare view's filters: on a feedback score (by key) or on the output text.
std::optional<std::string> compare_filter_error(const nlohmann::json& f) {
  if (!f.is_object() || !f.contains("field") || !f.contains("operator")) return "each filter needs field and operator";
  auto field = text_field(f, "field"), op = text_field(f, "operator");
  static const std::set<std::string> numeric = {"=", "!=", ">", ">=", "<", "<="};
  if (field == "feedback_scores" && f.contains("key") && (numeric.count(op) || op == "is_empty" || op == "is_not_empty"))
    return std::nullopt;
  if (field == "output" && (op == "contains" || op == "not_contains" || op == "=" || op == "!=")) return std::nullopt;
  return "Invalid operator '" + op + "' for field '" + field + "'";
}

// A filter's value as a number, when it is one.
std::optional<double> number_in(const std::string& text) {
  try {
    std::size_t used = 0;
    double v = std::stod(text, &used);
    return used == text.size() ? std::optional<double>(v) : std::nullopt;
  } catch (const std::exception&) {
    return std::nullopt;
  }
}

}  // namespace

std::optional<http_response> experiments_api::route(const net::http_request& req) {
  std::string path = req.target.substr(0, req.target.find('?'));
  const auto& m = req.method;
  if (path.rfind(datasets_base, 0) == 0 && path.size() > datasets_base.size() + compare_suffix.size() &&
      path.compare(path.size() - compare_suffix.size(), compare_suffix.size(), compare_suffix) == 0) {
    if (m != "GET") return error_response(405, "HTTP 405 Method Not Allowed");
    auto id = path.substr(datasets_base.size(), path.size() - datasets_base.size() - compare_suffix.size());
    return dataset_items_with_experiment_items(req, id);
  }
  if (path != base && path.rfind(base + "/", 0) != 0) return std::nullopt;
  auto rest = path.substr(base.size());
  if ((rest.empty() || rest == "/") && m == "GET") return find(req);
  if (rest == "/items/stream" && m == "POST") return stream_items(req);
  if (rest == "/stream" && m == "POST") return stream_experiments(req);
  if (rest == "/feedback-scores/names" && m == "GET") return score_names(req);
  if (rest == "/finish" && m == "POST") {
    // What an SDK's evaluate() sends at its end (Opik raises its alerts on it): optd's
    // experiments are complete as their items arrive, so there is nothing more to do.
    auto j = nlohmann::json::parse(req.body, nullptr, false);
    if (!j.is_object() || !j.contains("ids") || !j["ids"].is_array() || j["ids"].empty())
      return errors_response(422, {"ids must not be empty"});
    return no_content();
  }
  if (rest.rfind("/items/", 0) == 0 && rest.size() > 7 && rest.find('/', 7) == std::string::npos && m == "GET")
    return get_item(rest.substr(7));
  if (rest.size() > 1 && rest.find('/', 1) == std::string::npos && m == "GET") return get(rest.substr(1));
  return error_response(404, "HTTP 404 Not Found");
}

http_response experiments_api::find(const net::http_request& req) {
  auto q = parse_query(req.target);
  auto page = positive_param(q, "page", 1), size = positive_param(q, "size", 10);
  if (!page || !size) return error_response(400, "page and size must be whole numbers from 1 to 2147483647");
  std::optional<std::vector<std::string>> types, ids;
  if (q.count("types") && !q["types"].empty() && !(types = string_array(q["types"])))
    return error_response(400, "Invalid query param types: " + q["types"]);
  if (q.count("experiment_ids") && !q["experiment_ids"].empty() && !(ids = string_array(q["experiment_ids"])))
    return error_response(400, "Invalid query param ids: " + q["experiment_ids"]);
  auto optimization = q.count("optimization_id") ? q["optimization_id"] : "";
  auto dataset_id = q.count("datasetId") ? q["datasetId"] : "";
  auto name = q.count("name") ? lower(q["name"]) : "";
  auto project_id = q.count("project_id") ? q["project_id"] : "";
  // With datasetId, only that dataset's experiments (none, when there is no such dataset).
  std::optional<std::string> dataset_name;
  if (!dataset_id.empty()) {
    auto d = db_.find_dataset(dataset_id);
    dataset_name = d && d->id == dataset_id ? d->name : std::string();
  }
  // sorting=[{"field","direction"}] on the fields Opik's UI sorts trials by (it loads an
  // optimization's trials by created_at ASC); newest first otherwise, as Opik.
  std::vector<std::pair<std::string, bool>> sorting;  // field, descending
  if (q.count("sorting") && !q["sorting"].empty()) {
    auto s = nlohmann::json::parse(q["sorting"], nullptr, false);
    if (!s.is_array()) return error_response(400, "Invalid sorting query parameter");
    for (const auto& f : s) {
      auto field = f.is_object() ? text_field(f, "field") : "";
      if (std::find(std::begin(experiment_sort_fields), std::end(experiment_sort_fields), field) ==
          std::end(experiment_sort_fields))
        continue;  // as Opik's SortingFactory: a field it cannot sort by is dropped
      sorting.emplace_back(field, f.value("direction", "ASC") == "DESC");
    }
  }
  experiment_index index(db_);
  auto matched = index.select(
      [&](const store::run_record& run, const store::trial_record& t) {
        if (types && !types->empty() && std::find(types->begin(), types->end(), t.type) == types->end()) return false;
        if (dataset_name && run.dataset_name != *dataset_name) return false;
        if (!project_id.empty() && !opik::in_project(run.project_name, project_id)) return false;
        if (!name.empty() && lower(experiment_name(run, t)).find(name) == std::string::npos) return false;
        if (ids && std::find(ids->begin(), ids->end(), t.id) == ids->end()) return false;
        return true;
      },
      false, optimization);
  for (auto it = sorting.rbegin(); it != sorting.rend(); ++it) {  // the first key last: it decides
    auto key = [&field = it->first](const experiment_view& x) {
      if (field == "name") return lower(experiment_name(*x.run, x.trial));
      if (field == "created_at") return core::iso8601(x.trial.started_ms) + x.trial.id;
      return x.trial.id;
    };
    bool descending = it->second;
    std::stable_sort(matched.begin(), matched.end(), [&](const experiment_view& a, const experiment_view& b) {
      return descending ? key(b) < key(a) : key(a) < key(b);
    });
  }
  auto content = nlohmann::json::array();
  auto [first, end] = slice_of(*page, *size, matched.size());
  std::map<std::string, std::optional<store::dataset_record>> datasets;  // by name: a run's trials share one
  for (auto i = first; i < end; ++i) {
    const auto& x = matched[i];
    auto [dataset, fresh] = datasets.try_emplace(x.run->dataset_name);
    if (fresh) dataset->second = db_.find_dataset(x.run->dataset_name);
    content.push_back(experiment_json(x.trial, *x.run, db_.summary_of(x.trial), dataset->second));
  }
  return json_response(200, opik::page_body(*page, std::move(content), matched.size(),
                                            nlohmann::json(experiment_sort_fields)));
}

http_response experiments_api::get(const std::string& id) {
  auto t = db_.trial_by_id(id);
  auto run = t ? db_.find_run(t->run_id) : std::nullopt;
  if (!t || !run) return error_response(404, "Experiment not found");
  return json_response(200, experiment_json(*t, *run, db_.summary_of(*t), db_.find_dataset(run->dataset_name)));
}

http_response experiments_api::stream_items(const net::http_request& req) {
  auto j = nlohmann::json::parse(req.body, nullptr, false);
  if (j.is_discarded() || !j.is_object()) return error_response(400, "Unable to process JSON");
  auto name = text_field(j, "experiment_name");
  if (name.empty()) return errors_response(422, {"experiment_name must not be blank"});
  auto limit = whole_field(j, "limit", 500);
  if (limit < 1 || limit > 2000) return errors_response(422, {"limit must be between 1 and 2000"});
  auto after = text_field(j, "last_retrieved_id");

  experiment_index index(db_);
  auto experiments =
      index.select([&](const store::run_record& run, const store::trial_record& t) { return experiment_name(run, t) == name; });
  if (experiments.empty()) return error_response(404, "Experiment not found");
  std::vector<std::pair<const store::evaluation_record*, const experiment_view*>> items;
  for (const auto& x : experiments)
    for (const auto& e : x.items)
      if (after.empty() || e.id < after) items.emplace_back(&e, &x);
  // Opik streams newest first and pages with "ids below the last one seen".
  std::sort(items.begin(), items.end(), [](const auto& a, const auto& b) { return a.first->id > b.first->id; });
  std::map<std::string, nlohmann::json> inputs;
  std::string out;
  for (std::size_t i = 0; i < items.size() && i < static_cast<std::size_t>(limit); ++i) {
    const auto& [e, x] = items[i];
    out += item_compare_json(*e, x->run->objective_name, item_input(db_, x->run->dataset_name, e->item_id, inputs)).dump() +
           "\r\n";
  }
  return http_response{200, {{"Content-Type", "application/octet-stream"}}, std::move(out)};
}

http_response experiments_api::stream_experiments(const net::http_request& req) {
  auto j = nlohmann::json::parse(req.body, nullptr, false);
  if (j.is_discarded() || !j.is_object()) return error_response(400, "Unable to process JSON");
  auto name = text_field(j, "name");
  if (name.empty()) return errors_response(422, {"name must not be blank"});
  auto limit = whole_field(j, "limit", 500);
  if (limit < 1 || limit > 2000) return errors_response(422, {"limit must be between 1 and 2000"});
  auto after = text_field(j, "last_retrieved_id");
  experiment_index index(db_);
  auto experiments = index.select(
      [&](const store::run_record& run, const store::trial_record& t) {
        return experiment_name(run, t) == name && (after.empty() || t.id < after);
      },
      false);
  std::map<std::string, std::optional<store::dataset_record>> datasets;
  std::string out;
  for (std::size_t i = 0; i < experiments.size() && i < static_cast<std::size_t>(limit); ++i) {
    const auto& x = experiments[i];
    auto [dataset, fresh] = datasets.try_emplace(x.run->dataset_name);
    if (fresh) dataset->second = db_.find_dataset(x.run->dataset_name);
    out += experiment_json(x.trial, *x.run, db_.summary_of(x.trial), dataset->second).dump() + "\r\n";
  }
  return http_response{200, {{"Content-Type", "application/octet-stream"}}, std::move(out)};
}

http_response experiments_api::score_names(const net::http_request& req) {
  auto q = parse_query(req.target);
  std::optional<std::vector<std::string>> ids;
  if (q.count("experiment_ids") && !q["experiment_ids"].empty() && !(ids = string_array(q["experiment_ids"])))
    return error_response(400, "Invalid query param ids '" + q["experiment_ids"] + "'");
  experiment_index index(db_);
  auto experiments = ids && !ids->empty() ? index.with_ids(*ids, false)
                                          : index.select([](const auto&, const auto&) { return true; }, false);
  std::set<std::string> names;
  for (const auto& x : experiments)
    for (const auto& [name, mean] : db_.summary_of(x.trial).feedback_scores) names.insert(name);
  auto scores = nlohmann::json::array();
  for (const auto& n : names) scores.push_back({{"name", n}});
  return json_response(200, {{"scores", std::move(scores)}});
}

http_response experiments_api::get_item(const std::string& id) {
  auto e = db_.evaluation_by_id(id);
  if (!e || !store::is_finished(*e)) return error_response(404, "Experiment item not found");
  return json_response(200, {{"id", e->id},
                             {"experiment_id", e->trial_id},
                             {"dataset_item_id", e->item_id},
                             {"trace_id", store::trace_id_of(*e)},
                             {"created_at", core::iso8601(e->created_ms)},
                             {"last_updated_at", core::iso8601(std::max(e->created_ms, e->completed_ms))},
                             {"created_by", "optd"},
                             {"last_updated_by", "optd"}});
}

http_response experiments_api::dataset_items_with_experiment_items(const net::http_request& req,
                                                                   const std::string& dataset_id) {
  auto q = parse_query(req.target);
  auto page = positive_param(q, "page", 1), size = positive_param(q, "size", 10);
  if (!page || !size) return error_response(400, "page and size must be whole numbers from 1 to 2147483647");
  if (!q.count("experiment_ids") || q["experiment_ids"].empty())
    return error_response(400, "experiment_ids cannot be empty");
  auto ids = string_array(q["experiment_ids"]);
  if (!ids) return error_response(400, "Invalid query param ids '" + q["experiment_ids"] + "'");
  if (ids->empty()) return error_response(400, "experiment_ids cannot be empty");
  auto filters = nlohmann::json::array();
  if (q.count("filters") && !q["filters"].empty()) {
    filters = nlohmann::json::parse(q["filters"], nullptr, false);
    if (!filters.is_array()) return error_response(400, "Invalid filters query parameter");
    for (const auto& f : filters)
      if (auto e = compare_filter_error(f)) return error_response(400, *e);
  }
  store::compare_query query;
  query.dataset_id = dataset_id;
  for (const auto& f : filters) {
    store::compare_query::condition c{text_field(f, "field") == "output" ? "" : text_field(f, "key"),
                                      text_field(f, "operator"), {}, {}};
    const auto& v = f.contains("value") ? f["value"] : nlohmann::json();
    c.text = v.is_string() ? v.get<std::string>() : v.is_null() ? "" : v.dump();
    if (v.is_number()) c.number = v.get<double>();
    else if (v.is_string()) c.number = number_in(c.text);
    query.conditions.push_back(std::move(c));
  }
  if (q.count("sorting") && !q["sorting"].empty()) {
    auto s = nlohmann::json::parse(q["sorting"], nullptr, false);
    if (!s.is_array()) return error_response(400, "Invalid sorting query parameter");
    // Opik drops the fields it cannot sort by (SortingFactory.filterValidFields); so does optd,
    // which sorts by id and by feedback scores.
    for (const auto& f : s) {
      auto field = f.is_object() ? text_field(f, "field") : "";
      if (field.rfind("feedback_scores.", 0) != 0 && field != "id") continue;
      query.sort_score = field == "id" ? "" : field.substr(16);
      query.descending = f.value("direction", "ASC") == "DESC";
    }
  }
  if (q.count("truncate") && q["truncate"] != "true" && q["truncate"] != "false")
    return error_response(400, "truncate must be true or false");
  query.search = q.count("search") ? q["search"] : "";

  auto dataset = db_.find_dataset(dataset_id);
  if (!dataset || dataset->id != dataset_id) return error_response(404, "Dataset not found");
  for (const auto& id : std::set<std::string>(ids->begin(), ids->end()))
    if (auto t = db_.trial_by_id(id)) query.trial_ids.push_back(t->id);

  auto found = db_.find_compare_items(query, (*page - 1) * *size, *size);
  std::map<std::string, std::string> objectives;  // by run
  std::map<std::string, std::vector<const store::evaluation_record*>> by_item;
  for (const auto& e : found.evaluations) {
    by_item[e.item_id].push_back(&e);
    if (!objectives.count(e.run_id))
      if (auto run = db_.find_run(e.run_id)) objectives[e.run_id] = run->objective_name;
  }
  auto content = nlohmann::json::array();
  std::set<std::string> columns;
  for (const auto& item : found.items) {
    auto j = opik::dataset_item_json(item, dataset->id);
    if (item.data.is_object())
      for (auto it = item.data.begin(); it != item.data.end(); ++it) columns.insert(it.key());
    auto items = nlohmann::json::array();
    for (const auto* e : by_item[item.id]) items.push_back(item_compare_json(*e, objectives[e->run_id], item.data));
    j["experiment_items"] = std::move(items);
    content.push_back(std::move(j));
  }
  auto body = opik::page_body(*page, std::move(content), static_cast<std::size_t>(found.total));
  body["columns"] = opik::columns_json(columns);
  return json_response(200, body);
}

}  // namespace optd::api
