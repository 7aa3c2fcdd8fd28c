// llm-sim: an OpenAI-compatible stand-in LLM for tests, benchmarks and the offline demo.
#include <csignal>
#include <fstream>
#include <iostream>

#include <sys/resource.h>

#include <CLI/CLI.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/signal_set.hpp>

#include "net/http_server.hpp"
#include "sim_server.hpp"

int main(int argc, char** argv) {
  CLI::App app{"llm-sim: a deterministic, rule-based, OpenAI-compatible LLM simulator (a stand-in, not a model)"};
  std::string listen = "127.0.0.1:8089";
  std::string port_file;
  optd::sim::server_config config;
  app.add_option("--listen", listen, "HOST:PORT to listen on; port 0 picks a free one");
  app.add_option("--port-file", port_file, "write the bound port to this file once listening");
  app.add_option("--seed", config.model.seed, "seed for every random choice of the model");
  app.add_option("--drop-variable-rate", config.model.drop_variable_rate,
                 "chance that a reasoning rewrite loses its {{variables}}")->check(CLI::Range(0.0, 1.0));
  app.add_option("--format-noise-rate", config.model.format_noise_rate,
                 "chance that a reasoning reply wraps its answer in a fence or prose")->check(CLI::Range(0.0, 1.0));
  app.add_option("--latency-ms", config.latency_ms, "median response latency in milliseconds");
  app.add_option("--latency-sigma", config.latency_sigma, "log-normal spread of the latency (0: fixed)");
  app.add_option("--rpm", config.rpm, "requests per minute before 429 (0: unlimited)");
  app.add_option("--tpm", config.tpm, "prompt tokens per minute before 429 (0: unlimited)");
  double rate_window_s = 60;
  app.add_option("--rate-window", rate_window_s, "seconds of the sliding window the limits apply over (60)")
      ->check(CLI::Range(0.001, 3600.0));
  app.add_option("--fail-rate", config.fail_rate, "share of requests answered 503")->check(CLI::Range(0.0, 1.0));
  app.add_option("--reset-rate", config.reset_rate, "share of connections reset")->check(CLI::Range(0.0, 1.0));
  app.add_option("--hang-rate", config.hang_rate, "share of requests never answered")->check(CLI::Range(0.0, 1.0));
  app.add_option("--malformed-rate", config.malformed_rate, "share answered with broken JSON")
      ->check(CLI::Range(0.0, 1.0));
  app.add_option("--fault-seed", config.fault_seed, "seed for latency and fault draws");
  app.add_flag("--no-logprobs", [&](std::int64_t) { config.logprobs = false; },
               "never answer logprobs (a provider without them)");
  CLI11_PARSE(app, argc, argv);
  config.rate_window = std::chrono::milliseconds(static_cast<long long>(rate_window_s * 1000));

  auto colon = listen.rfind(':');
  if (colon == std::string::npos) {
    std::cerr << "llm-sim: --listen must be HOST:PORT\n";
    return 64;
  }
  // Benchmarks hold thousands of connections open; lift the soft limit on open files.
  rlimit lim{};
  if (getrlimit(RLIMIT_NOFILE, &lim) == 0) {
    lim.rlim_cur = lim.rlim_max;
    setrlimit(RLIMIT_NOFILE, &lim);
  }
  boost::asio::io_context ioc{1};
  optd::sim::sim_server sim(ioc.get_executor(), config);
  optd::net::http_server server(ioc.get_executor(),
                                [&sim](optd::net::http_request r) { return sim.handle(std::move(r)); },
                                {.body_limit = 16u << 20, .read_timeout = std::chrono::hours(2)});
  unsigned short port = 0;
  try {
    port = server.listen(listen.substr(0, colon), static_cast<unsigned short>(std::stoi(listen.substr(colon + 1))));
  } catch (const std::exception& e) {
    std::cerr << "llm-sim: cannot listen on " << listen << ": " << e.what() << "\n";
    return 69;
  }
  server.start();
  if (!port_file.empty()) {
    std::ofstream tmp(port_file + ".tmp");
    tmp << port << "\n";
    tmp.close();
    std::rename((port_file + ".tmp").c_str(), port_file.c_str());
  }
  std::cerr << "llm-sim listening on http://" << listen.substr(0, colon) << ":" << port << "/v1\n";
  boost::asio::signal_set signals(ioc, SIGINT, SIGTERM);
  // Stop accepting, end the simulated waits, and let every request finish: run() then returns
  // with no coroutine frame left pointing at `sim`.
  signals.async_wait([&](auto, int) {
    server.stop();
    sim.stop();
  });
  ioc.run();
  return 0;
}
