#include "opik/cancel_watcher.hpp"

#include <stdexcept>

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/bind_cancellation_slot.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <nlohmann/json.hpp>

#include "engine/supervised.hpp"

#include "opik/headers.hpp"

namespace optd::opik {

namespace asio = boost::asio;

cancel_watcher::cancel_watcher(asio::any_io_executor ex, engine::run_manager& runs, net::http_client& client,
                               const config::opik_config& cfg, std::chrono::milliseconds interval)
    : runs_(runs), client_(client), cfg_(cfg), interval_(interval), timer_(ex) {
  auto base = net::parse_url(cfg.url);
  if (!base) throw std::invalid_argument("opik.url is not a valid URL: " + cfg.url);
  base_ = *base;
  timeouts_.total = std::chrono::seconds(10);
}

void cancel_watcher::start(std::function<void(const std::string&)> report) {
  asio::co_spawn(timer_.get_executor(),
                 engine::supervised("the Opik cancel watcher", [this] { return watch(); }, [this] { return stopped_; },
                                    std::move(report)),
                 asio::bind_cancellation_slot(cancel_.slot(), asio::detached));
}

void cancel_watcher::stop() {
  stopped_ = true;
  timer_.cancel();
  cancel_.emit(asio::cancellation_type::terminal);
}

asio::awaitable<void> cancel_watcher::watch() {
  while (!stopped_) {
    timer_.expires_after(interval_);
    co_await timer_.async_wait(asio::as_tuple(asio::use_awaitable));
    for (const auto& id : runs_.running_ids()) {
      if (stopped_) co_return;
      net::http_request req;
      req.method = "GET";
      req.target = "/v1/private/optimizations/" + id;
      req.headers = opik_headers(cfg_, identity_, id);
      auto res = co_await client_.send(base_, req, timeouts_);
      if (!res || res->status != 200) continue;
      auto j = nlohmann::json::parse(res->body, nullptr, false);
      if (j.is_object() && j.value("status", "") == "cancelled") runs_.cancel(id);
    }
  }
}

}  // namespace optd::opik
