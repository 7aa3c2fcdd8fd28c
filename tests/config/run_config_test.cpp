#include "config/run_config.hpp"

#include <fstream>

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "support/test_support.hpp"

namespace optd::config {
namespace {

using ::testing::ElementsAre;
using ::testing::HasSubstr;

class run_config_test : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = test::temp_dir("run_config");
    std::ofstream(dir_ + "/qa.jsonl") << R"({"question":"What is 2+2?","answer":"4"})" << "\n"
                                      << R"({"question":"Capital of France?","answer":"Paris","context":"geo"})"
                                      << "\n";
  }

  loaded_run load(const std::string& yaml, code_checker check_code = {}) {
    load_context ctx;
    ctx.providers = {"openai", "local"};
    ctx.check_code = std::move(check_code);
    return parse_run_config(yaml, "run.yaml", dir_, ctx);
  }

  // "line:col: message" for each problem, file name dropped for brevity.
  static std::vector<std::string> problems(const loaded_run& r) {
    std::vector<std::string> out;
    for (const auto& d : r.problems)
      out.push_back(std::to_string(d.line) + ":" + std::to_string(d.column) + ": " + d.message);
    return out;
  }

  std::string dir_;
};

constexpr const char* valid = R"(name: qa
dataset_file: qa.jsonl
prompt:
  messages:
    - role: system
      content: Answer briefly.
    - role: user
      content: "{{question}}"
llm_model:
  model: gpt-4o-mini
  provider: openai
  parameters: {temperature: 0.2, max_tokens: 100, seed: 7}
evaluation:
  metrics:
    - type: equals
      parameters: {reference_key: answer, case_sensitive: true}
    - type: levenshtein_ratio
      weight: 0.5
optimizer:
  type: meta_prompt
  parameters: {model: gpt-4o, model_parameters: {temperature: 1.0}, prompts_per_round: 2, seed: 3}
limits: {max_trials: 5, n_samples: 2, max_concurrency: 4, max_duration: 10m, max_cost_usd: 1.5}
)";

TEST_F(run_config_test, valid_config_fills_the_run_spec) {
  auto r = load(valid);
  ASSERT_TRUE(r.ok()) << ::testing::PrintToString(problems(r));
  const auto& s = r.spec;
  EXPECT_EQ(s.name, "qa");
  EXPECT_EQ(s.dataset_name, "qa");  // from the file's stem
  EXPECT_EQ(r.dataset_rows.size(), 2u);
  ASSERT_EQ(s.prompt.size(), 2u);
  EXPECT_EQ(s.prompt[1].content, "{{question}}");
  EXPECT_EQ(s.llm_model.parameters["max_tokens"], 100);
  EXPECT_EQ(s.llm_model.parameters["temperature"], 0.2);
  ASSERT_EQ(s.metrics.size(), 2u);
  EXPECT_EQ(s.metrics[0].parameters["case_sensitive"], true);
  EXPECT_EQ(s.metrics[1].weight, 0.5);
  EXPECT_EQ(s.metrics[0].weight, std::nullopt);
  EXPECT_EQ(s.objective_name, "multi_metric_objective");  // default for several metrics, as Opik's optimizer names it
  EXPECT_EQ(s.optimizer.model, "gpt-4o");
  EXPECT_EQ(s.optimizer.model_parameters["temperature"], 1.0);
  EXPECT_EQ(s.optimizer.parameters["prompts_per_round"], 2);
  EXPECT_FALSE(s.optimizer.parameters.contains("model"));
  EXPECT_EQ(s.limits.max_trials, 5);
  EXPECT_EQ(s.limits.max_duration, std::chrono::minutes(10));
  EXPECT_EQ(s.limits.max_cost_usd, 1.5);
}

TEST_F(run_config_test, opik_create_body_with_studio_config_in_json) {
  auto r = load(R"({"name":"from-opik","dataset_name":"qa","dataset_file":"qa.jsonl","objective_name":"equals",
    "status":"initialized","metadata":{"optimizer":"x"},
    "studio_config":{"dataset_name":"qa","prompt":{"messages":[{"role":"user","content":"{{question}}"}]},
      "llm_model":{"model":"gpt-4o-mini","parameters":{"temperature":0.7}},
      "evaluation":{"metrics":[{"type":"equals","parameters":{"reference_key":"answer"}}]},
      "optimizer":{"type":"meta_prompt","parameters":{"seed":42,"verbose":false}}}})");
  ASSERT_TRUE(r.ok()) << ::testing::PrintToString(problems(r));
  EXPECT_EQ(r.spec.name, "from-opik");
  EXPECT_EQ(r.spec.objective_name, "equals");
  EXPECT_EQ(r.spec.llm_model.provider, "");  // the daemon's default provider
}

