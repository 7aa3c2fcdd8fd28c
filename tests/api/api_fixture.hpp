#pragma once
// The daemon's API pieces in one process for API tests: the API, a run manager, the real
// openai_compatible provider against an in-process llm-sim, a store with a six-item "skills"
// dataset, a fake clock and a real HTTP client over loopback.
#include <boost/asio/io_context.hpp>
#include <gtest/gtest.h>

#include "api/optimizations_api.hpp"
#include "app/run_preparation.hpp"
#include "plugins/providers/openai_compatible.hpp"
#include "sim_server.hpp"
#include "support/test_support.hpp"

namespace optd::api {

namespace asio = boost::asio;
using namespace std::chrono_literals;

inline constexpr const char* studio_body = R"({"name":"via-api","dataset_name":"skills","objective_name":"levenshtein_ratio",
  "status":"initialized","metadata":{"team":"search"},
  "studio_config":{"dataset_name":"skills",
    "prompt":{"messages":[{"role":"system","content":"You are a helpful assistant."},{"role":"user","content":"{{question}}"}]},
    "llm_model":{"model":"sim-small","parameters":{"temperature":0}},
    "evaluation":{"metrics":[{"type":"levenshtein_ratio","parameters":{"reference_key":"answer"}}]},
    "optimizer":{"type":"meta_prompt","parameters":{"seed":42,"prompts_per_round":2}}}})";

class api_test : public ::testing::Test {
 protected:
  void SetUp() override { start({}); }

  void start(sim::server_config sim_config, std::string token = {}) {
    ioc_.restart();
    sim_ = std::make_unique<sim::sim_server>(ioc_.get_executor(), sim_config);
    sim_http_ = std::make_unique<net::http_server>(ioc_.get_executor(),
                                                   [this](net::http_request r) { return sim_->handle(std::move(r)); });
    auto sim_port = sim_http_->listen("127.0.0.1", 0);
    sim_http_->start();
    plugins::openai_compatible_settings s;
    s.base = *net::parse_url("http://127.0.0.1:" + std::to_string(sim_port) + "/v1");
    provider_ = std::make_unique<plugins::openai_compatible>(client_, clock_, s, 1);
    db_path_ = test::temp_dir(::testing::UnitTest::GetInstance()->current_test_info()->name()) + "/optd.db";
    db_ = std::make_unique<store::store>(db_path_);
    std::vector<nlohmann::json> rows;
    for (int i = 0; i < 6; ++i)
      rows.push_back({{"question", "What is " + std::to_string(i) + " + 2?"}, {"answer", std::to_string(i + 2)}});
    int n = 0;
    db_->put_dataset("skills", rows, "h", [&] { return "item-" + std::to_string(++n); }, 0);
    cfg_.providers.push_back({});
    cfg_.providers.back().name = "sim";
    cfg_.default_provider = "sim";
    if (!token.empty()) cfg_.api_token = config::secret(token);
    env_ = std::make_unique<engine::run_environment>(engine::run_environment{
        *db_, clock_, ids_, [this](std::string_view) -> core::llm_provider* { return provider_.get(); },
        [](std::string_view, std::string_view) { return core::model_price{1, 2}; }, {}});
    runs_ = std::make_unique<engine::run_manager>(ioc_.get_executor(), *env_, 2);
    api_ = std::make_unique<optimizations_api>(api_deps{
        *db_, *runs_, cfg_, clock_, ids_, [this](config::loaded_run& loaded, std::string id) {
          return app::serve_submission(*db_, opik_datasets_, cfg_, loaded, std::move(id), clock_, ids_);
        }});
    http_ = std::make_unique<net::http_server>(ioc_.get_executor(),
                                               [this](net::http_request r) { return api_->handle(std::move(r)); });
    base_ = *net::parse_url("http://127.0.0.1:" + std::to_string(http_->listen("127.0.0.1", 0)) + "/api");
    http_->start();
  }

  void TearDown() override {
    runs_->stop();
    test::run(ioc_, runs_->wait_idle());
    http_->stop();
    sim_http_->stop();
    sim_->stop();
    ioc_.restart();
    ioc_.run_for(10s);
  }

  net::http_response call(std::string method, std::string target, std::string body = {},
                          std::vector<net::http_header> headers = {}) {
    net::http_request r;
    r.method = std::move(method);
    r.target = std::move(target);
    r.body = std::move(body);
    r.headers = std::move(headers);
    if (!r.body.empty()) r.headers.push_back({"Content-Type", "application/json"});
    auto res = *test::run(ioc_, client_.send(base_, r, {}));
    EXPECT_TRUE(res);
    return res ? *res : net::http_response{};
  }

  // Percent-encodes a query parameter value.
  static std::string encode(const std::string& s) {
    std::string out;
    for (unsigned char c : s) {
      if (std::isalnum(c) || c == '-' || c == '_' || c == '.') out.push_back(static_cast<char>(c));
      else {
        char buf[4];
        std::snprintf(buf, sizeof buf, "%%%02X", c);
        out += buf;
      }
    }
    return out;
  }

  nlohmann::json json_of(const net::http_response& r) { return nlohmann::json::parse(r.body, nullptr, false); }

  std::string create(const std::string& body) {
    auto r = call("POST", "/v1/private/optimizations", body);
    EXPECT_EQ(r.status, 201u) << r.body;
    auto location = std::string(r.header("location"));
    return location.substr(location.rfind('/') + 1);
  }

  std::string status_of(const std::string& id) {
    return json_of(call("GET", "/v1/private/optimizations/" + id)).value("status", "");
  }

  void wait_for_status(const std::string& id, const std::string& status) {
    test::poll_until(ioc_, [&] {
      auto r = db_->find_run(id);
      return r && core::to_string(r->status) == status;
    });
  }

  std::string record(const std::string& name, const std::string& status, const std::string& metadata = "{}") {
    return create(R"({"name":")" + name + R"(","dataset_name":"skills","objective_name":"equals","status":")" + status +
                  R"(","metadata":)" + metadata + "}");
  }

  asio::io_context ioc_;
  test::fake_clock clock_;
  core::uuid_v7_generator ids_{5};
  net::http_client client_{ioc_.get_executor(), nullptr};
  config::daemon_config cfg_;
  std::unique_ptr<sim::sim_server> sim_;
  std::unique_ptr<net::http_server> sim_http_;
  std::unique_ptr<plugins::openai_compatible> provider_;
  std::string db_path_;
  std::unique_ptr<store::store> db_;
  std::unique_ptr<engine::run_environment> env_;
  std::unique_ptr<engine::run_manager> runs_;
  opik::dataset_reader* opik_datasets_ = nullptr;  // datasets optd lacks are read from there
  std::unique_ptr<optimizations_api> api_;
  std::unique_ptr<net::http_server> http_;
  net::url base_;
};

}  // namespace optd::api
