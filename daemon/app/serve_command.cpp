// `optd serve`: the daemon. Runs come in through the HTTP API (Opik's optimization endpoints and
// optd's YAML submission) and the inbox folder, wait in a queue, and run at most
// max_concurrent_runs at once on one event loop. SIGTERM or SIGINT drains (see below) and exits 0;
// unfinished runs resume at the next start.
#include <csignal>
#include <cstdio>
#include <fstream>
#include <iostream>
#include <optional>
#include <random>

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/signal_set.hpp>
#include <boost/asio/steady_timer.hpp>

#include "api/optimizations_api.hpp"
#include "app/commands.hpp"
#include "app/inbox.hpp"
#include "app/paths.hpp"
#include "app/providers.hpp"
#include "app/run_loading.hpp"
#include "app/run_preparation.hpp"
#include "engine/clock.hpp"
#include "net/http_server.hpp"

namespace optd::app {

namespace asio = boost::asio;

namespace {

// Runs the daemon was executing when it stopped or crashed start again from their journal: what
// was answered is replayed, only what was in flight is asked again. Runs without a source are
// foreground `optd run`s, not the daemon's to touch.
void resume_unfinished(store::store& db, const config::daemon_config& cfg, engine::run_manager& runs,
                       core::clock& clock, core::uuid_v7_generator& ids, std::ostream& err) {
  auto ctx = make_load_context(&db, cfg);
  ctx.read_dataset_files = false;  // its dataset was stored when it was submitted; the file may have changed since
  for (auto& r : db.unfinished_runs()) {
    if (r.source.empty()) continue;
    auto loaded = config::parse_run_config(r.source, "run " + r.id, "", ctx);
    if (!loaded.ok()) {
      r.status = "error";
      r.finish_reason = "error";
      r.error = "cannot resume: " + config::format(loaded.problems.front());
      r.ended_ms = r.updated_ms = clock.now_ms();
      db.update_run(r);
      err << "optd: run " << r.id << ": " << r.error << "\n";
      continue;
    }
    if (loaded.spec.name.empty()) loaded.spec.name = r.name;
    auto submission = prepare_run(db, loaded, r.id, clock, ids);
    submission.resumed = true;
    err << "optd: run " << r.id << ": resuming (was " << r.status << ")\n";
    db.append_log(r.id, clock.now_ms(), "resuming after a restart");
    runs.submit(std::move(submission));
  }
}

}  // namespace

int serve_command(const serve_options& options, std::ostream& out, std::ostream& err) {
  auto loaded_cfg = load_daemon_config(options.common.config);
  if (print_problems(loaded_cfg.problems, err)) return exit_config;
  auto& cfg = loaded_cfg.config;
  if (!options.listen.empty()) cfg.listen = options.listen;
  auto colon = cfg.listen.rfind(':');
  if (colon == std::string::npos) {
    err << "optd: --listen must be HOST:PORT\n";
    return exit_usage;
  }
  auto state_dir = resolve_state_dir(options.common.state_dir, cfg);
  store::store db(store_path(state_dir));

  asio::io_context ioc{1};
  engine::real_clock clock;
  core::uuid_v7_generator ids(std::random_device{}());
  provider_set providers(ioc.get_executor(), cfg, clock);
  engine::run_environment env{db, clock, ids,
                              [&](std::string_view name) { return providers.find(name); },
                              [&](std::string_view p, std::string_view m) { return providers.price(p, m); },
                              [&](std::string_view id, std::string_view line) {
                                err << "optd: run " << id << ": " << line << "\n";
                              }};
  engine::run_manager runs(ioc.get_executor(), env, cfg.max_concurrent_runs);
  api::optimizations_api api({db, runs, cfg, clock, ids, [&](config::loaded_run& loaded, std::string id) {
                                return prepare_run(db, loaded, std::move(id), clock, ids);
                              }});
  std::optional<inbox> drop_folder;
  if (!cfg.inbox_dir.empty()) {
    drop_folder.emplace(
        ioc.get_executor(), cfg.inbox_dir, make_load_context(&db, cfg),
        [&api](config::loaded_run& loaded, std::string_view text) { return api.submit_yaml(loaded, text); },
        [&err](std::string_view line) { err << "optd: " << line << "\n"; });
    try {
      drop_folder->start();
    } catch (const std::exception& e) {
      err << "optd: " << e.what() << "\n";
      return exit_failure;
    }
  }
  resume_unfinished(db, cfg, runs, clock, ids, err);
  net::http_server server(ioc.get_executor(), [&api](net::http_request r) { return api.handle(std::move(r)); });
  unsigned short port = 0;
  try {
    port = server.listen(cfg.listen.substr(0, colon),
                         static_cast<unsigned short>(std::stoi(cfg.listen.substr(colon + 1))));
  } catch (const std::exception& e) {
    err << "optd: cannot listen on " << cfg.listen << ": " << e.what() << "\n";
    return exit_failure;
  }
  server.start();
  out << "optd serve: listening on http://" << cfg.listen.substr(0, colon) << ":" << port << "/api (store "
      << store_path(state_dir) << ")" << std::endl;
  if (!options.port_file.empty()) {
    std::ofstream(options.port_file + ".tmp") << port << "\n";
    std::rename((options.port_file + ".tmp").c_str(), options.port_file.c_str());
  }

  // SIGTERM/SIGINT drain: stop admitting, let calls in flight finish for drain_timeout, then abort
  // the rest (left pending). Runs stay live in the store and resume at the next start.
  asio::signal_set signals(ioc, SIGINT, SIGTERM);
  asio::steady_timer drain_deadline(ioc);
  signals.async_wait([&](const boost::system::error_code& ec, int sig) {
    if (ec) return;
    err << "optd: signal " << sig << ": draining " << runs.running() << " running runs for at most "
        << cfg.drain_timeout.count() << " ms; " << runs.queued() << " queued runs wait for the next start\n";
    server.stop();
    if (drop_folder) drop_folder->stop();
    runs.suspend(false);
    drain_deadline.expires_after(cfg.drain_timeout);
    drain_deadline.async_wait([&](const boost::system::error_code& timer_ec) {
      if (!timer_ec) runs.suspend(true);
    });
    asio::co_spawn(ioc, runs.wait_idle(), [&](std::exception_ptr) { drain_deadline.cancel(); });
  });
  ioc.run();
  err << "optd: stopped\n";
  return exit_ok;
}

}  // namespace optd::app