TEST_F(run_config_test, every_problem_with_its_line_and_column) {
  auto r = load(R"(nmae: typo
dataset_file: qa.jsonl
prompt:
  messages:
    - role: robot
      content: "Use {{questoin}} please"
llm_model:
  model: gpt-4o-mini
  provider: nowhere
  parameters: {temperature: 3, max_tokens: "many", temprature: 1}
evaluation:
  metrics:
    - type: bleu
    - type: equals
      parameters: {reference_key: expected, strict: true}
    - type: regex_match
optimizer:
  type: few_shot
limits: {max_trials: 0, max_concurrency: 2.5, max_duration: soon}
)");
  EXPECT_THAT(problems(r),
              ElementsAre("1:1: unknown key 'nmae'; did you mean 'name'?",
                          "5:13: prompt.messages[0].role: unknown role 'robot'; use system, user or assistant",
                          "9:13: llm_model.provider: unknown provider 'nowhere'; the daemon config has: openai, local",
                          "10:29: llm_model.parameters.temperature must be between 0 and 2, got 3",
                          "10:44: llm_model.parameters.max_tokens must be a whole number, got a string",
                          "10:52: unknown key 'llm_model.parameters.temprature'; known: temperature, max_tokens, "
                          "max_completion_tokens, top_p, seed, frequency_penalty, presence_penalty, stop, response_format",
                          "13:13: evaluation.metrics[0].type: unknown metric type 'bleu'; known: equals, contains, "
                          "regex_match, levenshtein_ratio, numerical_similarity, is_json, geval, json_schema_validator, json_schema, code",
                          "15:45: unknown parameter 'evaluation.metrics[1].parameters.strict' for equals (known: "
                          "reference_key, case_sensitive)",
                          "16:7: missing required parameter 'evaluation.metrics[2].parameters.regex'",
                          "18:9: optimizer.type: unknown optimizer type 'few_shot'; known: meta_prompt, gepa, "
                          "hierarchical_reflective, evolutionary",
                          "19:22: limits.max_trials must be between 1 and 10000, got 0",
                          "19:42: limits.max_concurrency must be a whole number, got '2.5'",
                          "19:61: limits.max_duration must be a positive duration like 90s, 30m or 2h, got 'soon'",
                          // the column of the "{{" inside the quoted scalar
                          "6:21: variable {{questoin}} is not a field of any item of dataset 'qa' (fields: answer, "
                          "context, question)",
                          "15:35: evaluation.metrics[1]: reference_key 'expected' is not a field of any item of "
                          "dataset 'qa' (fields: answer, context, question)"));
}

// The optimizer part of a Studio config as Opik's UI builds it (apps/opik-frontend: GEPA sends
// verbose and seed, Hierarchical Reflective also convergence_threshold, both model and
// model_parameters).
std::string studio(const std::string& optimizer) {
  return R"({"name":"studio","dataset_name":"qa","dataset_file":"qa.jsonl","objective_name":"levenshtein_ratio",
    "status":"initialized","studio_config":{"dataset_name":"qa",
      "prompt":{"messages":[{"role":"system","content":"Answer."},{"role":"user","content":"{{question}}"}]},
      "llm_model":{"model":"gpt-4o-mini","parameters":{"temperature":0.7,"max_tokens":500}},
      "evaluation":{"metrics":[{"type":"levenshtein_ratio","parameters":{"case_sensitive":false,"reference_key":"answer"}}]},
      "optimizer":)" + optimizer + "}}";
}

