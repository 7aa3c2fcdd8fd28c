#pragma once
// A long-lived background task of the daemon (the Opik outbox sender, the Opik cancel watcher,
// the inbox) that keeps going through failures. Left to a detached coroutine, an exception (the
// disk under the store full, SQLite busy past its timeout, a file that vanished) would end it
// silently, and the daemon would run on without it.
#include <chrono>
#include <functional>
#include <string>

#include <boost/asio/awaitable.hpp>

namespace optd::engine {

// Runs `body` until it returns or `stopped()` holds. When it throws, `report` hears of it (the
// task's name and what was thrown) and it starts again after `pause`, unless stopped meanwhile.
boost::asio::awaitable<void> supervised(std::string name, std::function<boost::asio::awaitable<void>()> body,
                                        std::function<bool()> stopped, std::function<void(const std::string&)> report,
                                        std::chrono::milliseconds pause = std::chrono::seconds(1));

}  // namespace optd::engine
