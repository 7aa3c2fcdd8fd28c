#pragma once
// A provider decorator that caps concurrent calls with a semaphore (the daemon config's
// max_concurrency per provider), so many trials and runs share one provider's slots: fairly,
// turn by turn between runs (the requests' share_key).
#include <memory>

#include "core/llm.hpp"
#include "engine/async_semaphore.hpp"

namespace optd::engine {

class limited_provider final : public core::llm_provider {
 public:
  limited_provider(std::unique_ptr<core::llm_provider> inner, std::size_t max_concurrency)
      : inner_(std::move(inner)), slots_(max_concurrency) {}

  boost::asio::awaitable<core::completion_result> complete(const core::chat_request& request) override {
    co_await slots_.acquire(request.share_key);
    semaphore_permit permit(slots_);
    co_return co_await inner_->complete(request);
  }

  const async_semaphore& slots() const noexcept { return slots_; }

 private:
  std::unique_ptr<core::llm_provider> inner_;
  async_semaphore slots_;
};

}  // namespace optd::engine