TEST_F(run_config_test, studio_optimizer_configs_as_opiks_ui_builds_them_are_accepted_and_ignored_parameters_noted) {
  auto gepa = load(studio(R"({"type":"gepa","parameters":{"verbose":false,"seed":42,"model":"gpt-4o",
                                "model_parameters":{"temperature":1.0}}})"));
  ASSERT_TRUE(gepa.ok()) << ::testing::PrintToString(problems(gepa));
  EXPECT_EQ(gepa.spec.optimizer.type, "gepa");
  EXPECT_EQ(gepa.spec.optimizer.model, "gpt-4o");
  EXPECT_EQ(gepa.spec.optimizer.parameters["seed"], 42);
  EXPECT_FALSE(gepa.spec.optimizer.parameters.contains("verbose"));  // accepted, and ignored
  ASSERT_EQ(gepa.notes.size(), 1u);
  EXPECT_THAT(gepa.notes[0].message, HasSubstr("studio_config.optimizer.parameters.verbose is accepted and ignored"));
  EXPECT_GT(gepa.notes[0].line, 0);
  ASSERT_EQ(gepa.spec.notes.size(), 1u);  // said again in the run's log

  auto hrpo = load(studio(R"({"type":"hierarchical_reflective","parameters":{"convergence_threshold":0.01,
                                "verbose":false,"seed":42,"model":"gpt-4o","model_parameters":{"temperature":1.0}}})"));
  ASSERT_TRUE(hrpo.ok()) << ::testing::PrintToString(problems(hrpo));
  EXPECT_EQ(hrpo.spec.optimizer.parameters["convergence_threshold"], 0.01);

  auto evo = load(studio(R"({"type":"Evolutionary","parameters":{"population_size":10,"num_generations":5,
                               "mutation_rate":0.1,"crossover_rate":0.7,"tournament_size":3,"elitism_size":1,
                               "adaptive_mutation":false,"enable_moo":false,"enable_llm_crossover":false,
                               "output_style_guidance":"","infer_output_style":false,"n_threads":1,"verbose":false,
                               "seed":42}})"));
  ASSERT_TRUE(evo.ok()) << ::testing::PrintToString(problems(evo));
  EXPECT_EQ(evo.spec.optimizer.type, "evolutionary");  // Opik's worker takes any case
  EXPECT_EQ(evo.notes.size(), 2u);                     // n_threads and verbose
}

TEST_F(run_config_test, optimizer_parameters_are_checked_by_name_type_range_and_value) {
  auto r = load(R"(dataset_file: qa.jsonl
prompt: {messages: [{role: user, content: "{{question}}"}]}
llm_model: {model: m}
evaluation: {metrics: [{type: equals}]}
optimizer:
  type: gepa
  parameters:
    candidate_selection_stratgy: pareto
    reflection_minibatch_size: 0
    use_merge: "yes"
    reflection_feedback: verbose
    prompt_overrides: {reflection_prompt_template: "Improve <curr_param>."}
)");
  EXPECT_THAT(problems(r),
              ElementsAre("8:5: unknown parameter 'optimizer.parameters.candidate_selection_stratgy' for gepa; did you "
                          "mean 'candidate_selection_strategy'? (known: seed, verbose, n_threads, name, "
                          "skip_perfect_score, perfect_score, prompt_overrides, reflection_minibatch_size, "
                          "candidate_selection_strategy, use_merge, max_merge_invocations, no_improvement_iterations, "
                          "max_reflection_calls, raise_on_exception, reflection_feedback, run_dir, track_best_outputs, "
                          "display_progress_bar)",
                          "9:32: optimizer.parameters.reflection_minibatch_size must be between 1 and 1000, got 0",
                          "10:16: optimizer.parameters.use_merge must be true or false, got a string",
                          "11:26: optimizer.parameters.reflection_feedback must be one of opik, rich, got 'verbose'",
                          "12:52: optimizer.parameters.prompt_overrides.reflection_prompt_template must contain "
                          "<side_info> (where GEPA puts the scored examples)"));
}

