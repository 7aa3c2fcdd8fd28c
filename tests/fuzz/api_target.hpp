#pragma once
// optd's API as `optd serve` routes it, over a store in a temporary directory, for the HTTP and
// write-body harnesses. Built once per fuzzing process; what the inputs write accumulates (as in
// a daemon that has served many requests). Runs submitted through it stay queued: the event loop
// is never run, so no LLM is called.
#include <cstdlib>
#include <filesystem>
#include <memory>
#include <string>
#include <unistd.h>

#include <boost/asio/io_context.hpp>

#include "api/optimizations_api.hpp"
#include "app/run_preparation.hpp"
#include "engine/clock.hpp"
#include "engine/run_manager.hpp"

namespace optd::fuzz {

// Never called (the event loop never runs), but a run's executor needs a provider to exist.
class idle_provider final : public core::llm_provider {
 public:
  boost::asio::awaitable<core::completion_result> complete(const core::chat_request&) override {
    co_return core::llm_error{core::errc::provider_unavailable, "the fuzzer calls no model"};
  }
};

class api_target {
 public:
  api_target()
      : dir_(std::filesystem::temp_directory_path() / ("optd-fuzz-" + std::to_string(::getpid()))),
        db_((std::filesystem::create_directories(dir_), (dir_ / "optd.db").string())),
        env_{db_, clock_, ids_, [this](std::string_view) -> core::llm_provider* { return &provider_; },
             [](std::string_view, std::string_view) { return core::model_price{1, 2}; }, {}},
        runs_(ioc_.get_executor(), env_, 2) {
    cfg_.providers.emplace_back().name = "sim";
    cfg_.default_provider = "sim";
    db_.put_dataset("skills", {{{"question", "What is 1 + 2?"}, {"answer", "3"}}}, "h", [] { return std::string("item-1"); }, 0);
    api_ = std::make_unique<api::optimizations_api>(api::api_deps{
        db_, runs_, cfg_, clock_, ids_, [this](config::loaded_run& loaded, std::string id) {
          return app::serve_submission(db_, nullptr, cfg_, loaded, std::move(id), clock_, ids_);
        }});
  }
  ~api_target() { std::filesystem::remove_all(dir_); }

  // The answer, which must never be a 5xx: a request, however malformed, is the client's fault.
  net::http_response route(const net::http_request& request) {
    auto response = api_->route(request);
    if (response.status >= 500) std::abort();
    return response;
  }

 private:
  std::filesystem::path dir_;
  boost::asio::io_context ioc_{1};
  engine::real_clock clock_;
  core::uuid_v7_generator ids_{7};
  store::store db_;
  idle_provider provider_;
  engine::run_environment env_;
  engine::run_manager runs_;
  config::daemon_config cfg_;
  std::unique_ptr<api::optimizations_api> api_;
};

}  // namespace optd::fuzz
