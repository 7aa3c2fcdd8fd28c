#pragma once
// llm-sim's rule-based "model". Pure functions of the request and a seed, documented in
// tools/llm-sim/README.md: task answers depend on instruction keywords in the system prompt; the
// "reasoning model" answers each kind of optimizer request from what it reads in it (failing
// examples, expected answers, metric reasons, failure modes), never from the wording of optd's
// instructions, so that rewording a prompt does not break it.
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

namespace optd::sim {

struct sim_message {
  std::string role;
  std::string content;
};

struct sim_options {
  std::uint64_t seed = 42;
  double drop_variable_rate = 0.1;  // reasoning: chance a rewrite loses its {{variables}}
  double format_noise_rate = 0.2;   // reasoning: chance a reply wraps its answer in a fence or prose
};

struct sim_request {
  std::vector<sim_message> messages;
  double temperature = 0;
  nlohmann::json response_format = nullptr;  // the request's, or null
};

// What a request asks for, read from it: a structured-output schema says by the fields it wants;
// without one, a system message about prompt engineering asks for meta_prompt's rewrites, a user
// message with a ``` fenced block asks for a new instruction (GEPA's reflection), anything else
// is a task.
enum class ask {
  task,
  rewrites,        // {"prompts": [{"messages": …}]}: meta_prompt
  instruction,     // a fenced instruction: GEPA's reflection
  failure_modes,   // {"failure_modes": […]}: an HRPO batch analysis
  unified_modes,   // {"unified_failure_modes": […]}: the HRPO synthesis
  improved_prompt, // {"reasoning", "messages"}: an HRPO rewrite
  prompts,         // {"prompts": [{"prompt": …}]}: an evolutionary population
  crossover,       // {"child_1", "child_2"}
  mutated_prompt,  // {"messages"}
  word,            // {"word"}
  style,           // {"style"}
  // The judge (sim_judge.cpp):
  evaluation_steps,  // no schema; a user message with TASK INTRODUCTION: and EVALUATION CRITERIA: (GEval)
  geval_verdict,     // {"score": integer, "reason"}: GEval's verdict
  compliance,        // {"score": boolean, "reason"}: the structured-output compliance judge
};
ask classify(const sim_request& request);

// The answer text for a chat request.
std::string respond(const sim_request& request, const sim_options& options);
std::string respond(const std::vector<sim_message>& messages, double temperature, const sim_options& options);
// The reasoning rules (sim_reasoning.cpp), for every kind but task.
std::string answer_reasoning(ask kind, const sim_request& request, const sim_options& options);

// The contents of the request's messages of `role`, each followed by a newline.
inline std::string role_text(const sim_request& request, std::string_view role) {
  std::string out;
  for (const auto& m : request.messages)
    if (m.role == role) out += m.content + "\n";
  return out;
}

// The judge's rules (sim_judge.cpp).
std::string evaluation_steps(const sim_request& request);
std::string geval_verdict(const sim_request& request);
std::string compliance_verdict(const sim_request& request);

// True when the request is addressed to the reasoning model (any kind but a task or a judge's).
inline bool is_reasoning_request(const sim_request& request) {
  auto k = classify(request);
  return k != ask::task && k != ask::evaluation_steps && k != ask::geval_verdict && k != ask::compliance;
}
inline bool is_judge_request(const sim_request& request) {
  auto k = classify(request);
  return k == ask::evaluation_steps || k == ask::geval_verdict || k == ask::compliance;
}

// One token of an answer with its log-probability and up to `top` alternatives, as OpenAI's
// logprobs.content gives them.
struct sim_token {
  std::string token;
  double logprob = 0;
  std::vector<std::pair<std::string, double>> top;
};
// The answer's tokens: a GEval verdict as {"  score  ":  ␣S  …, its number sure at 70 % with the
// numbers one below and above at 20 and 10 % (0 and 10 alone, certain); any other answer one
// certain token per word.
std::vector<sim_token> answer_logprobs(const sim_request& request, const std::string& text, int top);

// Task side, exposed for tests.
std::string answer_task(std::string_view instructions, std::string_view question, double temperature,
                        std::uint64_t seed);
std::string number_to_words(long long n);

// Approximate token count: one per four bytes, at least one.
std::int64_t count_tokens(std::string_view text);

std::uint64_t fnv1a(std::string_view s, std::uint64_t h = 1469598103934665603ull);

}  // namespace optd::sim