TEST_F(run_config_test, one_metric_is_its_own_objective_and_several_need_one_of_their_own) {
  auto one = std::string(valid);
  one.replace(one.find("    - type: levenshtein_ratio"), std::string("    - type: levenshtein_ratio\n      weight: 0.5\n").size(), "");
  auto single = load(one);
  ASSERT_TRUE(single.ok()) << ::testing::PrintToString(problems(single));
  EXPECT_EQ(single.spec.objective_name, "equals");
  // Both are trace scores: an objective named like one of several metrics would hide that metric.
  auto clash = load("objective_name: levenshtein_ratio\n" + std::string(valid));
  EXPECT_THAT(problems(clash), ElementsAre("1:17: objective_name 'levenshtein_ratio' is the name of one of the 2 metrics, "
                                           "but the objective is their weighted sum; give it a name of its own (by "
                                           "default: multi_metric_objective)"));
  auto twice = std::string(valid);
  twice.replace(twice.find("type: levenshtein_ratio"), 23, "type: equals");
  EXPECT_THAT(problems(load(twice)), ElementsAre("17:13: evaluation.metrics[1].type: a metric whose scores are named "
                                                 "'equals' is listed twice; one would hide the other"));
}

// The valid config with its metrics replaced by `metrics` (indented as list items under metrics:).
std::string with_metrics(const std::string& metrics) {
  std::string yaml = valid;
  auto b = yaml.find("    - type: equals"), e = yaml.find("optimizer:");
  return yaml.replace(b, e - b, metrics);
}

TEST_F(run_config_test, judge_and_schema_metrics_are_checked_where_they_are_written) {
  auto r = load(with_metrics("    - type: geval\n"
                             "      parameters: {evaluation_criteria: brief, provider: judges}\n"
                             "    - type: json_schema\n"
                             "      parameters:\n"
                             "        schema: {type: objekt}\n"
                             "    - type: json_schema_validator\n"
                             "      parameters: {reference_key: '', case_sensitive: false}\n"));
  EXPECT_THAT(problems(r),
              ElementsAre("16:19: missing required parameter 'evaluation.metrics[0].parameters.task_introduction'",
                          "16:58: evaluation.metrics[0].parameters.provider: unknown provider 'judges'; the daemon "
                          "config has: openai, local",
                          "19:17: evaluation.metrics[1].parameters.schema is not a JSON Schema optd can use: Unrecognised JSON type name 'objekt'"));
  // What Opik's UI sends for the schema judge and its worker ignores is noted, not refused.
  std::vector<std::string> notes;
  for (const auto& n : r.notes) notes.push_back(n.message);
  EXPECT_THAT(notes, testing::Contains(HasSubstr("evaluation.metrics[2].parameters.reference_key is accepted and ignored")));
}

TEST_F(run_config_test, a_code_metric_is_run_once_at_validation_and_named_as_its_class_names_its_scores) {
  std::vector<std::string> checked;
  auto checker = [&](const std::string& code) {
    checked.push_back(code);
    code_check c;
    if (code.find("def score(self, output:\n") != std::string::npos) {
      c.problem = "SyntaxError: invalid syntax";
      c.line = 3;
      c.column = 22;
    } else {
      c.metric_name = "my_metric";
    }
    return c;
  };
  auto ok = load(with_metrics("    - type: code\n"
                              "      parameters:\n"
                              "        code: |\n"
                              "          class M(BaseMetric):\n"
                              "              pass\n"),
                 checker);
  ASSERT_TRUE(ok.ok()) << ::testing::PrintToString(problems(ok));
  EXPECT_EQ(checked, std::vector<std::string>{"class M(BaseMetric):\n    pass\n"});
  EXPECT_EQ(ok.spec.metrics[0].score_name(), "my_metric");
  EXPECT_EQ(ok.spec.objective_name, "my_metric");

  auto broken = load(with_metrics("    - type: code\n"
                                  "      parameters: {code: \"class M(BaseMetric):\\n  def x(self):\\n    def score(self, output:\\n\"}\n"),
                     checker);
  EXPECT_THAT(problems(broken), ElementsAre("16:26: evaluation.metrics[0].parameters.code: line 3, column 22 of the "
                                            "code: SyntaxError: invalid syntax"));

  auto refused = load(with_metrics("    - type: code\n      parameters: {code: x}\n"), [](const std::string&) {
    return code_check{"", "its sandbox does not work (bwrap: no permissions)", 0, 0, true};
  });
  EXPECT_THAT(problems(refused), ElementsAre("15:13: evaluation.metrics[0].type: code metrics cannot run on this "
                                             "daemon: its sandbox does not work (bwrap: no permissions)"));
}

