// `optd serve`: the daemon. Runs come in through the HTTP API (Opik's optimization endpoints and
// optd's YAML submission) and the inbox folder, wait in a queue, and run at most
// max_concurrent_runs at once on one event loop. SIGTERM or SIGINT drains (see below) and exits 0;
// unfinished runs resume at the next start.
#include <csignal>
#include <cstdio>
#include <fstream>
#include <functional>
#include <iostream>
#include <map>
#include <optional>
#include <random>

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/signal_set.hpp>
#include <boost/asio/ssl/context.hpp>
#include <boost/asio/steady_timer.hpp>

#include "api/optimizations_api.hpp"
#include "app/commands.hpp"
#include "app/inbox.hpp"
#include "app/paths.hpp"
#include "app/providers.hpp"
#include "app/run_loading.hpp"
#include "app/run_preparation.hpp"
#include "app/store_owner.hpp"
#include "app/studio_jobs.hpp"
#include "app/systemd_notifier.hpp"
#include "engine/clock.hpp"
#include "net/http_server.hpp"
#include "opik/cancel_watcher.hpp"
#include "opik/outbox_sender.hpp"
#include "opik/recorder.hpp"
#include "queue/studio_worker.hpp"
#include "store/sqlite.hpp"
#include "telemetry/log.hpp"
#include "telemetry/metrics.hpp"

namespace optd::app {

namespace asio = boost::asio;

namespace {

using submission_maker = std::function<engine::run_submission(config::loaded_run&, std::string id)>;

// How often runs stopped by a store that could not be written are tried again: each try may hold
// the event loop for the store's busy timeout (5 s) while another process keeps the store locked.
constexpr std::chrono::seconds store_retry_period{10};

// Resumes one run left unfinished when its process stopped or crashed (this daemon's, or an
// `optd run` that was killed) from its journal: what was answered is replayed, only what was in
// flight is asked again. One without its config (an `optd run` of an older optd) cannot be, and
// is ended in error. `after` says why (a restart, or the store taking writes again).
void resume_run(store::store& db, const config::daemon_config& cfg, engine::run_manager& runs, core::clock& clock,
                const submission_maker& make_submission, const telemetry::logger& log, store::run_record r,
                const std::string& after) {
  if (r.source.empty()) {
    end_left_run(db, r, "its " + r.executor + " ended before the run finished, and its config was not kept to resume it "
                                              "from; what it answered is in the store",
                 clock.now_ms());
    log.run(telemetry::priority::error, r.id, "ended: left unfinished by its " + r.executor + ", cannot be resumed");
    return;
  }
  auto ctx = make_load_context(&db, cfg);
  ctx.read_dataset_files = false;  // its dataset was stored when it was submitted; the file may have changed since
  ctx.opik_datasets = cfg.opik.has_value();  // or it was to be read from Opik, and the restart came first
  auto loaded = config::parse_run_config(r.source, "run " + r.id, "", ctx);
  if (!loaded.ok()) {
    r.status = core::run_status::error;
    r.finish_reason = "error";
    r.error = "cannot resume: " + config::format(loaded.problems.front());
    r.ended_ms = r.updated_ms = clock.now_ms();
    db.update_run(r);
    log.run(telemetry::priority::error, r.id, r.error);
    return;
  }
  if (loaded.spec.name.empty()) loaded.spec.name = r.name;
  auto submission = make_submission(loaded, r.id);
  submission.source = r.source;
  submission.resumed = true;
  auto left_by = r.executor == "optd serve" ? std::string() : ", left by its " + r.executor;
  log.run(telemetry::priority::notice, r.id, "resuming (was " + std::string(core::to_string(r.status)) + left_by + ")");
  db.append_log(r.id, clock.now_ms(), left_by.empty() ? "resuming after " + after : "resuming" + left_by);
  runs.submit(std::move(submission));
}

// Every run left unfinished, but those this daemon is executing, those an Opik client records
// (not optd's to touch) and those `skip` keeps (a Studio worker's claims: the worker resumes them
// once Redis confirms they are still its own).
void resume_unfinished(store::store& db, const config::daemon_config& cfg, engine::run_manager& runs,
                       core::clock& clock, const submission_maker& make_submission, const telemetry::logger& log,
                       const std::function<bool(const std::string&)>& skip, const std::string& after = "a restart") {
  for (auto& r : db.unfinished_runs()) {
    if (!executed_by_optd(r) || runs.active(r.id) || (skip && skip(r.id))) continue;
    resume_run(db, cfg, runs, clock, make_submission, log, std::move(r), after);
  }
}

// STATUS= for systemd: what `systemctl status optd` shows.
std::string status_line(const engine::run_manager& runs) {
  auto t = runs.totals();
  char spend[32];
  std::snprintf(spend, sizeof spend, "$%.4f", t.cost_usd);
  return std::to_string(t.running) + " runs running, " + std::to_string(t.queued) + " queued; " +
         std::to_string(t.trials) + " trials, " + spend + " spent by running runs";
}

// A timer on the event loop that calls `beat` every `period` with how late it fired.
class heartbeat {
 public:
  heartbeat(asio::any_io_executor ex, std::chrono::nanoseconds period, std::function<void(std::chrono::nanoseconds)> beat)
      : timer_(ex), period_(period), beat_(std::move(beat)) {}
  void start() {
    due_ = std::chrono::steady_clock::now() + period_;
    arm();
  }
  void stop() {
    stopped_ = true;
    timer_.cancel();
  }

