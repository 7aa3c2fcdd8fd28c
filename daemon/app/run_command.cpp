// `optd run FILE`: one run in the foreground on the embedded store, with a progress bar, then
// the result as recorded. Ctrl-C (or SIGTERM) cancels cleanly; a second one exits at once.
#include <csignal>
#include <iostream>
#include <random>

#include <unistd.h>

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/signal_set.hpp>

#include "app/commands.hpp"
#include "app/paths.hpp"
#include "app/providers.hpp"
#include "api/run_results.hpp"
#include "app/run_loading.hpp"
#include "engine/clock.hpp"
#include "engine/run_executor.hpp"
#include "app/run_preparation.hpp"
#include "app/store_owner.hpp"
#include "store/sqlite.hpp"

namespace optd::app {

namespace asio = boost::asio;

namespace {

// Draws the progress line on a terminal (redrawn at most ten times a second), or prints one
// line per finished trial when stderr is not a terminal.
class progress_printer {
 public:
  progress_printer(std::ostream& err, bool quiet) : err_(err), quiet_(quiet), tty_(isatty(STDERR_FILENO) == 1) {}

  void update(const engine::run_progress& p) {
    if (quiet_) return;
    if (tty_) {
      auto now = std::chrono::steady_clock::now();
      bool trial_end = p.evals_done == p.evals_in_trial;
      if (!trial_end && now - last_draw_ < std::chrono::milliseconds(100)) return;
      last_draw_ = now;
      // Fitted to the terminal as it is now (it may have been resized): a bar that wrapped
      // would be drawn again on a new line at every update.
      err_ << "\r" << engine::fit_to_columns(engine::render_progress(p, 24), engine::terminal_columns(STDERR_FILENO))
           << "\x1b[K" << std::flush;
      drawn_ = true;
    } else if (p.trials_done != last_trials_ && p.evals_done == p.evals_in_trial) {
      last_trials_ = p.trials_done;
      err_ << engine::render_progress(p, 24) << "\n";
    }
  }

  void log(std::string_view run_id, std::string_view line) {
    if (quiet_) return;
    if (tty_ && drawn_) err_ << "\r\x1b[K";
    err_ << "optd: run " << run_id << ": " << line << "\n";  // in full, as the daemon logs it: any prefix may be shared
    drawn_ = false;
  }

  void finish() {
    if (tty_ && drawn_) err_ << "\n";
  }

 private:
  std::ostream& err_;
  bool quiet_, tty_;
  bool drawn_ = false;
  int last_trials_ = -1;
  std::chrono::steady_clock::time_point last_draw_{};
};

}  // namespace

int run_command(const run_options& options, std::ostream& out, std::ostream& err) {
  auto cfg = load_daemon_config(options.common.config);
  if (print_problems(cfg.problems, err)) return exit_config;
  auto state_dir = resolve_state_dir(options.common.state_dir, cfg.config);
  auto owner = own_state_dir(state_dir, "optd run", err);
  if (!owner) return exit_in_use;
  store::store db(store_path(state_dir));

  auto loaded = config::load_run_config_file(options.file, make_load_context(&db, cfg.config));
  if (auto n = print_problems(loaded.problems, err)) {
    err << options.file << ": " << n << (n == 1 ? " problem" : " problems") << "\n";
    return exit_config;
  }
  auto& spec = loaded.spec;
  if (!cfg.config.find_provider(spec.llm_model.provider)) {
    err << "optd: no provider '" << spec.llm_model.provider << "' in " << cfg.config.source << "\n";
    return exit_config;
  }

  engine::real_clock clock;
  core::uuid_v7_generator ids(std::random_device{}());
  // What an earlier `optd run` left unfinished (killed, or its terminal closed): a run of this very
  // config is resumed (its answers replayed, not bought again); the others are ended, with why.
  std::optional<store::run_record> left;
  for (auto& r : db.unfinished_runs()) {
    if (!executed_by_optd(r) || r.executor != "optd run") continue;
    if (!left && r.source == loaded.source) left = r;
    else end_left_run(db, r, "its optd run ended before the run finished (killed, or its output closed), and the next "
                             "optd run was of another config; what it answered is in the store",
                      clock.now_ms());
  }
  auto run = prepare_run(db, loaded, cfg.config.code_metrics,
                         left ? left->id : ids.next(static_cast<std::uint64_t>(clock.now_ms())), clock, ids);
  run.source = loaded.source;
  if (!left) db.insert_run(engine::submitted_record(run, clock.now_ms(), "optd run"));

  asio::io_context ioc{1};
  progress_printer printer(err, options.quiet);
  provider_set providers(ioc.get_executor(), cfg.config, clock, db, nullptr, [&](std::string_view id, std::string_view line) {
    printer.log(id.empty() ? run.id : std::string(id), line);
    if (!id.empty()) db.append_log(std::string(id), clock.now_ms(), line);
  });
  engine::run_environment env{db, clock, ids,
                              [&](std::string_view name) { return providers.find(name); },
                              [&](std::string_view p, std::string_view m) { return providers.price(p, m); },
                              [&](std::string_view id, std::string_view line) { printer.log(id, line); }};
  env.version = OPTD_VERSION;
  engine::run_executor executor(env, std::move(run.spec), std::move(run.dataset), std::move(run.optimizer),
                                std::move(run.metrics), run.id, [&](const engine::run_progress& p) { printer.update(p); });

  asio::signal_set signals(ioc, SIGINT, SIGTERM);
  int interrupts = 0;
  std::function<void(const boost::system::error_code&, int)> on_signal = [&](const boost::system::error_code& ec, int) {
    if (ec) return;
    if (++interrupts > 1) std::_Exit(exit_cancelled);
    printer.log(executor.progress().run_id, "cancelling (press Ctrl-C again to quit at once)");
    executor.cancel();
    signals.async_wait(on_signal);
  };
  signals.async_wait(on_signal);
  if (left) {
    printer.log(left->id, "resuming: an optd run of this config ended before it finished; what it answered is not asked again");
    db.append_log(left->id, clock.now_ms(), "resuming after its optd run ended");
  }

  std::optional<store::run_record> final_record;
  std::exception_ptr failure;
  asio::co_spawn(ioc, executor.run(), [&](std::exception_ptr e, store::run_record r) {
    failure = e;
    if (!e) final_record = std::move(r);
    signals.cancel();
  });
  ioc.run();
  printer.finish();
  if (failure) {
    try {
      std::rethrow_exception(failure);
    } catch (const store::unavailable&) {
      throw;  // the run stays live in the store: main says how it resumes
    } catch (const std::exception& e) {
      err << "optd: run failed: " << e.what() << "\n";
    }
    return exit_failure;
  }
  auto results = api::run_results_json(db, *final_record);
  if (options.json) out << results.dump(2) << "\n";
  else api::print_run_results(results, out);
  if (final_record->status == core::run_status::cancelled) return exit_cancelled;
  return final_record->status == core::run_status::completed ? exit_ok : exit_failure;
}

}  // namespace optd::app