TEST_F(run_config_test, missing_sections_are_each_reported) {
  auto r = load("name: empty\n");
  EXPECT_THAT(problems(r), ElementsAre("1:1: missing required key 'dataset_name'", "1:1: missing required key 'prompt'",
                                       "1:1: missing required key 'llm_model'", "1:1: missing required key 'evaluation'",
                                       "1:1: missing required key 'optimizer'"));
}

TEST_F(run_config_test, wrong_types_name_what_was_found) {
  auto r = load(R"(dataset_file: qa.jsonl
prompt: [a, b]
llm_model: {model: [x]}
evaluation: {metrics: []}
optimizer: {type: meta_prompt, parameters: {prompts_per_round: 99, verbose: maybe}}
)");
  EXPECT_THAT(problems(r),
              ElementsAre("2:9: prompt must be a map, got a list", "3:20: llm_model.model must be a string, got a list",
                          "4:23: evaluation.metrics must be a non-empty list of {type, parameters, weight}",
                          "5:64: optimizer.parameters.prompts_per_round must be between 1 and 10, got 99",
                          "5:77: optimizer.parameters.verbose must be true or false, got a string"));
}

TEST_F(run_config_test, missing_dataset_file_and_unknown_stored_dataset) {
  auto r = load("dataset_file: nope.jsonl\n" + std::string(valid).substr(std::string(valid).find("prompt:")));
  ASSERT_EQ(r.problems.size(), 1u);
  EXPECT_EQ(r.problems[0].line, 1);
  EXPECT_THAT(r.problems[0].message, HasSubstr("nope.jsonl': cannot open dataset file"));

  auto s = load("dataset_name: unknown\n" + std::string(valid).substr(std::string(valid).find("prompt:")));
  ASSERT_EQ(s.problems.size(), 1u);
  EXPECT_EQ(s.problems[0].message, "dataset 'unknown' is not stored; give dataset_file to load it");
}

TEST_F(run_config_test, stored_dataset_is_found_through_the_lookup) {
  load_context ctx;
  ctx.datasets = [](std::string_view name) -> std::optional<std::vector<nlohmann::json>> {
    if (name != "stored") return std::nullopt;
    return std::vector<nlohmann::json>{{{"question", "q"}, {"answer", "a"}}};
  };
  auto text = "dataset_name: stored\n" + std::string(valid).substr(std::string(valid).find("prompt:"));
  auto r = parse_run_config(text, "run.yaml", dir_, ctx);
  EXPECT_TRUE(r.ok()) << ::testing::PrintToString(problems(r));
  EXPECT_EQ(r.dataset_rows.size(), 1u);
}

TEST_F(run_config_test, yaml_syntax_error_points_at_it) {
  auto r = load("name: x\nprompt: {messages: [\n");
  ASSERT_EQ(r.problems.size(), 1u);
  EXPECT_EQ(r.problems[0].line, 3);
  EXPECT_THAT(r.problems[0].message, HasSubstr("YAML syntax"));
}

// What yaml-cpp accepts silently, each refused with its place.
TEST_F(run_config_test, a_key_given_twice_is_an_error_naming_both_places_even_an_override_appended_at_the_end) {
  EXPECT_THAT(problems(load(std::string(valid) + "limits: {max_trials: 1}\n")),
              ElementsAre("23:1: key 'limits' is given twice, at 22:1 and here; give it once"));
  std::string nested = valid;
  nested.replace(nested.find("model: gpt-4o-mini"), 18, "model: gpt-4o-mini\n  model: gpt-4o");
  EXPECT_THAT(problems(load(nested)), ElementsAre("11:3: key 'model' is given twice, at 10:3 and here; give it once"));
}

TEST_F(run_config_test, a_second_document_is_an_error_where_it_starts) {
  EXPECT_THAT(problems(load(std::string(valid) + "---\nname: other\n")),
              ElementsAre(HasSubstr("23:1: a second YAML document starts here; a config is one document")));
}

TEST_F(run_config_test, control_characters_in_names_models_and_roles_are_refused) {
  std::string nul_model = valid;
  nul_model.replace(nul_model.find("model: gpt-4o-mini"), 18, "model: \"gpt\\0-4o\"");
  EXPECT_THAT(problems(load(nul_model)), ElementsAre("10:10: control character U+0000 in a value; names, models, roles "
                                                     "and texts hold printable text"));
  std::string escape_name = valid;
  escape_name.replace(0, 8, "name: \"qa\\e[2J\"");
  EXPECT_THAT(problems(load(escape_name)), ElementsAre(HasSubstr("1:7: control character U+001B")));
}

