#include "engine/progress_hub.hpp"

#include <algorithm>

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/use_awaitable.hpp>

namespace optd::engine {

namespace asio = boost::asio;

asio::awaitable<progress_event> progress_subscription::next(std::chrono::milliseconds idle) {
  if (!fresh_ && !closed_) {
    wake_.expires_after(idle);
    co_await wake_.async_wait(asio::as_tuple(asio::use_awaitable));  // expiry or a cancel from offer()/close()
  }
  if (fresh_) {
    fresh_ = false;
    co_return progress_event{progress_event::kind::update, latest_};
  }
  co_return progress_event{closed_ ? progress_event::kind::closed : progress_event::kind::heartbeat, {}};
}

void progress_subscription::offer(const run_progress& p) {
  latest_ = p;
  fresh_ = true;
  wake_.cancel();
}

void progress_subscription::close() {
  closed_ = true;
  wake_.cancel();
}

void progress_hub::publish(const run_progress& p) {
  auto it = watchers_.find(p.run_id);
  if (it == watchers_.end()) return;
  auto& list = it->second;
  std::erase_if(list, [](const auto& w) { return w.expired(); });
  for (const auto& w : list)
    if (auto s = w.lock()) s->offer(p);
  if (list.empty()) watchers_.erase(it);
}

std::shared_ptr<progress_subscription> progress_hub::subscribe(const std::string& run_id) {
  auto s = std::make_shared<progress_subscription>(ex_);
  if (closed_) s->close();
  else watchers_[run_id].push_back(s);
  return s;
}

void progress_hub::close() {
  closed_ = true;
  for (auto& [id, list] : watchers_)
    for (const auto& w : list)
      if (auto s = w.lock()) s->close();
  watchers_.clear();
}

}  // namespace optd::engine
