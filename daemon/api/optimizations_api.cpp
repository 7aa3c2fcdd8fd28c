// Routing and handlers of the optimization API. Error bodies follow Opik: 400/404/409 as
// {"code","message"}, validation failures as 422 {"errors":[…]}.
#include "api/optimizations_api.hpp"
#include <algorithm>
#include <functional>

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/rand.h>
#include <openssl/sha.h>

#include "opik/opik_json.hpp"
#include "api/body_types.hpp"
#include "api/responses.hpp"
#include "api/routes.hpp"
#include "api/run_results.hpp"
#include "net/zlib_codec.hpp"
#include "store/sqlite.hpp"
#include "core/run_status.hpp"

namespace optd::api {

namespace {

using net::http_response;

const std::string base_path = "/api/v1/private/optimizations";

// A filter's value(s): a string, a number (as its JSON text), or for `in`/`not_in` a JSON array or
// a comma-separated list.
std::vector<std::string> filter_values(const nlohmann::json& f, const std::string& op) {
  const auto& v = f["value"];
  auto text = [](const nlohmann::json& x) { return x.is_string() ? x.get<std::string>() : x.dump(); };
  if (op != "in" && op != "not_in") return {text(v)};
  auto list = v.is_string() ? nlohmann::json::parse(v.get<std::string>(), nullptr, false) : v;
  std::vector<std::string> out;
  if (list.is_array()) {
    for (const auto& x : list) out.push_back(text(x));
  } else {
    auto all = text(v);
    for (std::size_t at = 0; at <= all.size();) {
      auto comma = std::min(all.find(',', at), all.size());
      auto one = all.substr(at, comma - at);
      one.erase(0, one.find_first_not_of(' '));
      one.erase(one.find_last_not_of(' ') + 1);
      if (!one.empty()) out.push_back(one);
      at = comma + 1;
    }
  }
  return out;
}

// A metadata key Opik's UI may send: a top-level key, or a JSON path of names and indexes
// (`$.a.b`, `$.list[0]`); anything else would be a malformed path in SQL.
bool plain_json_path(const std::string& key) {
  if (key.empty() || key[0] != '$') return !key.empty();
  for (std::size_t i = 1; i < key.size();) {
    if (key[i] == '.') {
      auto end = key.find_first_not_of("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_-", i + 1);
      if (end == i + 1) return false;
      i = end == std::string::npos ? key.size() : end;
    } else if (key[i] == '[') {
      auto close = key.find(']', i);
      if (close == std::string::npos || close == i + 1 ||
          key.find_first_not_of("0123456789", i + 1) != close)
        return false;
      i = close + 1;
    } else {
      return false;
    }
  }
  return true;
}

// Opik's optimization filters (FilterQueryBuilder's operators for each field type) as a store
// query; an error message for a filter Opik would refuse too, or one optd cannot apply.
std::optional<std::string> add_filter(const nlohmann::json& f, store::run_query& q,
                                      const std::function<std::optional<std::string>(const std::string&)>& dataset_name,
                                      const std::function<std::vector<std::string>(const std::string&)>& projects) {
  if (!f.is_object() || !f.contains("field") || !f.contains("operator")) return "each filter needs field and operator";
  auto field = text_field(f, "field"), op = text_field(f, "operator");
  auto one_of = [&](std::initializer_list<const char*> ops) {
    return std::any_of(ops.begin(), ops.end(), [&](const char* o) { return op == o; });
  };
  bool no_value = op == "is_empty" || op == "is_not_empty";
  auto invalid = "Invalid operator '" + op + "' for field '" + field + "'";
  using on = store::run_query::condition::on;
  if (field == "status") {
    if (!one_of({"=", "!=", "in", "not_in", "is_empty", "is_not_empty"})) return invalid;
  } else if (field == "metadata") {
    if (!one_of({"=", "!=", "contains", "not_contains", "starts_with", "ends_with", "is_empty", "is_not_empty"}))
      return invalid;
    if (!plain_json_path(text_field(f, "key"))) return "a metadata filter needs a key: a name or a JSON path like $.a.b";
  } else if (field == "dataset_id" || field == "project_id") {
    if (!one_of({"=", "!="})) return invalid;
  } else {
    return invalid;
  }
  if (!no_value && (!f.contains("value") || f["value"].is_null())) return "filter on '" + field + "' needs a value";
  auto values = no_value ? std::vector<std::string>{} : filter_values(f, op);
  if (field == "status") q.conditions.push_back({on::status, "", op, std::move(values)});
  else if (field == "metadata") q.conditions.push_back({on::metadata, text_field(f, "key"), op, std::move(values)});
  else if (field == "dataset_id") {
    // By the dataset's name, which is what a run keeps: an id optd does not know names none.
    auto name = dataset_name(values.front());
    if (name) q.conditions.push_back({on::dataset_name, "", op, {*name}});
    else if (op == "=") q.conditions.push_back({on::dataset_name, "", "in", {}});
  } else {  // project ids are derived from names: the names that have this one
    q.conditions.push_back({on::project_name, "", op == "=" ? "in" : "not_in", projects(values.front())});
  }
  return std::nullopt;
}

// Compares in time that depends on neither string, so that answers do not tell how much of a
// guessed token was right: the SHA-256 digests of both, compared with OpenSSL's CRYPTO_memcmp.
bool same_secret(std::string_view given, std::string_view expected) {
  unsigned char a[SHA256_DIGEST_LENGTH], b[SHA256_DIGEST_LENGTH];
  SHA256(reinterpret_cast<const unsigned char*>(given.data()), given.size(), a);
  SHA256(reinterpret_cast<const unsigned char*>(expected.data()), expected.size(), b);
  return CRYPTO_memcmp(a, b, sizeof a) == 0;
}

// Opik's answer to a cancel of a run that has ended.
std::string cannot_cancel(core::run_status s) {
  return "Cannot cancel optimization with status '" + std::string(core::to_string(s)) +
         "'. Only optimizations with status [INITIALIZED, RUNNING] can be cancelled.";
}

// What a watcher sees first of a run that is not running (queued or finished): its record.
engine::run_progress progress_of(const store::run_record& r, int trials_done) {
  engine::run_progress p;
  p.run_id = r.id;
  p.name = r.name;
  p.status = r.status;
  p.trials_done = trials_done;
  p.baseline = r.baseline_score;
  p.best = r.best_score;
  p.cost_usd = r.cost_usd;
  p.tokens = r.tokens;
  p.llm_calls = r.llm_calls;
  auto spec = nlohmann::json::parse(r.spec_json.empty() ? "{}" : r.spec_json, nullptr, false);
  if (spec.is_object() && spec.contains("limits")) p.max_trials = spec["limits"].value("max_trials", 0);
  if (r.ended_ms > r.started_ms && r.started_ms > 0) p.elapsed = std::chrono::milliseconds(r.ended_ms - r.started_ms);
  return p;
}

struct event_stream {
  std::shared_ptr<engine::progress_subscription> subscription;
  std::optional<engine::run_progress> first;
  bool done = false;
};

std::string sse_event(const engine::run_progress& p) {
  return "event: progress\ndata: " + engine::to_json(p).dump() + "\n\n";
}

// The next piece of a run's event stream: its state now, then every change (coalesced), a
// comment line as a heartbeat every 15 s, and the end after a final status. A free coroutine
// with the state by value, so nothing it uses can die before it.
boost::asio::awaitable<std::optional<std::string>> next_event(std::shared_ptr<event_stream> s) {
  if (s->done) co_return std::nullopt;
  if (s->first) {
    auto p = std::move(*s->first);
    s->first.reset();
    s->done = core::is_final(p.status);
    co_return sse_event(p);
  }
  auto e = co_await s->subscription->next(std::chrono::seconds(15));
  switch (e.what) {
    case engine::progress_event::kind::heartbeat: co_return std::string(": keep-alive\n\n");
    case engine::progress_event::kind::closed: co_return std::nullopt;
    case engine::progress_event::kind::update: break;
  }
  s->done = core::is_final(e.progress.status);
  co_return sse_event(e.progress);
}

}  // namespace

optimizations_api::optimizations_api(api_deps deps)
    : d_(std::move(deps)),
      link_key_(32, '\0'),
      datasets_(d_.db, d_.clock, d_.ids),
      experiments_(d_.db),
      writes_(d_.db, d_.clock, d_.ids) {
  if (RAND_bytes(reinterpret_cast<unsigned char*>(link_key_.data()), static_cast<int>(link_key_.size())) != 1)
    throw std::runtime_error("no random bytes for the log links' key");
}

boost::asio::awaitable<http_response> optimizations_api::handle(net::http_request request) {
  co_return route(request);
}

http_response optimizations_api::route(const net::http_request& req) {
  try {
    std::string path = req.target.substr(0, req.target.find('?'));
    if (!req.body.empty() && !accepted_media_type(path, req.header("content-type")))
      return error_response(415, "HTTP 415 Unsupported Media Type");
    auto response = dispatch(req);
    // A path optd serves, asked with a method it does not take: 405 naming those it does.
    if (response.status == 404 || response.status == 405) {
      auto allowed = allowed_methods(path);
      if (!allowed.empty() && std::find(allowed.begin(), allowed.end(), req.method) == allowed.end()) {
        std::string allow;
        for (const auto& m : allowed) allow += (allow.empty() ? "" : ", ") + m;
        response = error_response(405, "HTTP 405 Method Not Allowed");
        response.headers.push_back({"Allow", allow});
      }
    }
    return response;
  } catch (const nlohmann::json::exception& e) {
    // A body check_body_types let through that a handler still could not read: the client's
    // JSON, not a fault of optd's.
    return error_response(400, std::string("Unable to process JSON: ") + e.what());
  } catch (const store::unavailable&) {
    // A full disk or a lock held too long: nothing was changed, and the same request may work
    // later. (The store's file and SQLite's words are for optd's operator, not its clients.)
    return error_response(503, "optd's store cannot be written now; try again later");
  }
}

http_response optimizations_api::dispatch(const net::http_request& req) {
  std::string path = req.target.substr(0, req.target.find('?'));
  const auto& m = req.method;
  if (path == "/metrics" && m == "GET" && d_.metrics)  // like health: scrapers carry no token
    return {200, {{"Content-Type", "text/plain; version=0.0.4; charset=utf-8"}}, d_.metrics->scrape()};
  if (path == "/api/optd/health" || path == "/api/optd/ready") {
    nlohmann::json health = {{"status", "ok"}, {"runs_running", d_.runs.running()}, {"runs_queued", d_.runs.queued()}};
    if (d_.cfg.opik) {
      auto o = d_.db.outbox_state();
      health["opik"] = {{"url", d_.cfg.opik->url},
                        {"outbox_pending", o.pending},
                        {"outbox_refused", o.dead},
                        {"outbox_oldest_age_ms", o.oldest_ms ? d_.clock.now_ms() - o.oldest_ms : 0}};
    }
    return json_response(200, health);
  }

  // Opik's liveness probe and version, which its SDKs ask for without a token (the Python SDK
  // probes before it replays what it buffered while the server was unreachable).
  if (path == "/api/is-alive/ping" && m == "GET")
    return json_response(200, {{"message", "Healthy Server"}, {"healthy", true}});
  if (path == "/api/is-alive/ver" && m == "GET") return json_response(200, {{"version", d_.version}});

  bool authorized = true;
  if (!d_.cfg.api_token.empty()) {
    auto given = std::string(req.header("authorization"));
    if (given.rfind("Bearer ", 0) == 0) given = given.substr(7);
    authorized = same_secret(given, d_.cfg.api_token.reveal());
  }
  // A log link is presigned: Opik's UI downloads it as an object, without the token.
  if (path.rfind("/api/optd/runs/", 0) == 0 && path.size() > 22 && path.ends_with("/log.gz") && m == "GET")
    return log_download(req, path.substr(15, path.size() - 22), authorized);
  if (!authorized) return error_response(401, "missing or invalid API token in the authorization header");

  if (auto refused = check_body_types(req)) return std::move(*refused);
  if (path == "/api/optd/runs" && m == "POST") return create(req, req.body, true);
  if (path.rfind("/api/optd/runs/", 0) == 0 && m == "GET") {  // /api/optd/runs/{id}/{what}
    auto tail = path.substr(15);
    auto slash = tail.find('/');
    auto id = tail.substr(0, slash), what = slash == std::string::npos ? "" : tail.substr(slash + 1);
    if (what.empty()) return results(id);
    if (what == "log") return log_text(id);
    if (what == "events") return events(id);
    if (what == "progress") return progress(id);
    return error_response(404, "HTTP 404 Not Found");
  }

  if (auto scoped = project_scoped(req)) return dispatch(*scoped);
  if (auto handled = writes_.route(req)) return std::move(*handled);
  if (auto handled = experiments_.route(req)) return std::move(*handled);
  if (auto handled = datasets_.route(req)) return std::move(*handled);
  if (path.rfind(base_path, 0) != 0) return error_response(404, "HTTP 404 Not Found");
  auto rest = path.substr(base_path.size());
  if (rest.empty() || rest == "/") {
    if (m == "GET") return find(req, parse_query(req.target));
    if (m == "POST" || m == "PUT") return create(req, req.body, false);
    return error_response(405, "HTTP 405 Method Not Allowed");
  }
  if (rest == "/delete" && m == "POST") return remove(req.body);
  if (rest.rfind("/studio/", 0) == 0) {
    auto tail = rest.substr(8);
    auto slash = tail.find('/');
    auto id = tail.substr(0, slash);
    auto action = slash == std::string::npos ? "" : tail.substr(slash + 1);
    if (action == "cancel" && m == "GET") return cancel(id);
    if (action == "logs" && m == "GET") return logs_link(req, id);
    return error_response(404, "HTTP 404 Not Found");
  }
  auto id = rest.substr(1);
  if (id.find('/') != std::string::npos) return error_response(404, "HTTP 404 Not Found");
  if (m == "GET") return get(id);
  if (m == "PUT") return update(id, req.body);
  return error_response(405, "HTTP 405 Method Not Allowed");
}

// Opik's project-scoped lists (`GET /v1/private/projects/{id}/optimizations`, `…/experiments`,
// `…/datasets`, which its v2 UI asks for whenever a project is open) as the workspace-wide ones
// with a project_id. optd's datasets belong to no project: every project lists them all.
std::optional<net::http_request> optimizations_api::project_scoped(const net::http_request& req) {
  static const std::string prefix = "/api/v1/private/projects/";
  if (req.method != "GET" || req.target.rfind(prefix, 0) != 0) return std::nullopt;
  auto path = req.target.substr(0, req.target.find('?'));
  auto query = req.target.size() > path.size() ? req.target.substr(path.size() + 1) : std::string();
  auto rest = path.substr(prefix.size());
  auto slash = rest.find('/');
  if (slash == std::string::npos || slash == 0) return std::nullopt;
  auto project = rest.substr(0, slash), what = rest.substr(slash + 1);
  if (what != "optimizations" && what != "experiments" && what != "datasets") return std::nullopt;
  auto scoped = req;
  scoped.target = "/api/v1/private/" + what + "?" + query + (query.empty() ? "" : "&") + "project_id=" + project;
  return scoped;
}

std::optional<store::run_record> optimizations_api::find_exact(const std::string& id) {
  auto r = d_.db.find_run(id);
  if (r && r->id == id && r->kind.empty()) return r;
  return std::nullopt;
}

http_response optimizations_api::create(const net::http_request& req, std::string_view body, bool yaml) {
  nlohmann::json j;
  if (!yaml) {
    j = nlohmann::json::parse(body, nullptr, false);
    if (j.is_discarded() || !j.is_object()) return error_response(400, "Unable to process JSON");
  }
  std::string id = !yaml && j.contains("id") && j["id"].is_string() ? j["id"].get<std::string>() : "";
  if (!yaml && j.contains("id") && !j["id"].is_string()) return error_response(400, "Unable to process JSON");
  if (!id.empty() && !core::is_uuid_v7(id)) return error_response(400, "Optimization id must be a version 7 UUID");

  auto location = [&](const std::string& run_id) {
    http_response r{201, {{"Location", origin_of(req) + base_path + "/" + run_id}, {"Content-Type", "application/json"}},
                    nlohmann::json{{"id", run_id}}.dump()};
    return r;
  };

  if (!id.empty()) {
    if (auto existing = find_exact(id)) {  // Opik: re-posting an id updates it and never re-enqueues
      auto name = text_field(j, "name");
      auto meta = nlohmann::json::parse(existing->metadata_json, nullptr, false);
      if (j.contains("metadata") && j["metadata"].is_object()) meta.merge_patch(j["metadata"]);
      d_.db.update_run_details(id, name.empty() ? existing->name : name, meta.dump(), d_.clock.now_ms());
      return location(id);
    }
  }
  if (id.empty()) id = d_.ids.next(static_cast<std::uint64_t>(d_.clock.now_ms()));

  if (!yaml && !j.contains("studio_config")) {
    // A record only, as when an SDK logs its own optimization.
    std::vector<std::string> problems;
    if (text_field(j, "dataset_name").empty()) problems.push_back("dataset_name must not be blank");
    if (text_field(j, "objective_name").empty()) problems.push_back("objective_name must not be blank");
    if (!j.contains("status") || !j["status"].is_string()) problems.push_back("status must not be null");
    else if (!core::run_status_from_string(j["status"].get<std::string>()))
      return error_response(400, "Unable to process JSON: unknown status");
    if (!problems.empty()) return errors_response(422, std::move(problems));
    store::run_record r;
    r.id = id;
    r.name = text_field(j, "name");
    if (r.name.empty()) r.name = "optimization-" + id.substr(0, 8);
    r.status = *core::run_status_from_string(j["status"].get<std::string>());
    r.objective_name = j["objective_name"].get<std::string>();
    r.dataset_name = j["dataset_name"].get<std::string>();
    r.project_name = text_field(j, "project_name");
    r.spec_json = "{}";
    r.metadata_json = j.contains("metadata") && j["metadata"].is_object() ? j["metadata"].dump() : "{}";
    if (j.contains("error_info") && j["error_info"].is_object()) {
      r.error = text_field(j["error_info"], "message");
      r.error_info_json = j["error_info"].dump();
    }
    r.created_ms = r.updated_ms = d_.clock.now_ms();
    d_.db.insert_run(r);
    return location(id);
  }

  config::load_context ctx;
  for (const auto& p : d_.cfg.providers) ctx.providers.push_back(p.name);
  ctx.datasets = [this](std::string_view name) { return d_.db.dataset_rows(std::string(name)); };
  ctx.read_dataset_files = false;
  ctx.opik_datasets = d_.cfg.opik.has_value();  // read from Opik when the run starts
  auto loaded = config::parse_run_config(body, "request body", "", ctx);
  if (!loaded.ok()) {
    std::vector<std::string> problems;
    for (const auto& p : loaded.problems) problems.push_back(config::format(p));
    return errors_response(422, std::move(problems));
  }
  if (yaml) return location(submit_yaml(loaded, body, id));
  if (loaded.spec.name.empty()) loaded.spec.name = "optimization-" + id.substr(0, 8);
  auto submission = d_.make_submission(loaded, id);
  submission.source = std::string(body);
  if (j.contains("metadata") && j["metadata"].is_object()) submission.metadata_json = j["metadata"].dump();
  submission.studio_config_json = j["studio_config"].dump();
  d_.runs.submit(std::move(submission));
  return location(id);
}

std::string optimizations_api::submit_yaml(config::loaded_run& loaded, std::string_view text, std::string id) {
  if (id.empty()) id = d_.ids.next(static_cast<std::uint64_t>(d_.clock.now_ms()));
  if (loaded.spec.name.empty()) loaded.spec.name = "optimization-" + id.substr(0, 8);
  auto submission = d_.make_submission(loaded, id);
  submission.source = std::string(text);
  submission.studio_config_json = opik::studio_config_json(loaded.spec).dump();
  d_.runs.submit(std::move(submission));
  return id;
}

http_response optimizations_api::find(const net::http_request&, const std::map<std::string, std::string>& q) {
  auto page = positive_param(q, "page", 1), size = positive_param(q, "size", 10);
  if (!page || !size) return error_response(400, "page and size must be whole numbers from 1 to 2147483647");
  store::run_query query;
  query.name_contains = q.count("name") ? q.at("name") : "";
  query.dataset_contains = q.count("dataset_name") ? q.at("dataset_name") : "";
  auto dataset_name = [&](const std::string& id) -> std::optional<std::string> {
    auto d = d_.db.find_dataset(id);
    return d && d->id == id ? std::optional<std::string>(d->name) : std::nullopt;
  };
  auto projects = [&](const std::string& id) {
    auto names = d_.db.project_names();
    std::erase_if(names, [&](const auto& n) { return !opik::in_project(n, id); });
    return names;
  };
  using on = store::run_query::condition::on;
  if (q.count("dataset_id") && !q.at("dataset_id").empty()) {
    auto name = dataset_name(q.at("dataset_id"));
    query.conditions.push_back({on::dataset_name, "", "in", name ? std::vector{*name} : std::vector<std::string>{}});
  }
  if (q.count("project_id") && !q.at("project_id").empty())
    query.conditions.push_back({on::project_name, "", "in", projects(q.at("project_id"))});
  if (auto it = q.find("filters"); it != q.end() && !it->second.empty()) {
    auto filters = nlohmann::json::parse(it->second, nullptr, false);
    if (!filters.is_array()) return error_response(400, "Invalid filters query parameter");
    for (const auto& f : filters)
      if (auto e = add_filter(f, query, dataset_name, projects)) return error_response(400, *e);
  }
  auto found = d_.db.find_runs(query, (*page - 1) * *size, *size);
  auto content = nlohmann::json::array();
  for (const auto& r : found.runs) content.push_back(view(r));
  return json_response(200, opik::page_body(*page, std::move(content), static_cast<std::size_t>(found.total)));
}

std::string optimizations_api::dataset_id_of(const std::string& dataset_name) {
  auto d = d_.db.find_dataset(dataset_name);
  return d && d->name == dataset_name ? d->id : std::string();
}

nlohmann::json optimizations_api::view(const store::run_record& r) {
  return opik::optimization_json(r, d_.db.trials(r.id), d_.db.best_metric_means(r.id), dataset_id_of(r.dataset_name));
}

http_response optimizations_api::get(const std::string& id) {
  auto r = find_exact(id);
  if (!r) return error_response(404, "Not found optimization with id '" + id + "'");
  return json_response(200, view(*r));
}

http_response optimizations_api::update(const std::string& id, std::string_view body) {
  auto j = nlohmann::json::parse(body, nullptr, false);
  if (j.is_discarded() || !j.is_object()) return error_response(400, "Unable to process JSON");
  auto r = find_exact(id);
  if (!r) return error_response(404, "Not found optimization with id '" + id + "'");
  if (j.contains("status") && !j["status"].is_null()) {
    auto status = j["status"].is_string() ? core::run_status_from_string(j["status"].get<std::string>()) : std::nullopt;
    if (!status) return error_response(400, "Unable to process JSON: unknown status");
    // Opik's rules: a run an SDK records takes any status it is sent. A Studio run (here: one
    // optd executes) ignores a late write of another terminal status once it has ended (204), and a
    // cancel of one that ended is a 409 {code, message}, which Opik's Stop button shows. optd
    // also refuses (409) other statuses while it executes the run: it alone knows how it ends.
    if (r->executor.empty()) {
      r->status = *status;
      r->updated_ms = d_.clock.now_ms();
      d_.db.update_run(*r);
    } else if (*status == core::run_status::cancelled && r->status != *status) {
      if (core::is_final(r->status) || d_.runs.cancel(id) == engine::cancel_result::already_finished)
        return error_response(409, cannot_cancel(r->status));
    } else if (*status != r->status && !core::is_final(r->status)) {
      return errors_response(409, {"optd sets the status of a run it executes; only 'cancelled' may be written"});
    }
  }
  // A record's error_info, with or without a status, kept whole as Opik keeps it (its UI shows the
  // type); a run optd executes has its own.
  if (j.contains("error_info") && j["error_info"].is_object() && r->executor.empty()) {
    auto fresh = find_exact(id);
    fresh->error = text_field(j["error_info"], "message");
    fresh->error_info_json = j["error_info"].dump();
    fresh->updated_ms = d_.clock.now_ms();
    d_.db.update_run(*fresh);
  }
  if (j.contains("name") || j.contains("metadata")) {
    auto fresh = find_exact(id);
    auto meta = nlohmann::json::parse(fresh->metadata_json, nullptr, false);
    if (!meta.is_object()) meta = nlohmann::json::object();
    if (j.contains("metadata") && j["metadata"].is_object()) meta.merge_patch(j["metadata"]);
    auto name = j.contains("name") && j["name"].is_string() && !j["name"].get<std::string>().empty()
                    ? j["name"].get<std::string>() : fresh->name;
    d_.db.update_run_details(id, name, meta.dump(), d_.clock.now_ms());
  }
  return no_content();
}

http_response optimizations_api::cancel(const std::string& id) {
  switch (d_.runs.cancel(id)) {
    case engine::cancel_result::cancelled: return no_content();
    case engine::cancel_result::not_found: return error_response(404, "Not found optimization with id '" + id + "'");
    case engine::cancel_result::already_finished: break;
  }
  auto r = find_exact(id);
  return error_response(409, cannot_cancel(r ? r->status : core::run_status::error));
}

http_response optimizations_api::remove(std::string_view body) {
  auto j = nlohmann::json::parse(body, nullptr, false);
  if (j.is_discarded() || !j.is_object()) return error_response(400, "Unable to process JSON");
  if (!j.contains("ids") || !j["ids"].is_array() || j["ids"].empty())
    return errors_response(422, {"ids must not be empty"});
  for (const auto& id : j["ids"])
    if (id.is_string() && find_exact(id.get<std::string>())) d_.runs.remove(id.get<std::string>());
  return no_content();
}

http_response optimizations_api::logs_link(const net::http_request& req, const std::string& id) {
  if (!find_exact(id)) return error_response(404, "Not found optimization with id '" + id + "'");
  auto expires = d_.clock.now_ms() + 3'600'000;  // an hour, as Opik presigns its S3 link
  return json_response(200, {{"url", origin_of(req) + "/api/optd/runs/" + id + "/log.gz?expires=" +
                                         std::to_string(expires) + "&signature=" + log_signature(id, expires)},
                             {"expires_at", core::iso8601(expires)}});
}

std::string optimizations_api::log_signature(const std::string& id, std::int64_t expires_ms) const {
  auto message = id + "\n" + std::to_string(expires_ms);
  unsigned char mac[EVP_MAX_MD_SIZE];
  unsigned int size = 0;
  HMAC(EVP_sha256(), link_key_.data(), static_cast<int>(link_key_.size()),
       reinterpret_cast<const unsigned char*>(message.data()), message.size(), mac, &size);
  static constexpr char hex[] = "0123456789abcdef";
  std::string out;
  for (unsigned int i = 0; i < size; ++i) (out += hex[mac[i] >> 4]) += hex[mac[i] & 15];
  return out;
}

http_response optimizations_api::log_download(const net::http_request& req, const std::string& id, bool authorized) {
  if (!authorized) {
    auto q = parse_query(req.target);
    std::int64_t expires = 0;
    try {
      expires = q.count("expires") ? std::stoll(q["expires"]) : 0;
    } catch (const std::exception&) {
    }
    if (expires < d_.clock.now_ms() || !same_secret(q["signature"], log_signature(id, expires)))
      return error_response(403, "the log link is not signed by this optd, or it has expired");
  }
  auto text = log_text(id);
  if (text.status != 200) return text;
  return {200, {{"Content-Type", "application/gzip"}}, net::deflate(text.body, net::zlib_format::gzip)};
}

std::optional<engine::run_progress> optimizations_api::current_progress(const std::string& id) {
  if (auto live = d_.runs.live_progress(id)) return live;
  auto r = find_exact(id);
  if (!r) return std::nullopt;
  return progress_of(*r, static_cast<int>(d_.db.trials(id).size()));
}

http_response optimizations_api::progress(const std::string& id) {
  auto p = current_progress(id);
  if (!p) return error_response(404, "Not found optimization with id '" + id + "'");
  return json_response(200, engine::to_json(*p));
}

http_response optimizations_api::events(const std::string& id) {
  auto s = std::make_shared<event_stream>();
  s->subscription = d_.runs.progress().subscribe(id);  // before reading the state: no change is missed
  s->first = current_progress(id);
  if (!s->first) return error_response(404, "Not found optimization with id '" + id + "'");
  http_response res{200, {{"Content-Type", "text/event-stream"}, {"Cache-Control", "no-cache"}}, {}};
  res.stream = [s] { return next_event(s); };
  return res;
}

http_response optimizations_api::results(const std::string& id_or_prefix) {
  auto r = d_.db.find_run(id_or_prefix);
  if (!r) {
    if (auto why = ambiguous_run_prefix(d_.db, id_or_prefix); !why.empty()) return error_response(400, why);
    return error_response(404, "Not found optimization with id '" + id_or_prefix + "'");
  }
  return json_response(200, run_results_json(d_.db, *r));
}

http_response optimizations_api::log_text(const std::string& id) {
  if (!find_exact(id)) return error_response(404, "Not found optimization with id '" + id + "'");
  std::string text;
  for (const auto& [ts, line] : d_.db.logs(id)) text += core::iso8601(ts) + " " + line + "\n";
  return {200, {{"Content-Type", "text/plain; charset=utf-8"}}, std::move(text)};
}

}  // namespace optd::api