TEST_F(run_config_test, tab_indentation_is_named_as_such) {
  std::string tabbed = valid;
  tabbed.replace(tabbed.find("  parameters: {temperature"), 2, "\t");
  EXPECT_THAT(problems(load(tabbed)), ElementsAre("12:1: a tab indents this line; YAML indents with spaces only"));
}

TEST_F(run_config_test, an_unclosed_variable_and_a_prompt_without_any_are_errors) {
  std::string unclosed = valid;
  unclosed.replace(unclosed.find("\"{{question}}\""), 14, "\"Q: {{question\"");
  EXPECT_THAT(problems(load(unclosed)),
              ElementsAre("8:16: prompt.messages[1].content: '{{' at offset 3 is not closed; a variable is written "
                          "{{name}}"));
  std::string constant = valid;
  constant.replace(constant.find("\"{{question}}\""), 14, "What is 2+2?");
  EXPECT_THAT(problems(load(constant)),
              ElementsAre("5:5: prompt has no {{variable}}: every item would get the same prompt (add one, or say "
                          "`without_variables: true` under prompt)"));
  constant.replace(constant.find("prompt:\n"), 8, "prompt:\n  without_variables: true\n");
  EXPECT_TRUE(load(constant).ok()) << ::testing::PrintToString(problems(load(constant)));
}

TEST_F(run_config_test, a_cost_cap_needs_a_price_for_every_model_the_run_calls) {
  load_context ctx;
  ctx.priced = [](std::string_view provider, std::string_view model) { return provider == "openai" && model == "gpt-4o-mini"; };
  auto r = parse_run_config(valid, "run.yaml", dir_, ctx);
  EXPECT_THAT(problems(r), ElementsAre("22:92: limits.max_cost_usd needs a price for every model the run calls; the daemon "
                                       "config has none for 'gpt-4o' on provider 'openai' (add it under that provider's "
                                       "prices)"));
  ctx.priced = [](std::string_view, std::string_view) { return true; };
  EXPECT_TRUE(parse_run_config(valid, "run.yaml", dir_, ctx).ok());
}

TEST_F(run_config_test, a_provider_with_a_daily_budget_needs_a_price_for_every_model_the_run_calls_through_it) {
  load_context ctx;
  ctx.priced = [](std::string_view, std::string_view model) { return model == "gpt-4o-mini"; };
  ctx.daily_budgeted = [](std::string_view provider) { return provider == "openai"; };
  auto r = parse_run_config(valid, "run.yaml", dir_, ctx);
  EXPECT_THAT(problems(r), ::testing::Contains("10:3: provider 'openai''s daily_budget_usd needs a price for every model "
                                               "the run calls; the daemon config has none for 'gpt-4o' on provider "
                                               "'openai' (add it under that provider's prices)"));
  ctx.daily_budgeted = [](std::string_view provider) { return provider == "anthropic"; };  // not called
  EXPECT_THAT(problems(parse_run_config(valid, "run.yaml", dir_, ctx)), ::testing::Not(::testing::Contains(HasSubstr("daily_budget_usd"))));
}

TEST_F(run_config_test, file_names_appear_in_formatted_problems) {
  std::ofstream(dir_ + "/bad.yaml") << "name: [1\n";
  auto r = load_run_config_file(dir_ + "/bad.yaml");
  ASSERT_EQ(r.problems.size(), 1u);
  EXPECT_THAT(format(r.problems[0]), ::testing::StartsWith(dir_ + "/bad.yaml:2:1: YAML syntax"));
  EXPECT_THAT(format(load_run_config_file(dir_ + "/none.yaml").problems.at(0)),
              ::testing::EndsWith("none.yaml: cannot open the config file"));
}

TEST_F(run_config_test, the_shipped_demo_config_is_valid) {
  auto r = load_run_config_file(std::string(OPTD_SOURCE_DIR) + "/config/examples/demo.yaml");
  EXPECT_TRUE(r.ok()) << ::testing::PrintToString(problems(r));
  EXPECT_EQ(r.spec.dataset_name, "skills");
  EXPECT_GT(r.dataset_rows.size(), 20u);
}

}  // namespace
}  // namespace optd::config
