// optd submit / list / status / watch / cancel / logs.
#include "cli/client_commands.hpp"

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <iomanip>
#include <iostream>
#include <sstream>
#include <thread>

#include <unistd.h>

#include "api/run_results.hpp"
#include "cli/daemon_client.hpp"
#include "config/run_config.hpp"
#include "core/run_status.hpp"
#include "engine/progress.hpp"

namespace optd::cli {

namespace {

constexpr int exit_ok = 0, exit_failure = 1, exit_unavailable = 69, exit_config = 78, exit_cancelled = 130;

// The daemon's origin. The URL `optd serve` prints (…/api, an Opik client's base URL) is taken
// too: a trailing /api or / is dropped.
std::string server_of(const config::daemon_config& cfg, const client_options& o) {
  std::string server = o.server;
  if (server.empty())
    if (const char* env = std::getenv("OPTD_SERVER"); env && *env) server = env;
  if (server.empty()) return "http://" + cfg.listen;
  while (!server.empty() && server.back() == '/') server.pop_back();
  if (server.size() >= 4 && server.compare(server.size() - 4, 4, "/api") == 0) server.resize(server.size() - 4);
  return server;
}

daemon_client connect(const config::daemon_config& cfg, const client_options& o) {
  std::string token = cfg.api_token.reveal();
  if (const char* env = std::getenv("OPTD_API_TOKEN"); env && *env) token = env;
  return daemon_client(server_of(cfg, o), token);
}

// Reports a failed exchange; returns the exit code for it.
int report(const boost::system::result<net::http_response>& r, daemon_client& c, std::ostream& err) {
  if (!r) {
    err << "optd: cannot reach the daemon at " << c.server() << ": " << r.error().message() << "\n";
    return exit_unavailable;
  }
  err << "optd: " << error_message(*r) << "\n";
  return r->status == 422 ? exit_config : exit_failure;
}

// `o`'s score `key`, or "-" when it has none (Opik leaves an absent score out).
std::string score_of(const nlohmann::json& o, const char* key) {
  auto it = o.find(key);
  if (it == o.end() || !it->is_number()) return "-";
  std::ostringstream s;
  s << std::fixed << std::setprecision(4) << it->get<double>();
  return s.str();
}

std::string line_of(const nlohmann::json& o) {
  std::ostringstream s;
  s << o.value("status", "?") << " · " << o.value("num_trials", 0) << " trials · best " << score_of(o, "best_objective_score")
    << " (baseline " << score_of(o, "baseline_objective_score") << ") · $" << std::fixed << std::setprecision(6)
    << o.value("total_optimization_cost", 0.0);
  // A failed run says why, as Opik's UI shows it: the error's type and message.
  if (auto info = o.find("error_info"); info != o.end() && info->is_object())
    s << "\n  " << info->value("exception_type", "error") << ": " << info->value("message", "");
  return s.str();
}

int exit_for(const std::string& status) {
  return status == "completed" ? exit_ok : status == "cancelled" ? exit_cancelled : exit_failure;
}

std::optional<nlohmann::json> get_run(daemon_client& c, const std::string& id, std::ostream& err, int& code) {
  auto r = c.call("GET", "/v1/private/optimizations/" + id);
  if (!r || r->status != 200) {
    code = report(r, c, err);
    return std::nullopt;
  }
  return nlohmann::json::parse(r->body);
}

// What the daemon has of the run `id` names (a unique prefix is enough): its results
// (api/run_results.hpp), or the exit code when there is no such run or no daemon (reported).
struct found_run {
  nlohmann::json results;
  int code = exit_ok;
  std::string id() const { return results.value("id", std::string()); }
};

found_run find_run(daemon_client& c, const std::string& id, std::ostream& err) {
  auto r = c.call("GET", "/optd/runs/" + id);
  if (r && r->status == 404) {
    err << "optd: no run '" << id << "' on " << c.server() << "\n";
    return {nullptr, exit_failure};
  }
  if (!r || r->status != 200) return {nullptr, report(r, c, err)};
  return {nlohmann::json::parse(r->body, nullptr, false), exit_ok};
}

// A client and the full id of the run `id` names; an empty id (reported, with its exit code in
// `code`) when there is none.
std::pair<daemon_client, std::string> connect_to_run(const config::daemon_config& cfg, const client_options& o,
                                                     const std::string& id, std::ostream& err, int& code) {
  auto c = connect(cfg, o);
  auto found = find_run(c, id, err);
  code = found.code;
  return {std::move(c), found.code == exit_ok ? found.id() : std::string()};
}

}  // namespace

int submit_command(const config::daemon_config& cfg, const client_options& o, const std::string& file, bool watch,
                   std::ostream& out, std::ostream& err) {
  // Providers are the daemon's to judge: this machine's daemon config may not have them.
  config::load_context ctx;
  auto loaded = config::load_run_config_file(file, ctx);
  const auto& s = loaded.spec;
  // Without a dataset file the dataset must already be on the daemon: that is checked there.
  bool only_missing_dataset = loaded.problems.size() == 1 && s.dataset_file.empty() &&
                              loaded.problems[0].message.find("is not stored") != std::string::npos;
  if (!loaded.ok() && !only_missing_dataset) {
    for (const auto& p : loaded.problems) err << config::format(p) << "\n";
    return exit_config;
  }
  auto c = connect(cfg, o);
  if (!s.dataset_file.empty()) {
    auto have = c.call("POST", "/v1/private/datasets/retrieve", nlohmann::json{{"dataset_name", s.dataset_name}}.dump());
    if (!have) return report(have, c, err);
    if (have->status == 200) {
      auto count = nlohmann::json::parse(have->body).value("dataset_items_count", 0);
      if (count != static_cast<long long>(loaded.dataset_rows.size())) {
        err << "optd: the daemon already has a dataset '" << s.dataset_name << "' with " << count
            << " items; " << s.dataset_file << " has " << loaded.dataset_rows.size()
            << ". Give the run another dataset_name.\n";
        return exit_failure;
      }
    } else {
      for (std::size_t i = 0; i < loaded.dataset_rows.size(); i += 500) {
        auto items = nlohmann::json::array();
        for (std::size_t k = i; k < std::min(i + 500, loaded.dataset_rows.size()); ++k)
          items.push_back({{"source", "sdk"}, {"data", loaded.dataset_rows[k]}});
        auto put = c.call("PUT", "/v1/private/datasets/items",
                          nlohmann::json{{"dataset_name", s.dataset_name}, {"items", items}}.dump());
        if (!put || put->status != 204) return report(put, c, err);
      }
      err << "optd: uploaded " << loaded.dataset_rows.size() << " items as dataset '" << s.dataset_name << "'\n";
    }
  }
  std::ifstream in(file, std::ios::binary);
  std::stringstream text;
  text << in.rdbuf();
  auto r = c.call("POST", "/optd/runs", text.str(), "application/yaml");
  if (!r || r->status != 201) return report(r, c, err);
  auto id = nlohmann::json::parse(r->body).value("id", std::string());
  out << id << "\n";
  return watch ? watch_command(cfg, o, id, out, err) : exit_ok;
}

int list_command(const config::daemon_config& cfg, const client_options& o, std::ostream& out, std::ostream& err) {
  auto c = connect(cfg, o);
  auto r = c.call("GET", "/v1/private/optimizations?page=1&size=50");
  if (!r || r->status != 200) return report(r, c, err);
  auto j = nlohmann::json::parse(r->body);
  if (o.json) {
    out << j.dump(2) << "\n";
    return exit_ok;
  }
  out << std::left << std::setw(38) << "ID" << std::setw(12) << "STATUS" << std::setw(8) << "TRIALS" << std::setw(10)
      << "BASELINE" << std::setw(10) << "BEST" << "NAME\n";
  for (const auto& run : j["content"])
    out << std::setw(38) << run.value("id", "") << std::setw(12) << run.value("status", "") << std::setw(8)
        << run.value("num_trials", 0) << std::setw(10) << score_of(run, "baseline_objective_score") << std::setw(10)
        << score_of(run, "best_objective_score") << run.value("name", "") << "\n";
  return exit_ok;
}

int status_command(const config::daemon_config& cfg, const client_options& o, const std::string& id_in,
                   std::ostream& out, std::ostream& err) {
  int code = exit_ok;
  auto [c, id] = connect_to_run(cfg, o, id_in, err, code);
  if (id.empty()) return code;
  auto run = get_run(c, id, err, code);
  if (!run) return code;
  if (o.json) {
    out << run->dump(2) << "\n";
    return exit_ok;
  }
  out << run->value("id", "") << "  " << run->value("name", "") << "\n  " << line_of(*run) << "\n";
  // Recording in Opik: how far behind it is.
  if (auto h = c.call("GET", "/optd/health"); h && h->status == 200) {
    auto j = nlohmann::json::parse(h->body, nullptr, false);
    if (j.is_object() && j.contains("opik"))
      out << "  opik " << j["opik"].value("url", "") << ": " << j["opik"].value("outbox_pending", 0)
          << " writes waiting (oldest " << j["opik"].value("outbox_oldest_age_ms", 0) / 1000 << " s), "
          << j["opik"].value("outbox_refused", 0) << " refused\n";
  }
  return exit_ok;
}

int watch_command(const config::daemon_config& cfg, const client_options& o, const std::string& id_in,
                  std::ostream& out, std::ostream& err) {
  int code = exit_ok;
  auto [c, id] = connect_to_run(cfg, o, id_in, err, code);
  if (id.empty()) return code;
  bool tty = isatty(STDERR_FILENO) == 1;
  std::optional<engine::run_progress> last;
  const daemon_client::event_handler draw = [&](std::string_view event, std::string_view data) {
    if (event != "progress") return;
    auto p = engine::progress_from_json(nlohmann::json::parse(data, nullptr, false));
    // A bar redrawn in place on a terminal; elsewhere a line per trial and per status.
    if (tty)
      err << "\r" << engine::fit_to_columns(engine::render_progress(p), engine::terminal_columns(STDERR_FILENO))
          << "\x1b[K" << std::flush;
    else if (!last || p.trials_done != last->trials_done || p.status != last->status)
      err << engine::render_progress(p) << "\n";
    last = p;
  };
  // The daemon streams the run's progress as it changes and ends the stream after a final
  // status. A stream that ends before (the daemon is stopping; it resumes the run when it starts
  // again) is followed again once the daemon is back, if that takes less than a minute.
  for (int waited_s = 0;;) {
    auto r = c.follow("/optd/runs/" + id + "/events", draw);
    if (r && r->status != 200) return report(r, c, err);
    if (last && core::is_final(last->status)) break;
    if (r) {
      if (tty) err << "\n";
      err << "optd: the daemon ended the stream of run " << id << " before the run ended; waiting for it\n";
      waited_s = 0;
    } else if (waited_s >= 60) {
      err << "optd: gave up following run " << id << ": cannot reach the daemon at " << c.server() << ": "
          << r.error().message() << "\n";
      return exit_unavailable;
    }
    // A person is waiting for a daemon to come back; nothing else depends on this pause.
    std::this_thread::sleep_for(std::chrono::seconds(1));
    ++waited_s;
  }
  auto run = get_run(c, id, err, code);
  if (!run) return code;
  if (tty) err << "\n";
  err << line_of(*run) << "\n";
  out << id << " " << core::to_string(last->status) << "\n";
  return exit_for(std::string(core::to_string(last->status)));
}

int cancel_command(const config::daemon_config& cfg, const client_options& o, const std::string& id_in,
                   std::ostream& out, std::ostream& err) {
  int code = exit_ok;
  auto [c, id] = connect_to_run(cfg, o, id_in, err, code);
  if (id.empty()) return code;
  auto r = c.call("PUT", "/v1/private/optimizations/" + id, R"({"status":"cancelled"})");
  if (!r || r->status != 204) return report(r, c, err);
  out << id << " cancelled\n";
  return exit_ok;
}

int results_command(const config::daemon_config& cfg, const client_options& o, const std::string& store_path,
                    const std::string& id, std::ostream& out, std::ostream& err) {
  nlohmann::json results;
  if (o.server.empty() && std::filesystem::exists(store_path)) {
    store::store db(store_path);
    if (auto run = db.find_run(id)) results = api::run_results_json(db, *run);
    else if (auto why = api::ambiguous_run_prefix(db, id); !why.empty()) {
      err << "optd: " << why << "\n";
      return exit_failure;
    }
  }
  if (results.is_null()) {
    auto c = connect(cfg, o);
    auto found = find_run(c, id, err);
    if (found.code != exit_ok) return found.code;
    results = std::move(found.results);
  }
  if (o.json) out << results.dump(2) << "\n";
  else api::print_run_results(results, out);
  return exit_ok;
}

int logs_command(const config::daemon_config& cfg, const client_options& o, const std::string& id_in,
                 std::ostream& out, std::ostream& err) {
  int code = exit_ok;
  auto [c, id] = connect_to_run(cfg, o, id_in, err, code);
  if (id.empty()) return code;
  auto text = c.call("GET", "/optd/runs/" + id + "/log");
  if (!text || text->status != 200) return report(text, c, err);
  out << text->body;
  return exit_ok;
}

}  // namespace optd::cli
