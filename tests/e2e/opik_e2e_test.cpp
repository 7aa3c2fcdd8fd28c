// One optd records its runs into a second optd that serves Opik's API, as it would into Opik: the
// second one's optimization shows the same trials, baseline, best and cost as the first one's.
#include <csignal>
#include <filesystem>
#include <fstream>

#include <gmock/gmock.h>
#include <nlohmann/json.hpp>
#include <gtest/gtest.h>

#include "support/child_process.hpp"
#include "support/test_support.hpp"

namespace optd {
namespace {

using test::child_process;
using ::testing::HasSubstr;

std::string port_in(const std::string& file) {
  EXPECT_TRUE(test::eventually([&] { return std::filesystem::exists(file); }));
  auto text = test::read_file(file);
  return text.substr(0, text.find('\n'));
}

class opik_e2e : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = test::temp_dir(::testing::UnitTest::GetInstance()->current_test_info()->name());
    sim_ = child_process::start({LLM_SIM_BIN, "--listen", "127.0.0.1:0", "--port-file", dir_ + "/sim.port"}, dir_,
                                "sim");
    env_ = {"OPTD_SIM_URL=http://127.0.0.1:" + port_in(dir_ + "/sim.port") + "/v1"};
  }

  void TearDown() override {
    sim_.signal(SIGTERM);
    sim_.wait();
  }

  // `optd serve` with state in DIR/NAME, listening on `listen`; returns its base URL in `url`.
  child_process serve(const std::string& name, const std::string& config, std::string& url,
                      const std::string& listen = "127.0.0.1:0") {
    std::filesystem::remove(dir_ + "/" + name + ".port");
    auto p = child_process::start({OPTD_BIN, "--config", config, "--state-dir", dir_ + "/" + name, "serve", "--listen",
                                   listen, "--port-file", dir_ + "/" + name + ".port"},
                                  dir_, name + std::to_string(++started_), env_);
    url = "http://127.0.0.1:" + port_in(dir_ + "/" + name + ".port");
    return p;
  }

  // The daemon config that records into `opik_url`.
  std::string recording_config(const std::string& opik_url) {
    auto path = dir_ + "/recording.yaml";
    std::ofstream(path) << test::read_file(base_config_) << "\nopik:\n  url: " << opik_url
                        << "/api\n  workspace: default\n";
    return path;
  }

  child_process optd(std::vector<std::string> args) {
    std::vector<std::string> full{OPTD_BIN, "--config", base_config_};
    full.insert(full.end(), args.begin(), args.end());
    return child_process::start(full, dir_, "cmd" + std::to_string(++started_), env_);
  }

  // Submits `config` to `server` and waits for the run's end; returns its id.
  std::string run(const std::string& server, const std::string& config) {
    auto submit = optd({"submit", "--watch", "--server", server, config});
    EXPECT_EQ(submit.wait(), 0) << submit.err();
    EXPECT_THAT(submit.out(), HasSubstr(" completed")) << submit.err();
    return submit.out().substr(0, 36);
  }

  // `optd status` of run `id` on `server` once its outbox is empty (nothing waiting for Opik).
  std::string status_when_delivered(const std::string& server, const std::string& id) {
    std::string status;
    EXPECT_TRUE(test::eventually([&] {
      status = status_of(server, id);
      return status.find(" 0 writes waiting") != std::string::npos;
    })) << status;
    return status;
  }

  std::string status_of(const std::string& server, const std::string& id) {
    auto c = optd({"status", "--server", server, id});
    c.wait();
    return c.out();
  }

  // The status line of a run: status, trials, best, baseline and total cost.
  static std::string summary_of(const std::string& status) {
    auto line = status.substr(status.find('\n') + 3);
    return line.substr(0, line.find('\n'));
  }

  // Once everything of run `id` is delivered (none refused), the second optd computes the same
  // trials, baseline, best and total cost from what it received. Returns that summary.
  std::string expect_same_in_opik(const std::string& recording_url, const std::string& opik_url,
                                  const std::string& id, const std::string& expected = expected_) {
    auto status = status_when_delivered(recording_url, id);
    EXPECT_THAT(status, HasSubstr(", 0 refused"));
    auto summary = summary_of(status);
    EXPECT_THAT(summary, HasSubstr(expected));
    auto remote = optd({"status", "--server", opik_url, id});
    EXPECT_EQ(remote.wait(), 0) << remote.err();
    EXPECT_THAT(remote.out(), HasSubstr(summary)) << remote.out();
    return summary;
  }

  static void stop(child_process& p) {
    p.signal(SIGTERM);
    EXPECT_EQ(p.wait(), 0) << p.err();
  }

