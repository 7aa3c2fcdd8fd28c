#pragma once
// Inside llm-sim: the four behaviours a prompt's instructions switch on in the task model, the
// sentence the reasoning rules write to switch each on, and the words they recognise each by
// when they read a failure described in prose (tools/llm-sim/README.md).
#include <algorithm>
#include <array>
#include <cctype>
#include <string>
#include <string_view>

namespace optd::sim {

inline std::string lower(std::string_view s) {
  std::string out(s);
  std::transform(out.begin(), out.end(), out.begin(), [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  return out;
}

inline bool has(std::string_view hay, std::string_view needle) { return hay.find(needle) != std::string_view::npos; }

struct behaviour {
  std::string_view fix;                    // the instruction that switches it on
  std::string_view name;                   // a failure mode's name for its absence
  std::string_view description;            // … and its description
  std::array<std::string_view, 4> signs;   // words that name the failure in prose
};

enum behaviour_id { concise = 0, digits = 1, no_punctuation = 2, careful = 3 };

inline constexpr std::array<behaviour, 4> behaviours{{
    {"Reply with only the final answer, nothing else.", "Answer wrapped in a sentence",
     "The model writes a sentence around the answer (\"Sure! The answer is …\") where the reference is the bare answer.",
     {"sentence", "bare answer", "final answer", "verbose"}},
    {"Write every number with digits.", "Numbers written as words",
     "The model spells numbers out in words where the reference writes them with digits.",
     {"digit", "as words", "in words", "spell"}},
    {"Use no punctuation at the end of the answer.", "Trailing punctuation",
     "The model ends the answer with a period the reference does not have.",
     {"punctuation", "period", "full stop", "trailing"}},
    {"Work carefully, step by step, and double-check the arithmetic.", "Arithmetic mistakes",
     "Some results are off: the model gets multiplications wrong.",
     {"arithmetic", "miscalculat", "double-check", "wrong result"}},
}};

// Which behaviours `instructions` switch on, as the task model reads them.
struct flags {
  std::array<bool, 4> on{};
  bool operator[](behaviour_id b) const { return on[b]; }
};

inline flags read_flags(std::string_view instructions) {
  auto s = lower(instructions);
  flags f;
  f.on[concise] = has(s, "only") && (has(s, "answer") || has(s, "result"));
  f.on[digits] = has(s, "digit") || has(s, "numeral");
  f.on[no_punctuation] = has(s, "punctuation");
  f.on[careful] = has(s, "step by step") || has(s, "carefully") || has(s, "double-check");
  return f;
}

}  // namespace optd::sim
