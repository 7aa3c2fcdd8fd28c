#include "plugins/metrics/heuristic_metrics.hpp"

#include <gtest/gtest.h>

#include "core/catalog.hpp"
#include "plugins/registry.hpp"

namespace optd::plugins {
namespace {

struct metric_case {
  std::string type;
  nlohmann::json params;
  std::string output;
  nlohmann::json data;
  double expected;
  std::string reason_part;
};

class metric_cases : public ::testing::TestWithParam<metric_case> {};

TEST_P(metric_cases, scores_and_explains) {
  const auto& c = GetParam();
  std::vector<core::dataset_item> dataset{{"1", {{"answer", "10"}}}, {"2", {{"answer", "30"}}}};
  auto m = make_metric({c.type, c.params, 1.0}, {}, dataset);
  ASSERT_TRUE(m);
  EXPECT_EQ(m->name(), c.type);
  auto r = m->score(c.output, c.data);
  EXPECT_NEAR(r.value, c.expected, 1e-9) << r.reason;
  EXPECT_NE(r.reason.find(c.reason_part), std::string::npos) << r.reason;
}

INSTANTIATE_TEST_SUITE_P(
    opik_heuristics, metric_cases,
    ::testing::Values(
        metric_case{"equals", {}, "Paris", {{"answer", "paris"}}, 1.0, "equals"},
        metric_case{"equals", {{"case_sensitive", true}}, "Paris", {{"answer", "paris"}}, 0.0, "differs"},
        metric_case{"equals", {{"reference_key", "label"}}, "x", {{"answer", "x"}}, 0.0,
                    "Missing reference value for key 'label'"},
        metric_case{"equals", {}, "4", {{"answer", 4}}, 1.0, "equals"},  // non-string references compare as JSON
        metric_case{"contains", {}, "The capital is PARIS.", {{"answer", "paris"}}, 1.0, "contains"},
        metric_case{"contains", {{"case_sensitive", true}}, "PARIS", {{"answer", "paris"}}, 0.0, "does not"},
        metric_case{"regex_match", {{"regex", "^\\d+$"}}, "42", {}, 1.0, "matches"},
        metric_case{"regex_match", {{"regex", "^\\d+$"}}, "42 apples", {}, 0.0, "does not match"},
        metric_case{"levenshtein_ratio", {}, "kitten", {{"answer", "sitting"}}, 8.0 / 13.0, "62%"},
        metric_case{"levenshtein_ratio", {}, "same", {{"answer", "SAME"}}, 1.0, "100%"},
        metric_case{"numerical_similarity", {}, "25", {{"answer", "30"}}, 0.75, "range of 20"},
        metric_case{"numerical_similarity", {}, "abc", {{"answer", "30"}}, 0.0, "not a number"},
        metric_case{"numerical_similarity", {}, "100", {{"answer", "30"}}, 0.0, "range"},
        metric_case{"is_json", {}, R"({"a": [1, 2]})", {}, 1.0, "valid JSON"},
        metric_case{"is_json", {}, "{a: 1}", {}, 0.0, "not valid JSON"}));

TEST(levenshtein_ratio, edge_cases) {
  EXPECT_DOUBLE_EQ(levenshtein_ratio("", ""), 1.0);
  EXPECT_DOUBLE_EQ(levenshtein_ratio("abc", ""), 0.0);
  EXPECT_DOUBLE_EQ(levenshtein_ratio("abc", "abc"), 1.0);
}

TEST(registry, every_type_in_the_catalog_has_an_implementation_and_no_other) {
  core::run_spec spec;
  spec.llm_model.model = "m";
  EXPECT_EQ(make_metric({"bleu", {}, 1.0}, spec, {}), nullptr);
  metric_services services{std::make_shared<python_sandbox>(sandbox_settings{})};  // not started by making a metric
  for (const auto& t : core::metric_catalog())
    EXPECT_NE(make_metric({std::string(t.type), {}, {}}, spec, {}, services), nullptr) << t.type;
  for (const auto& t : core::optimizer_catalog()) {
    spec.optimizer.type = t.type;
    EXPECT_NE(make_optimizer(spec), nullptr) << t.type;
  }
  spec.optimizer.type = "few_shot";
  EXPECT_EQ(make_optimizer(spec), nullptr);
}

}  // namespace
}  // namespace optd::plugins
