#include "engine/supervised.hpp"

#include <exception>

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/use_awaitable.hpp>

namespace optd::engine {

namespace asio = boost::asio;

asio::awaitable<void> supervised(std::string name, std::function<asio::awaitable<void>()> body,
                                 std::function<bool()> stopped, std::function<void(const std::string&)> report,
                                 std::chrono::milliseconds pause) {
  asio::steady_timer timer(co_await asio::this_coro::executor);
  while (!stopped()) {
    std::string what;
    try {
      co_await body();
      co_return;
    } catch (const std::exception& e) {
      what = e.what();
    } catch (...) {
      what = "an unknown exception";
    }
    if (stopped()) co_return;  // what a stop interrupted is not a failure
    if (report) report(name + " failed: " + what + "; it starts again in " + std::to_string(pause.count()) + " ms");
    timer.expires_after(pause);
    co_await timer.async_wait(asio::as_tuple(asio::use_awaitable));
  }
}

}  // namespace optd::engine