 private:
  void arm() {
    timer_.expires_at(due_);
    timer_.async_wait([this](const boost::system::error_code& ec) {
      if (ec || stopped_) return;
      auto now = std::chrono::steady_clock::now();
      beat_(now - due_);
      due_ = now + period_;
      arm();
    });
  }
  asio::steady_timer timer_;
  std::chrono::nanoseconds period_;
  std::function<void(std::chrono::nanoseconds)> beat_;
  std::chrono::steady_clock::time_point due_;
  bool stopped_ = false;
};

}  // namespace

int serve_command(const serve_options& options, std::ostream& out, std::ostream& err) {
  telemetry::logger log(err);
  auto loaded_cfg = load_daemon_config(options.common.config);
  if (print_problems(loaded_cfg.problems, err)) return exit_config;
  auto& cfg = loaded_cfg.config;
  if (!options.listen.empty()) cfg.listen = options.listen;
  auto listen = config::parse_listen(cfg.listen);
  if (!listen) {
    log(telemetry::priority::error, "--listen: " + listen.error());
    return exit_usage;
  }
  auto state_dir = resolve_state_dir(options.common.state_dir, cfg);
  auto owner = own_state_dir(state_dir, "optd serve", err);
  if (!owner) return exit_in_use;
  store::store db(store_path(state_dir));
  systemd_notifier notifier;

  asio::io_context ioc{1};
  engine::real_clock clock;
  core::uuid_v7_generator ids(std::random_device{}());
  telemetry::metrics metrics(OPTD_VERSION);
  provider_set providers(ioc.get_executor(), cfg, clock, db, &metrics, [&](std::string_view id, std::string_view line) {
    if (id.empty()) return log(telemetry::priority::warning, line);
    db.append_log(std::string(id), clock.now_ms(), line);
    log.run(telemetry::priority::info, id, line);
  });
  engine::run_environment env{db, clock, ids,
                              [&](std::string_view name) { return providers.find(name); },
                              [&](std::string_view p, std::string_view m) { return providers.price(p, m); },
                              [&](std::string_view id, std::string_view line) {
                                log.run(telemetry::priority::info, id, line);
                              },
                              &metrics};
  env.version = OPTD_VERSION;
  // Recording in Opik (opik: in the config, or OPIK_URL_OVERRIDE): the recorder queues writes in
  // the store's outbox, the sender delivers them, across restarts.
  auto opik_tls = net::make_client_tls_context();
  net::http_client opik_client(ioc.get_executor(), opik_tls.get());
  std::optional<opik::outbox_sender> opik_sender;
  std::optional<opik::recorder> opik_recorder;
  std::optional<opik::dataset_reader> opik_datasets;  // a run whose dataset optd lacks reads it from Opik
  if (cfg.opik) {
    try {
      opik_sender.emplace(ioc.get_executor(), db, opik_client, *cfg.opik, &metrics);
    } catch (const std::exception& e) {
      log(telemetry::priority::error, e.what());
      return exit_config;
    }
    opik_datasets.emplace(ioc.get_executor(), opik_client, *cfg.opik);
    opik_recorder.emplace(db, clock, cfg.opik->url + " " + cfg.opik->workspace, cfg.opik->project_name,
                          [&] { opik_sender->notify(); });
    env.observer = &*opik_recorder;
    metrics.add_collector([&] {
      auto s = db.outbox_state();
      double age = s.oldest_ms ? static_cast<double>(clock.now_ms() - s.oldest_ms) / 1000.0 : 0.0;
      metrics.set_outbox(static_cast<double>(s.pending), age, static_cast<double>(s.dead));
    });
  }
  engine::run_manager runs(ioc.get_executor(), env, cfg.max_concurrent_runs);
  std::optional<opik::cancel_watcher> opik_cancels;  // a cancel in Opik's UI stops the run here
  if (cfg.opik) opik_cancels.emplace(ioc.get_executor(), runs, opik_client, *cfg.opik);
  metrics.add_collector([&] {
    std::map<std::string, std::int64_t> by_status{{"initialized", 0}, {"running", 0}, {"completed", 0},
                                                  {"cancelled", 0}, {"error", 0}};
    for (const auto& [status, n] : db.count_runs_by_status()) by_status[status] = n;
    for (const auto& [status, n] : by_status) metrics.set_runs(status, static_cast<double>(n));
    metrics.set_evaluations_pending(runs.totals().evaluations_pending);
  });
  // Whom a run is in Opik: the opik: section's workspace and key, or a Studio job's (set below).
  opik::identity_lookup opik_identity;
  // A run whose dataset is in Opik is prepared when it starts, once the dataset is read.
  submission_maker make_submission = [&](config::loaded_run& loaded, std::string id) {
    return serve_submission(db, opik_datasets ? &*opik_datasets : nullptr, cfg, loaded, std::move(id), clock, ids,
                            opik_identity);
  };
  api::optimizations_api api({db, runs, cfg, clock, ids, make_submission, &metrics, OPTD_VERSION});
  std::optional<inbox> drop_folder;
  if (!cfg.inbox_dir.empty()) {
    auto ctx = make_load_context(&db, cfg);
    ctx.opik_datasets = cfg.opik.has_value();
    drop_folder.emplace(
        ioc.get_executor(), cfg.inbox_dir, ctx,
        [&api](config::loaded_run& loaded, std::string_view text) { return api.submit_yaml(loaded, text); },
        [&log](std::string_view line) { log(telemetry::priority::notice, line); });
    try {
      drop_folder->start();
    } catch (const std::exception& e) {
      log(telemetry::priority::error, e.what());
      return exit_failure;
    }
  }
  // optd as a worker of Opik's Studio queue: the runs of its claimed jobs are its to resume, once
  // Redis confirms they are still its own.
  std::optional<queue::studio_worker> worker;
  std::function<bool(const std::string&)> claimed_by_worker;
  if (cfg.studio_worker) {
    auto worker_cfg = *cfg.studio_worker;
    if (worker_cfg.name.empty()) worker_cfg.name = queue::studio_worker::default_name(state_dir);
    studio_job_context jobs{db, cfg, runs, env, make_submission, [&] { opik_sender->notify(); }};
    queue::studio_worker_context worker_ctx{
        runs, db, clock, log, &metrics, [jobs](const queue::parsed_job& job) { return start_studio_job(jobs, job); },
        [&](const std::string& id) {
          auto r = db.find_run(id);
          if (r && !core::is_final(r->status) && !runs.active(id))
            resume_run(db, cfg, runs, clock, make_submission, log, *r, "a restart");
        },
        [&](const std::string& id, const std::string& why) {
          if (auto r = db.find_run(id); r && !core::is_final(r->status)) end_left_run(db, *r, why, clock.now_ms());
        },
        OPTD_VERSION, cfg.max_concurrent_runs};
    worker.emplace(ioc.get_executor(), std::move(worker_ctx), std::move(worker_cfg));
    // A job's run is its workspace in Opik, with its user's key when the job has one: for the
    // recording, the cancel watch, its dataset and its calls through Opik's gateway. The key
    // stays in the store until the run's last write reached Opik.
    opik_identity = [&](const std::string& id) -> std::optional<opik::run_identity> {
      if (auto who = worker->identity(id)) return who;
      if (auto job = db.studio_job_of_run(id)) return opik::run_identity{job->workspace_name, job->api_key};
      return std::nullopt;
    };
    opik_sender->identify(opik_identity);
    opik_cancels->identify(opik_identity);
    providers.identify([&](std::string_view id) {
      std::vector<net::http_header> headers;
      if (auto who = worker->identity(std::string(id))) {
        if (!who->api_key.empty()) headers.push_back({"authorization", who->api_key});
        if (!who->workspace.empty()) headers.push_back({"Comet-Workspace", who->workspace});
      }
      return headers;
    });
    claimed_by_worker = [&db](const std::string& id) { return queue::studio_worker::is_claimed_run(db, id); };
    runs.on_run_ended([&worker](const std::string& id) { worker->run_ended(id); });
  }
  resume_unfinished(db, cfg, runs, clock, make_submission, log, claimed_by_worker);
  // A run stopped by a store it could not write (a full disk, a lock held too long) is left live
  // in the store; every store_retry_period, while some are, the daemon tries to resume them.
  asio::steady_timer store_retry(ioc);
  bool store_retry_armed = false, stopping = false;
  std::function<void()> arm_store_retry = [&] {
    if (store_retry_armed || stopping) return;  // a drain resumes nothing: the next start does
    store_retry_armed = true;
    store_retry.expires_after(store_retry_period);
    store_retry.async_wait([&](const boost::system::error_code& ec) {
      store_retry_armed = false;
      if (ec || stopping) return;
      try {
        resume_unfinished(db, cfg, runs, clock, make_submission, log, claimed_by_worker, "the store took writes again");
      } catch (const store::unavailable& e) {
        log(telemetry::priority::warning, std::string("the store still cannot be written: ") + e.what());
        arm_store_retry();
      } catch (const std::exception& e) {
        log(telemetry::priority::error, std::string("resuming runs after a store failure failed: ") + e.what());
      }
    });
  };
  runs.on_store_unavailable([&](const std::string&) { arm_store_retry(); });
  if (opik_sender) {
    auto report = [&log](const std::string& why) { log(telemetry::priority::error, why); };
    opik_sender->start(report);
    opik_cancels->start(report);
    log(telemetry::priority::notice, "recording runs in Opik at " + cfg.opik->url);
  }
  if (worker) worker->start();
  net::http_server server(ioc.get_executor(), [&api](net::http_request r) { return api.handle(std::move(r)); });
  unsigned short port = 0;
  try {
    port = server.listen(listen->host, listen->port);
  } catch (const std::exception& e) {
    log(telemetry::priority::error, "cannot listen on " + cfg.listen + ": " + e.what());
    return exit_failure;
  }
  server.start();
  // The loop's heartbeat: its lag, WATCHDOG=1 (a wedged loop misses it and systemd restarts
  // optd), and STATUS= when it changed. Twice per WatchdogSec=, at least every second.
  auto period = std::chrono::nanoseconds(std::chrono::seconds(1));
  if (auto wd = systemd_notifier::watchdog_interval()) period = std::min<std::chrono::nanoseconds>(period, *wd / 2);
  heartbeat beat(ioc.get_executor(), period, [&](std::chrono::nanoseconds lag) {
    metrics.event_loop_lag(lag);
    notifier.watchdog();
    notifier.status(status_line(runs));
  });
  beat.start();

  // SIGHUP: re-read the daemon config. Providers, their keys and prices, the default provider,
  // max_concurrent_runs, drain_timeout and the API token take effect; running runs keep the
  // providers they started with. listen, state_dir and inbox_dir need a restart. A bad file
  // changes nothing.
  asio::signal_set hangup(ioc, SIGHUP);
  std::function<void(const boost::system::error_code&, int)> on_hangup = [&](const boost::system::error_code& ec, int) {
    if (ec) return;
    notifier.reloading();
    auto fresh = load_daemon_config(options.common.config);
    if (!fresh.ok()) {
      for (const auto& p : fresh.problems) log(telemetry::priority::error, "reload: " + config::format(p));
      log(telemetry::priority::warning, "reload failed; the running config stays in effect");
    } else {
      auto& c = fresh.config;
      if (c.state_dir != cfg.state_dir || c.inbox_dir != cfg.inbox_dir || (options.listen.empty() && c.listen != cfg.listen))
        log(telemetry::priority::warning, "reload: listen, state_dir and inbox_dir change only at a restart");
      cfg.providers = std::move(c.providers);
      cfg.default_provider = std::move(c.default_provider);
      cfg.max_concurrent_runs = c.max_concurrent_runs;
      cfg.drain_timeout = c.drain_timeout;
      cfg.api_token = std::move(c.api_token);
      providers.reload();
      runs.set_max_running(cfg.max_concurrent_runs);
      log(telemetry::priority::notice, "reloaded " + c.source + ": " + std::to_string(cfg.providers.size()) +
                                           " providers, max_concurrent_runs " +
                                           std::to_string(cfg.max_concurrent_runs));
    }
    notifier.ready(status_line(runs));
    hangup.async_wait(on_hangup);
  };
  hangup.async_wait(on_hangup);

  // SIGTERM/SIGINT drain: stop admitting, let calls in flight finish for drain_timeout, then abort
  // the rest (left pending). Runs stay live in the store and resume at the next start.
  asio::signal_set signals(ioc, SIGINT, SIGTERM);
  asio::steady_timer drain_deadline(ioc);
  signals.async_wait([&](const boost::system::error_code& ec, int sig) {
    if (ec) return;
    notifier.stopping();
    log(telemetry::priority::notice,
        "signal " + std::to_string(sig) + ": draining " + std::to_string(runs.running()) + " running runs for at most " +
            std::to_string(cfg.drain_timeout.count()) + " ms; " + std::to_string(runs.queued()) +
            " queued runs wait for the next start");
    server.stop();
    if (drop_folder) drop_folder->stop();
    if (worker) worker->stop();  // its claims stay its own, resumed at the next start
    beat.stop();
    hangup.cancel();
    if (opik_sender) {
      opik_sender->stop();  // what is not delivered waits in the store
      opik_cancels->stop();
    }
    stopping = true;
    store_retry.cancel();
    runs.suspend(false);
    drain_deadline.expires_after(cfg.drain_timeout);
    drain_deadline.async_wait([&](const boost::system::error_code& timer_ec) {
      if (!timer_ec) runs.suspend(true);
    });
    asio::co_spawn(ioc, runs.wait_idle(), [&](std::exception_ptr) { drain_deadline.cancel(); });
  });
  auto url_host = listen->host.find(':') == std::string::npos ? listen->host : "[" + listen->host + "]";
  out << "optd serve: listening on http://" << url_host << ":" << port << "/api (store "
      << store_path(state_dir) << ")" << std::endl;
  if (!options.port_file.empty()) {
    std::ofstream(options.port_file + ".tmp") << port << "\n";
    std::rename((options.port_file + ".tmp").c_str(), options.port_file.c_str());
  }
  // Ready: the store is open, unfinished runs are back in the queue, the API answers and the
  // signals are handled.
  notifier.ready(status_line(runs));

  ioc.run();
  log(telemetry::priority::notice, "stopped");
  return exit_ok;
}

}  // namespace optd::app
