#include "opik/outbox_sender.hpp"

#include <stdexcept>

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/bind_cancellation_slot.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/use_awaitable.hpp>

#include "engine/supervised.hpp"
#include "opik/headers.hpp"

namespace optd::opik {

namespace asio = boost::asio;

outbox_sender::outbox_sender(asio::any_io_executor ex, store::store& db, net::http_client& client,
                             const config::opik_config& cfg, telemetry::metrics* metrics, core::retry_policy backoff)
    : db_(db), client_(client), metrics_(metrics), backoff_(backoff), wake_(ex) {
  auto base = net::parse_url(cfg.url);
  if (!base) throw std::invalid_argument("opik.url is not a valid URL: " + cfg.url);
  base_ = *base;
  cfg_ = cfg;
  timeouts_.total = std::chrono::seconds(30);
}

void outbox_sender::start(std::function<void(const std::string&)> report) {
  asio::co_spawn(wake_.get_executor(),
                 engine::supervised("the Opik outbox sender", [this] { return deliver(); }, [this] { return stopped_; },
                                    std::move(report), 2 * backoff_.base_delay),
                 asio::bind_cancellation_slot(cancel_.slot(), asio::detached));
}

void outbox_sender::stop() {
  stopped_ = true;
  wake_.cancel();
  cancel_.emit(asio::cancellation_type::terminal);  // a send in flight ends now; its message stays queued
}

void outbox_sender::notify() {
  if (idle_) wake_.cancel();
}

asio::awaitable<void> outbox_sender::deliver() {
  int failures = 0;  // in a row, for the backoff
  while (!stopped_) {
    auto head = db_.outbox_head(1);
    if (head.empty()) {
      wake_.expires_after(std::chrono::seconds(5));  // notify() cuts it short
      idle_ = true;
      co_await wake_.async_wait(asio::as_tuple(asio::use_awaitable));
      idle_ = false;
      continue;
    }
    const auto& m = head.front();
    net::http_request req;
    req.method = m.method;
    req.target = m.path;
    req.headers = opik_headers(cfg_, identity_, m.run_id);
    req.body = m.body;
    auto res = co_await client_.send(base_, req, timeouts_);
    if (stopped_) co_return;
    if (res && ((res->status >= 200 && res->status < 300) || res->status == 409)) {
      db_.outbox_delivered(m.seq);
      failures = 0;
      continue;
    }
    bool retry = !res || core::is_retryable_status(res->status);
    auto why = res ? "HTTP " + std::to_string(res->status) + ": " + res->body.substr(0, 300) : res.error().message();
    db_.outbox_failed(m.seq, why, !retry);
    if (metrics_) metrics_->outbox_delivery_error(retry ? "retried" : "refused");
    if (!retry) continue;  // set aside; what follows goes on
    double u = std::uniform_real_distribution<double>(0, 1)(jitter_);
    wake_.expires_after(core::retry_delay(backoff_, ++failures, std::nullopt, u));
    co_await wake_.async_wait(asio::as_tuple(asio::use_awaitable));
  }
}

}  // namespace optd::opik