  std::string dir_;
  std::vector<std::string> env_;
  child_process sim_;
  int started_ = 0;
  const std::string base_config_ = std::string(OPTD_SOURCE_DIR) + "/config/examples/demo-optd.yaml";
  const std::string demo_ = std::string(OPTD_SOURCE_DIR) + "/config/examples/demo.yaml";
  static constexpr const char* expected_ = "completed · 5 trials · best 1.0000 (baseline 0.0250) · $";
};

TEST_F(opik_e2e, a_run_recorded_into_a_second_optd_reads_back_with_the_same_scores) {
  std::string opik_url, recording_url;
  auto opik = serve("opik", base_config_, opik_url);  // the second optd, standing in for Opik
  auto recording = serve("recording", recording_config(opik_url), recording_url);
  auto id = run(recording_url, demo_);
  // The cost is the evaluations' and the reasoning model's (tagged traces).
  auto summary = expect_same_in_opik(recording_url, opik_url, id);
  EXPECT_THAT(summary, ::testing::Not(HasSubstr("$0.000000")));
  stop(recording);
  stop(opik);
}

// A run that names a dataset only Opik has: optd reads it from there (retrieve, then the item
// stream) when the run starts, and records the run against Opik's item ids.
TEST_F(opik_e2e, a_run_whose_dataset_only_opik_has_reads_it_from_there) {
  std::string opik_url, recording_url;
  auto opik = serve("opik", base_config_, opik_url);
  auto recording = serve("recording", recording_config(opik_url), recording_url);
  run(opik_url, demo_);  // the dataset goes to "Opik" with a first run there
  auto text = test::read_file(demo_);
  auto line = text.find("dataset_file:");
  text.erase(line, text.find('\n', line) - line + 1);
  std::ofstream(dir_ + "/by-name.yaml") << text;  // only names it
  // `optd validate` with that daemon config says where the dataset will come from.
  auto validate = child_process::start({OPTD_BIN, "--config", dir_ + "/recording.yaml", "validate",
                                        dir_ + "/by-name.yaml"}, dir_, "validate", env_);
  EXPECT_EQ(validate.wait(), 0) << validate.err();
  EXPECT_THAT(validate.out(), HasSubstr("dataset 'skills' from Opik (read, and the prompt's variables checked, "
                                        "when the run starts)"));
  auto id = run(recording_url, dir_ + "/by-name.yaml");
  expect_same_in_opik(recording_url, opik_url, id);
  auto log = optd({"logs", "--server", recording_url, id});
  log.wait();
  EXPECT_THAT(log.out(), HasSubstr("items of dataset 'skills' ("));
  EXPECT_THAT(log.out(), HasSubstr(") from Opik"));
  stop(recording);
  stop(opik);
}

// Opik is down while a run goes on and optd restarts before it comes back: the run completes,
// its writes wait in the outbox across the restart, and then all of them arrive.
TEST_F(opik_e2e, writes_wait_for_opik_across_a_restart_and_all_arrive) {
  std::string opik_url, recording_url;
  auto opik = serve("opik", base_config_, opik_url);
  auto opik_listen = opik_url.substr(std::string("http://").size());
  stop(opik);  // Opik is down
  auto config = recording_config(opik_url);
  auto recording = serve("recording", config, recording_url);
  auto id = run(recording_url, demo_);
  auto waiting = status_of(recording_url, id);
  EXPECT_THAT(waiting, ::testing::Not(HasSubstr(" 0 writes waiting"))) << waiting;
  stop(recording);

  opik = serve("opik", base_config_, opik_url, opik_listen);  // back, where it was
  recording = serve("recording", config, recording_url);
  expect_same_in_opik(recording_url, opik_url, id);
  stop(recording);
  stop(opik);
}

// The body Opik's UI posts when "Optimize" is pressed (apps/opik-frontend: the optimizer form's
// fields, a metric with its reference column chosen), for `optimizer` and `metric`.
std::string studio_body(const std::string& optimizer, const std::string& parameters, const std::string& metric,
                        const std::string& metric_parameters = R"({"case_sensitive":false,"reference_key":"answer"})") {
  return R"({"name":"studio )" + optimizer + R"(","dataset_name":"skills","objective_name":")" + metric +
         R"(","status":"initialized","studio_config":{"dataset_name":"skills",
    "prompt":{"messages":[{"role":"system","content":"You are a helpful assistant."},{"role":"user","content":"{{question}}"}]},
    "llm_model":{"model":"sim-small","parameters":{"temperature":0,"max_tokens":64}},
    "evaluation":{"metrics":[{"type":")" + metric + R"(","parameters":)" + metric_parameters + R"(}]},
    "optimizer":{"type":")" + optimizer + R"(","parameters":)" + parameters + "}}}";
}

