#pragma once
// llm-sim's rule-based "model". Pure functions of the request and a seed, documented in
// tools/llm-sim/README.md: task answers depend on instruction keywords in the system prompt, and
// the "reasoning model" can only find those keywords by reading failing examples.
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
};

// The answer text for a chat request.
std::string respond(const std::vector<sim_message>& messages, double temperature, const sim_options& options);

// True when the request is addressed to the reasoning model (a system message mentions
// "prompt engineer").
bool is_reasoning_request(const std::vector<sim_message>& messages);

// Task side, exposed for tests.
std::string answer_task(std::string_view instructions, std::string_view question, double temperature,
                        std::uint64_t seed);
std::string number_to_words(long long n);

// Approximate token count: one per four bytes, at least one.
std::int64_t count_tokens(std::string_view text);

std::uint64_t fnv1a(std::string_view s, std::uint64_t h = 1469598103934665603ull);

}  // namespace optd::sim
