#include "plugins/metrics/code_metric.hpp"

#include <deque>

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/use_awaitable.hpp>

namespace optd::plugins {

namespace asio = boost::asio;

namespace {

// Studio's code metric on a pool of warm interpreters: up to `workers` of them score in parallel;
// one that hit a limit, crashed or left processes behind is replaced by a fresh one.
class code_metric final : public core::evaluation_metric {
 public:
  code_metric(std::string code, std::string name, std::shared_ptr<const python_sandbox> sandbox)
      : code_(std::move(code)), name_(std::move(name)), sandbox_(std::move(sandbox)) {}
  ~code_metric() override {
    for (auto& w : idle_) w->retire();  // all exit at once; then each is reaped
  }
  std::string_view name() const noexcept override { return name_; }
  bool judges() const noexcept override { return true; }  // scored asynchronously, in the sandbox

  asio::awaitable<core::metric_result> judge(core::judge_context&, std::string output,
                                             const nlohmann::json& item) const override {
    // The item's fields as keyword arguments, as Studio passes them; `output` is the answer
    // being scored even when the item has a field of that name.
    nlohmann::json kwargs = item.is_object() ? item : nlohmann::json::object();
    kwargs["output"] = std::move(output);
    auto worker = co_await acquire();
    if (!worker) co_return core::metric_result{0, "Error: the metric could not start: " + worker.error().message, true};
    auto result = co_await (*worker)->score(kwargs);
    release(std::move(*worker));
    co_return result;
  }

 private:
  using worker_ptr = std::unique_ptr<python_worker>;

  asio::awaitable<boost::system::result<worker_ptr, code_problem>> acquire() const {
    for (;;) {
      if (!idle_.empty()) {
        auto w = std::move(idle_.back());
        idle_.pop_back();
        co_return w;
      }
      if (running_ < std::max(1, sandbox_->settings().workers)) {
        ++running_;
        auto started = co_await python_worker::start(sandbox_->settings(), code_);
        if (!started) --running_;
        co_return started;
      }
      // All busy: wait until one comes back (a released worker cancels the first waiter's timer).
      asio::steady_timer wake(co_await asio::this_coro::executor, asio::steady_timer::time_point::max());
      waiting_.push_back(&wake);
      struct leave_queue {  // also when the run drops this coroutine while it waits
        std::deque<asio::steady_timer*>& queue;
        asio::steady_timer* timer;
        ~leave_queue() { std::erase(queue, timer); }
      } guard{waiting_, &wake};
      co_await wake.async_wait(asio::as_tuple(asio::use_awaitable));
    }
  }

  void release(worker_ptr w) const {
    if (w->usable()) idle_.push_back(std::move(w));
    else --running_;  // destroyed here: killed and reaped; the next score starts a fresh one
    if (!waiting_.empty()) {
      waiting_.front()->cancel();
      waiting_.pop_front();
    }
  }

  std::string code_, name_;
  std::shared_ptr<const python_sandbox> sandbox_;
  // Scoring is const for the engine; the pool is this metric's own state, on the run's loop.
  mutable std::vector<worker_ptr> idle_;
  mutable int running_ = 0;
  mutable std::deque<asio::steady_timer*> waiting_;
};

}  // namespace

std::unique_ptr<core::evaluation_metric> make_code_metric(const nlohmann::json& params, std::string name,
                                                          std::shared_ptr<const python_sandbox> sandbox) {
  if (!sandbox) return nullptr;
  return std::make_unique<code_metric>(params.value("code", std::string()), name.empty() ? "code" : std::move(name),
                                       std::move(sandbox));
}

}  // namespace optd::plugins