// Studio configs exactly as Opik's UI builds them, posted to optd's API: each runs to completed,
// GEPA's with mini-batch screenings, none worse than its baseline, and each is recorded into
// "Opik" (a second optd) where it reads back with the same trials, baseline, best and cost.
TEST_F(opik_e2e, studio_configs_as_opiks_ui_builds_them_run_to_completed_and_read_back_alike_in_opik) {
  std::string opik_url, recording_url;
  auto opik = serve("opik", base_config_, opik_url);
  auto recording = serve("recording", recording_config(opik_url), recording_url);
  run(opik_url, demo_);  // the dataset is Opik's, as in Studio
  struct studio_run {
    std::string optimizer, parameters, metric;
    std::string metric_parameters = R"({"case_sensitive":false,"reference_key":"answer"})";
  };
  const std::string gepa = R"({"verbose":false,"seed":42,"model":"sim-reasoner","model_parameters":{"temperature":1.0}})";
  const std::string hrpo =
      R"({"convergence_threshold":0.01,"verbose":false,"seed":42,"model":"sim-reasoner","model_parameters":{"temperature":1.0}})";
  // The UI's defaults for its judge and code metrics (apps/opik-frontend, constants/optimizations).
  const std::string geval_defaults =
      R"({"task_introduction":"You are evaluating how well an AI assistant answers questions based on context.",)"
      R"("evaluation_criteria":"The answer should be accurate, relevant, and directly address the question. )"
      R"(Consider: 1) Factual correctness, 2) Completeness of the answer, 3) Clarity and coherence"})";
  const std::string code_template = nlohmann::json{{"code", R"(from opik.evaluation.metrics import BaseMetric
from opik.evaluation.metrics.score_result import ScoreResult

class MyMetric(BaseMetric):
    def __init__(self, name: str = "my_metric"):
        super().__init__(name=name)
    
    def score(self, output: str, **kwargs) -> ScoreResult:
        # output: the LLM response
        # kwargs: contains dataset_item fields (e.g., kwargs.get("expected_value"))
        return ScoreResult(
            name=self.name,
            value=1.0,  # Score between 0.0 and 1.0
            reason="Evaluation reason"
        ))"}}.dump();
  const studio_run runs[] = {{"gepa", gepa, "equals"},
                             {"hierarchical_reflective", hrpo, "levenshtein_ratio"},
                             {"hierarchical_reflective", hrpo, "geval", geval_defaults},
                             {"gepa", gepa, "json_schema_validator", R"({"reference_key":"","case_sensitive":false})"},
                             {"gepa", gepa, "code", code_template}};
  for (const auto& r : runs) {
    SCOPED_TRACE(r.optimizer + " with " + r.metric);
    auto created = test::http(recording_url, "POST", "/api/v1/private/optimizations",
                              studio_body(r.optimizer, r.parameters, r.metric, r.metric_parameters));
    ASSERT_EQ(created.status, 201u) << created.body;
    auto location = std::string(created.header("location"));
    auto id = location.substr(location.rfind('/') + 1);
    nlohmann::json o;
    ASSERT_TRUE(test::eventually([&] {
      o = nlohmann::json::parse(test::http(recording_url, "GET", "/api/v1/private/optimizations/" + id).body);
      return o.value("status", "") == "completed" || o.value("status", "") == "error";
    }));
    ASSERT_EQ(o["status"], "completed") << o.dump();
    EXPECT_GE(o["best_objective_score"].get<double>(), o["baseline_objective_score"].get<double>());
    auto screenings = nlohmann::json::parse(
        test::http(recording_url, "GET", "/api/v1/private/experiments?optimization_id=" + id + "&types=%5B%22mini-batch%22%5D").body);
    if (r.optimizer == "gepa" && r.metric == "equals") {
      EXPECT_GT(screenings["total"].get<int>(), 0);
      EXPECT_GT(o["best_objective_score"].get<double>(), o["baseline_objective_score"].get<double>());
    }
    if (r.metric == "geval") {  // the judge tells what is wrong; HRPO's analysts read it in its reasons
      EXPECT_GT(o["best_objective_score"].get<double>(), o["baseline_objective_score"].get<double>());
    }
    // The log says the UI's verbose is accepted and means nothing here.
    auto log = optd({"logs", "--server", recording_url, id});
    log.wait();
    EXPECT_THAT(log.out(), HasSubstr("verbose is accepted and ignored"));
    if (r.metric == "json_schema_validator") {
      EXPECT_THAT(log.out(), HasSubstr("reference_key is accepted and ignored"));
    }
    expect_same_in_opik(recording_url, opik_url, id, "completed · ");
  }
  stop(recording);
  stop(opik);
}

}  // namespace
}  // namespace optd
