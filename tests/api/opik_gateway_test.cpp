// Provider `kind: opik_gateway`: LLM calls through Opik's chat completions gateway, with the
// `opik:` section's URL, key and workspace, as the daemon config builds it.
#include <gtest/gtest.h>

#include <boost/asio/io_context.hpp>
#include <boost/beast/core/string.hpp>

#include "app/providers.hpp"
#include "support/test_support.hpp"

namespace optd::app {
namespace {

constexpr const char* completion = R"({"choices":[{"message":{"role":"assistant","content":"4"}}],
  "usage":{"prompt_tokens":7,"completion_tokens":1}})";

class opik_gateway : public ::testing::Test {
 protected:
  // The daemon config with `providers` after an opik: section that points at the fake Opik.
  config::daemon_config load(const std::string& opik, const std::string& providers) {
    auto loaded = config::parse_daemon_config("opik:\n" + opik + "providers:\n" + providers, "optd.yaml");
    EXPECT_TRUE(loaded.ok()) << (loaded.ok() ? "" : config::format(loaded.problems.front()));
    return loaded.config;
  }

  net::http_request call(const config::daemon_config& cfg) {
    provider_set providers(ioc_.get_executor(), cfg, clock_, db_);
    core::chat_request request;
    request.model = "gpt-4o-mini";
    request.messages = {{core::role::user, "What is 2 + 2?"}};
    auto result = test::run(ioc_, providers.find("")->complete(request));
    EXPECT_TRUE(result && *result) << (result && !*result ? result->error().message : "");
    if (result && *result) {
      EXPECT_EQ((*result)->text, "4");
    }
    EXPECT_EQ(opik_.received().size(), 1u);
    return opik_.received().empty() ? net::http_request{} : opik_.received().back();
  }

  boost::asio::io_context ioc_;
  test::fake_clock clock_;
  store::store db_{test::temp_dir("opik_gateway") + "/optd.db"};
  test::scripted_server opik_{ioc_, [](const net::http_request&, int) {
                                return net::http_response{200, {{"Content-Type", "application/json"}}, completion};
                              }};
  std::string url_ = opik_.base_url() + "/api";
};

TEST_F(opik_gateway, calls_go_to_opiks_chat_completions_with_its_key_and_workspace) {
  ::setenv("OPTD_TEST_OPIK_KEY", "opik-key-123", 1);
  auto cfg = load("  url: " + url_ + "\n  api_key_env: OPTD_TEST_OPIK_KEY\n  workspace: team-ws\n",
                  "  - name: opik\n    kind: opik_gateway\n");
  auto r = call(cfg);
  EXPECT_EQ(r.method, "POST");
  EXPECT_EQ(r.target, "/api/v1/private/chat/completions");
  EXPECT_EQ(r.header("authorization"), "opik-key-123");  // raw, as Opik takes its key
  EXPECT_EQ(r.header("comet-workspace"), "team-ws");     // Opik answers 403 without it
  auto body = nlohmann::json::parse(r.body);
  EXPECT_EQ(body["stream"], false);  // the gateway cannot stream to optd
  EXPECT_EQ(body["model"], "gpt-4o-mini");
  ::unsetenv("OPTD_TEST_OPIK_KEY");
}

TEST_F(opik_gateway, a_self_hosted_opik_gets_the_default_workspace_and_no_key) {
  auto cfg = load("  url: " + url_ + "\n", "  - name: opik\n    kind: opik_gateway\n");
  auto r = call(cfg);
  EXPECT_EQ(r.target, "/api/v1/private/chat/completions");
  EXPECT_TRUE(r.header("authorization").empty());
  EXPECT_EQ(r.header("comet-workspace"), "default");
}

TEST_F(opik_gateway, its_own_base_url_and_workspace_win) {
  auto cfg = load("  url: http://elsewhere.invalid/api\n  workspace: team-ws\n",
                  "  - name: opik\n    kind: opik_gateway\n    base_url: " + url_ + "/v1/private\n    workspace: other\n");
  auto r = call(cfg);
  EXPECT_EQ(r.target, "/api/v1/private/chat/completions");
  EXPECT_EQ(r.header("comet-workspace"), "other");
}

// A Studio job's calls carry its workspace and its user's key, in place of the opik: section's
// (one authorization header, not two); a key an error echoes back is redacted.
TEST_F(opik_gateway, a_studio_jobs_calls_carry_its_workspace_and_key) {
  ::setenv("OPTD_TEST_OPIK_KEY", "opik-key-123", 1);
  auto cfg = load("  url: " + url_ + "\n  api_key_env: OPTD_TEST_OPIK_KEY\n  workspace: team-ws\n",
                  "  - name: opik\n    kind: opik_gateway\n");
  ::unsetenv("OPTD_TEST_OPIK_KEY");
  provider_set providers(ioc_.get_executor(), cfg, clock_, db_);
  providers.identify([](std::string_view run_id) {
    std::vector<net::http_header> h;
    if (run_id == "job-run") h = {{"authorization", "job-key-456"}, {"Comet-Workspace", "job-ws"}};
    return h;
  });
  for (const char* run : {"job-run", "own-run"}) {
    core::chat_request request;
    request.model = "gpt-4o-mini";
    request.messages = {{core::role::user, "What is 2 + 2?"}};
    request.share_key = run;
    auto result = test::run(ioc_, providers.find("")->complete(request));
    EXPECT_TRUE(result && *result);
  }
  ASSERT_EQ(opik_.received().size(), 2u);
  const auto& job = opik_.received()[0];
  int authorizations = 0;
  for (const auto& h : job.headers) authorizations += boost::beast::iequals(h.name, "authorization");
  EXPECT_EQ(authorizations, 1);
  EXPECT_EQ(job.header("authorization"), "job-key-456");
  EXPECT_EQ(job.header("comet-workspace"), "job-ws");
  EXPECT_EQ(opik_.received()[1].header("authorization"), "opik-key-123");
  EXPECT_EQ(opik_.received()[1].header("comet-workspace"), "team-ws");
}

TEST(opik_gateway_config, without_an_opik_section_or_base_url_it_is_an_error_with_its_place) {
  ::unsetenv("OPIK_URL_OVERRIDE");
  auto loaded = config::parse_daemon_config("providers:\n  - name: opik\n    kind: opik_gateway\n", "optd.yaml");
  ASSERT_FALSE(loaded.ok());
  EXPECT_EQ(config::format(loaded.problems.front()),
            "optd.yaml:2:5: providers[0]: an opik_gateway provider needs base_url or an opik: section "
            "(or OPIK_URL_OVERRIDE)");
}

}  // namespace
}  // namespace optd::app
