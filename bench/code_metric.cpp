// The code metric's throughput: a trivial Studio-style metric scored N times through optd's code
// metric (bubblewrap sandbox, warm interpreters, WORKERS of them), as fast as the pool allows, on
// one event loop; and for comparison the same metric with a fresh sandboxed interpreter per score
// (what a process-per-score design would cost), over M scores.
//   bench-code-metric N WORKERS M
// Prints JSON: {"pooled_scores_per_s", "pooled_wall_s", "fresh_scores_per_s", "fresh_wall_s", …}.
#include <chrono>
#include <cstdio>
#include <iostream>
#include <string>

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/io_context.hpp>

#include "plugins/registry.hpp"
#include "plugins/sandbox/python_sandbox.hpp"

namespace asio = boost::asio;
using namespace optd;

namespace {

constexpr const char* trivial = R"(from opik.evaluation.metrics import BaseMetric
from opik.evaluation.metrics.score_result import ScoreResult

class Exact(BaseMetric):
    def __init__(self, name: str = "exact"):
        super().__init__(name=name)

    def score(self, output: str, **kwargs) -> ScoreResult:
        same = output.strip() == str(kwargs.get("answer", "")).strip()
        return ScoreResult(name=self.name, value=1.0 if same else 0.0, reason="exact" if same else "differs")
)";

struct nobody final : core::judge_context {
  asio::awaitable<core::completion_result> complete(core::chat_request, std::string) override {
    co_return core::llm_error{core::errc::provider_unavailable, "none"};
  }
  asio::awaitable<core::completion_result> complete_once(core::chat_request r, std::string p) override {
    return complete(std::move(r), std::move(p));
  }
};

// Scores `n` items with `m` on `ioc`, at most `in_flight` at once; returns the wall seconds and the
// count of scores that were right (all should be). One io_context for the whole program: a pool's
// interpreters are bound to the loop that started them.
std::pair<double, int> score_all(asio::io_context& ioc, const core::evaluation_metric& m, int n, int in_flight) {
  nobody ctx;
  int next = 0, right = 0;
  auto worker = [&]() -> asio::awaitable<void> {
    while (next < n) {
      int i = next++;
      nlohmann::json item = {{"answer", std::to_string(i)}};
      auto r = co_await m.judge(ctx, std::to_string(i), item);
      right += r.value == 1.0;
    }
  };
  auto start = std::chrono::steady_clock::now();
  for (int w = 0; w < in_flight; ++w) asio::co_spawn(ioc, worker, asio::detached);
  ioc.restart();
  ioc.run();
  return {std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count(), right};
}

}  // namespace

int main(int argc, char** argv) {
  if (argc != 4) {
    std::cerr << "usage: bench-code-metric N WORKERS M\n";
    return 64;
  }
  const int n = std::stoi(argv[1]), workers = std::stoi(argv[2]), m = std::stoi(argv[3]);
  asio::io_context ioc{1};  // outlives every sandbox below
  plugins::sandbox_settings settings;
  settings.workers = workers;
  auto sandbox = std::make_shared<plugins::python_sandbox>(settings);
  if (const auto& why = sandbox->unavailable()) {
    std::cerr << "bench-code-metric: the sandbox does not work here: " << *why << "\n";
    return 69;
  }
  core::metric_spec spec{"code", {{"code", trivial}}, {}, "exact"};
  auto metric = plugins::make_metric(spec, {}, {}, {sandbox});
  score_all(ioc, *metric, workers * 4, workers);  // start the interpreters: their start-up is not the steady state
  auto [pooled_s, pooled_right] = score_all(ioc, *metric, n, 2 * workers);

  // A fresh sandbox per score: a pool of one worker that a failed "recycle" would replace is the
  // same path as a metric object made per score.
  double fresh_s = 0;
  int fresh_right = 0;
  {
    plugins::sandbox_settings one = settings;
    one.workers = 1;
    auto single = std::make_shared<plugins::python_sandbox>(one);
    auto start = std::chrono::steady_clock::now();
    for (int i = 0; i < m; ++i) {
      auto fresh = plugins::make_metric(spec, {}, {}, {single});
      fresh_right += score_all(ioc, *fresh, 1, 1).second;
    }
    fresh_s = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  }
  std::printf(
      "{\"n\": %d, \"workers\": %d, \"pooled_wall_s\": %.3f, \"pooled_scores_per_s\": %.0f, \"pooled_right\": %d, "
      "\"m\": %d, \"fresh_wall_s\": %.3f, \"fresh_scores_per_s\": %.1f, \"fresh_right\": %d}\n",
      n, workers, pooled_s, n / pooled_s, pooled_right, m, fresh_s, m / fresh_s, fresh_right);
  return pooled_right == n && fresh_right == m ? 0 : 1;
}
