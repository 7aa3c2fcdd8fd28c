// llm-sim's reasoning model: one rule per kind of optimizer request (tools/llm-sim/README.md).
// Each reads what the request shows (a prompt as a JSON list of messages, examples with the
// model's output and the expected answer, metric reasons, failure modes in prose) and answers
// with the fixes that content reveals, so that a better-informed optimizer finds more.
#include <cstdlib>
#include <optional>
#include <random>
#include <regex>
#include <set>
#include <sstream>

#include "sim_behaviours.hpp"
#include "sim_rules.hpp"

namespace optd::sim {
namespace {

constexpr std::string_view generic_phrases[] = {"Be accurate and helpful.", "Stay polite and clear.",
                                                "Answer the user's question.", "Keep a friendly tone."};

std::string trim(std::string_view s) {
  auto b = s.find_first_not_of(" \t\r\n\"");
  if (b == std::string_view::npos) return {};
  return std::string(s.substr(b, s.find_last_not_of(" \t\r\n\"") - b + 1));
}

// The first JSON array in `text` at or after `from`, found by matching brackets outside strings;
// with the position just past it.
std::optional<std::pair<nlohmann::json, std::size_t>> json_array(const std::string& text, std::size_t from = 0) {
  for (auto open = text.find('[', from); open != std::string::npos; open = text.find('[', open + 1)) {
    int depth = 0;
    bool in_string = false, escaped = false;
    for (std::size_t i = open; i < text.size(); ++i) {
      char c = text[i];
      if (in_string) {
        if (escaped) escaped = false;
        else if (c == '\\') escaped = true;
        else if (c == '"') in_string = false;
        continue;
      }
      if (c == '"') in_string = true;
      else if (c == '[') ++depth;
      else if (c == ']' && --depth == 0) {
        auto j = nlohmann::json::parse(text.substr(open, i + 1 - open), nullptr, false);
        if (j.is_array()) return std::make_pair(std::move(j), i + 1);
        break;
      }
    }
  }
  return std::nullopt;
}

std::string system_of(const nlohmann::json& prompt) {
  for (const auto& m : prompt)
    if (m.is_object() && m.value("role", "") == "system") return m.value("content", "");
  return {};
}

struct example {
  std::string expected;
  std::string output;
};

std::string expected_of(const nlohmann::json& data) {
  for (const char* k : {"answer", "expected_output", "expected", "reference"})
    if (data.contains(k)) return data[k].is_string() ? data[k].get<std::string>() : data[k].dump();
  return {};
}

// Every output with its expected answer that the text shows, in the forms optd's optimizers
// write them: "input: {json}" then "output: …" lines (meta_prompt); "## Generated Outputs" then
// "## Feedback … Expected answer: …" (GEPA); "Output: …" then "Expected: …" (HRPO, analyze_outputs).
std::vector<example> read_examples(const std::string& text) {
  std::vector<example> out;
  std::stringstream ss(text);
  std::string line;
  nlohmann::json data;
  std::optional<std::string> output;
  bool in_outputs = false;
  std::string generated;
  while (std::getline(ss, line)) {
    auto t = trim(line);
    if (line.rfind("input: ", 0) == 0) {
      data = nlohmann::json::parse(line.substr(7), nullptr, false);
    } else if (line.rfind("output: ", 0) == 0 && data.is_object()) {
      out.push_back({expected_of(data), line.substr(8)});
    } else if (t == "## Generated Outputs") {
      in_outputs = true;
      generated.clear();
    } else if (in_outputs && t.rfind("## ", 0) == 0) {
      in_outputs = false;
      output = trim(generated);
    } else if (in_outputs) {
      generated += (generated.empty() ? "" : "\n") + line;
    } else if (auto at = line.find("Expected answer: "); at != std::string::npos && output) {
      out.push_back({trim(line.substr(at + 17)), *output});
      output.reset();
    } else if (t.rfind("Output: ", 0) == 0) {
      output = t.substr(8);
    } else if (t.rfind("Expected: ", 0) == 0 && output) {
      out.push_back({trim(t.substr(10)), *output});
      output.reset();
    }
  }
  return out;
}

bool all_digits(std::string_view s) {
  if (!s.empty() && s.front() == '-') s.remove_prefix(1);
  return !s.empty() && std::all_of(s.begin(), s.end(), [](unsigned char c) { return std::isdigit(c); });
}

// The behaviours the failing examples show to be missing, in a stable order.
std::vector<behaviour_id> diagnose(const std::vector<example>& examples, const flags& have) {
  std::array<bool, 4> seen{};
  for (const auto& e : examples) {
    if (e.output == e.expected || e.expected.empty()) continue;
    auto out = lower(e.output);
    if (auto at = out.find("the answer is"); at != std::string::npos) {
      seen[concise] = true;
      out = trim(out.substr(at + 13));
    }
    if (!out.empty() && out.back() == '.' && e.expected.back() != '.') {
      seen[no_punctuation] = true;
      out.pop_back();
    }
    if (all_digits(e.expected) && !all_digits(out) &&
        std::any_of(out.begin(), out.end(), [](unsigned char c) { return std::isalpha(c) != 0; }))
      seen[digits] = true;
    if (all_digits(e.expected) && all_digits(out) && out != e.expected) seen[careful] = true;
  }
  std::vector<behaviour_id> out;
  for (auto b : {concise, digits, no_punctuation, careful})
    if (seen[b] && !have[b]) out.push_back(b);
  return out;
}

// The behaviours a failure described in prose names (by their signs), missing from `have`.
std::vector<behaviour_id> named_in(const std::string& prose, const flags& have) {
  auto text = lower(prose);
  std::vector<behaviour_id> out;
  for (auto b : {concise, digits, no_punctuation, careful})
    if (!have[b] && std::any_of(behaviours[b].signs.begin(), behaviours[b].signs.end(),
                                [&](std::string_view s) { return has(text, s); }))
      out.push_back(b);
  return out;
}

std::string fix_text(const std::vector<behaviour_id>& fixes) {
  std::string out;
  for (auto b : fixes) out += (out.empty() ? "" : " ") + std::string(behaviours[b].fix);
  return out;
}

// A random non-empty subset of `fixes` (a real model does not always fix everything it sees),
// or a phrase that changes nothing when there is no fix to make.
std::string some_fixes(const std::vector<behaviour_id>& fixes, std::mt19937_64& rng) {
  if (fixes.empty()) return std::string(generic_phrases[rng() % std::size(generic_phrases)]);
  std::uniform_real_distribution<double> u(0, 1);
  std::vector<behaviour_id> chosen;
  auto first = static_cast<std::size_t>(rng() % fixes.size());
  for (std::size_t k = 0; k < fixes.size(); ++k)
    if (k == first || u(rng) < 0.5) chosen.push_back(fixes[k]);
  return fix_text(chosen);
}

std::string without_variables(std::string text) {
  static const std::regex var(R"(\{\{[^{}]*\}\})");
  return std::regex_replace(text, var, "the input");
}

// `prompt` with `addition` after its system message (one made when it has none); with `drop`, its
// user messages lose their {{variables}}, as real models sometimes do.
nlohmann::json amend(nlohmann::json prompt, const std::string& addition, bool drop) {
  if (!prompt.is_array()) prompt = nlohmann::json::array();
  bool has_system = false;
  for (auto& m : prompt) {
    if (!m.is_object()) continue;
    if (m.value("role", "") == "system" && !has_system) {
      m["content"] = m.value("content", "") + " " + addition;
      has_system = true;
    } else if (drop && m.value("role", "") == "user") {
      m["content"] = "Answer the question.";
    }
  }
  if (!has_system)  // an explicit json: a braced list would insert two arrays, not one message
    prompt.insert(prompt.begin(), nlohmann::json{{"role", "system"}, {"content", addition}});
  return prompt;
}

int wanted_count(const std::string& text) {
  static const std::regex count(R"re(exactly (\d+))re");
  std::smatch m;
  return std::regex_search(text, m, count) ? std::clamp(std::stoi(m[1]), 1, 10) : 3;
}

// Now and then a reply comes in a fence or with prose around it, as real models' replies do.
std::string noisy(const std::string& reply, std::mt19937_64& rng, double rate) {
  std::uniform_real_distribution<double> u(0, 1);
  if (u(rng) >= rate) return reply;
  return u(rng) < 0.5 ? "```json\n" + reply + "\n```" : "Here is what I came up with.\n\n" + reply + "\n\nI hope this helps!";
}

struct reply_context {
  const sim_request& request;
  const sim_options& options;
  std::string text;  // the user messages
  std::mt19937_64 rng;
  bool drop() {
    std::uniform_real_distribution<double> u(0, 1);
    return u(rng) < options.drop_variable_rate;
  }
  std::string json(const nlohmann::json& j) { return noisy(j.dump(), rng, options.format_noise_rate); }
};

// meta_prompt: exactly N rewrites of the current prompt, each with some of the fixes its
// examples reveal.
std::string rewrites(reply_context& c) {
  auto current = json_array(c.text);
  auto prompt = current ? current->first
                        : nlohmann::json::array({{{"role", "system"}, {"content", "You are a helpful assistant."}}});
  auto fixes = diagnose(read_examples(c.text), read_flags(system_of(prompt)));
  auto prompts = nlohmann::json::array();
  for (int i = 0, n = wanted_count(c.text); i < n; ++i) {
    auto addition = some_fixes(fixes, c.rng);
    prompts.push_back({{"messages", amend(prompt, addition, c.drop())}});
  }
  return c.json({{"prompts", prompts}});
}

// GEPA's reflection: the fenced current instruction, with some of the fixes its examples reveal.
std::string instruction(reply_context& c) {
  auto open = c.text.find("```");
  auto body = c.text.find('\n', open);
  auto close = c.text.find("```", body == std::string::npos ? open + 3 : body);
  std::string current = body == std::string::npos || close == std::string::npos ? "" : trim(c.text.substr(body + 1, close - body - 1));
  auto fixes = diagnose(read_examples(c.text), read_flags(current));
  auto next = trim(current + " " + some_fixes(fixes, c.rng));
  if (c.drop()) next = without_variables(next);
  std::uniform_real_distribution<double> u(0, 1);
  bool noise = u(c.rng) < c.options.format_noise_rate;
  return noise ? "```text\n" + next + "\n```\nThis keeps the task and fixes what the examples show."
               : "Here is the improved instruction:\n\n```\n" + next + "\n```";
}

nlohmann::json mode(behaviour_id b) {
  return {{"name", behaviours[b].name},
          {"description", behaviours[b].description},
          {"root_cause", "Nothing in the prompt asks for it."}};
}

nlohmann::json generic_mode(std::size_t failing, std::size_t total, const std::string& reason) {
  return {{"name", "Answers differ from the references"},
          {"description", std::to_string(failing) + " of " + std::to_string(total) + " cases score below 1" +
                              (reason.empty() ? "" : " (for example: " + reason + ")")},
          {"root_cause", "The prompt does not say what form the answer must take."}};
}

// An HRPO batch analysis: failure modes from the outputs and expected answers shown, else one
// that says only that answers differ (scores and reasons tell no more).
std::string failure_modes(reply_context& c) {
  // A metric's line, "  equals: 0.000" (HRPO writes scores with three decimals); not the case's
  // Input, Output or Expected, whatever they hold.
  static const std::regex score_line(R"(^\s+([\w.-]+): ([0-9]+\.[0-9]{3})(?: \(FAILED\))?$)");
  std::size_t total = 0, failing = 0;
  std::string first_reason;
  std::stringstream ss(c.text);
  std::string line;
  bool case_fails = false;
  auto close_case = [&] { failing += case_fails; };
  while (std::getline(ss, line)) {
    std::smatch m;
    if (line.rfind("Test Case #", 0) == 0) {
      if (total++) close_case();
      case_fails = false;
    } else if (std::regex_search(line, m, score_line) && m[1] != "Output" && m[1] != "Expected" &&
               std::strtod(m[2].str().c_str(), nullptr) < 1.0) {
      case_fails = true;
    } else if (auto at = line.find("Reason: "); at != std::string::npos && case_fails && first_reason.empty()) {
      first_reason = trim(line.substr(at + 8));
    }
  }
  if (total) close_case();
  auto modes = nlohmann::json::array();
  for (auto b : diagnose(read_examples(c.text), {})) modes.push_back(mode(b));
  if (modes.empty() && failing > 0) modes.push_back(generic_mode(failing, total, first_reason));
  return c.json({{"failure_modes", modes}});
}

// The HRPO synthesis: each behaviour the batches' modes name, once; the generic mode when that is
// all they say.
std::string unified_modes(reply_context& c) {
  auto modes = nlohmann::json::array();
  for (auto b : named_in(c.text, {})) modes.push_back(mode(b));
  if (modes.empty() && has(c.text, "differ from the references")) modes.push_back(generic_mode(0, 0, ""));
  int batches = 0;
  for (auto at = c.text.find("Batch "); at != std::string::npos; at = c.text.find("Batch ", at + 1)) ++batches;
  std::string notes;
  for (const auto& m : modes) notes += "- Address: " + m["name"].get<std::string>() + "\n";
  return c.json({{"total_test_cases", 0}, {"num_batches", batches}, {"unified_failure_modes", modes}, {"synthesis_notes", notes}});
}

// An HRPO rewrite: the prompt shown, with the fix of the failure mode described beside it.
std::string improved_prompt(reply_context& c) {
  auto current = json_array(c.text);
  auto prompt = current ? current->first : nlohmann::json::array();
  auto prose = current ? c.text.substr(0, c.text.find('[')) + c.text.substr(current->second) : c.text;
  auto fixes = named_in(prose, read_flags(system_of(prompt)));
  auto addition = fixes.empty() ? std::string(generic_phrases[c.rng() % std::size(generic_phrases)]) : fix_text(fixes);
  return c.json({{"reasoning", fixes.empty() ? "The failure is not specific; the prompt is made clearer."
                                             : "The prompt never asks for this; an instruction is added."},
                 {"messages", amend(prompt, addition, c.drop())}});
}

// Instructions a model without examples might add to a prompt: the four fixes among phrases that
// change nothing. Evolutionary populations and mutations draw from it.
std::string any_phrase(std::mt19937_64& rng) {
  auto n = behaviours.size() + std::size(generic_phrases);
  auto k = static_cast<std::size_t>(rng() % n);
  return std::string(k < behaviours.size() ? behaviours[k].fix : generic_phrases[k - behaviours.size()]);
}

std::string population(reply_context& c) {
  auto current = json_array(c.text);
  auto prompt = current ? current->first : nlohmann::json::array();
  auto prompts = nlohmann::json::array();
  for (int i = 0, n = wanted_count(c.text); i < n; ++i) {
    auto addition = any_phrase(c.rng);
    if (c.rng() % 2) addition += " " + any_phrase(c.rng);
    prompts.push_back({{"prompt", amend(prompt, addition, c.drop())}});
  }
  return c.json({{"prompts", prompts}});
}

std::vector<std::string> sentences_of(const std::string& text) {
  std::vector<std::string> out;
  std::stringstream ss(text);
  std::string s;
  while (std::getline(ss, s, '.'))
    if (auto t = trim(s); !t.empty()) out.push_back(t + ".");
  return out;
}

// Two children, each with every sentence of both parents' system messages, in the two orders.
std::string crossover(reply_context& c) {
  auto first = json_array(c.text);
  auto second = first ? json_array(c.text, first->second) : std::nullopt;
  if (!first || !second) return c.json({{"child_1", nlohmann::json::array()}, {"child_2", nlohmann::json::array()}});
  auto combine = [](const nlohmann::json& a, const nlohmann::json& b) {
    auto kept = sentences_of(system_of(a));
    for (auto& s : sentences_of(system_of(b)))
      if (std::find(kept.begin(), kept.end(), s) == kept.end()) kept.push_back(s);
    std::string text;
    for (const auto& s : kept) text += (text.empty() ? "" : " ") + s;
    auto out = a;
    for (auto& m : out)
      if (m.value("role", "") == "system") m["content"] = text;
    return out;
  };
  return c.json({{"child_1", combine(first->first, second->first)}, {"child_2", combine(second->first, first->first)}});
}

std::string mutated_prompt(reply_context& c) {
  auto current = json_array(c.text);
  return c.json({{"messages", amend(current ? current->first : nlohmann::json::array(), any_phrase(c.rng), c.drop())}});
}

// A synonym for the quoted word, from a small table that avoids every behaviour's keywords; the
// word itself otherwise.
std::string word(reply_context& c) {
  static const std::pair<std::string_view, std::string_view> synonyms[] = {
      {"helpful", "useful"}, {"polite", "courteous"}, {"friendly", "warm"}, {"accurate", "precise"},
      {"clear", "plain"},    {"tone", "manner"},      {"assistant", "helper"}};
  auto open = c.text.find('"'), close = open == std::string::npos ? open : c.text.find('"', open + 1);
  auto w = close == std::string::npos ? std::string() : c.text.substr(open + 1, close - open - 1);
  for (auto [from, to] : synonyms)
    if (lower(w) == from) w = to;
  return c.json({{"word", w}});
}

}  // namespace

ask classify(const sim_request& request) {
  const auto& f = request.response_format;
  if (f.is_object() && f.contains("json_schema") && f["json_schema"].is_object()) {
    const auto& schema = f["json_schema"].value("schema", nlohmann::json::object());
    auto props = schema.is_object() ? schema.value("properties", nlohmann::json::object()) : nlohmann::json::object();
    auto wants = [&](const char* k) { return props.is_object() && props.contains(k); };
    if (wants("failure_modes")) return ask::failure_modes;
    if (wants("unified_failure_modes")) return ask::unified_modes;
    if (wants("child_1")) return ask::crossover;
    if (wants("prompts")) return ask::prompts;
    if (wants("reasoning") && wants("messages")) return ask::improved_prompt;
    if (wants("messages")) return ask::mutated_prompt;
    if (wants("word")) return ask::word;
    if (wants("style")) return ask::style;
    if (wants("score") && props["score"].is_object()) {
      auto type = props["score"].value("type", "");
      if (type == "integer" || type == "number") return ask::geval_verdict;
      if (type == "boolean") return ask::compliance;
    }
  }
  for (const auto& m : request.messages)
    if (m.role == "user" && has(m.content, "TASK INTRODUCTION:") && has(m.content, "EVALUATION CRITERIA:"))
      return ask::evaluation_steps;
  for (const auto& m : request.messages)
    if (m.role == "system" && has(lower(m.content), "prompt engineer")) return ask::rewrites;
  for (const auto& m : request.messages)
    if (m.role == "user" && has(m.content, "```")) return ask::instruction;
  return ask::task;
}

std::string answer_reasoning(ask kind, const sim_request& request, const sim_options& options) {
  auto text = role_text(request, "user");
  // Seeded by the last user message: the same request, the same answer.
  std::string last;
  for (const auto& m : request.messages)
    if (m.role == "user") last = m.content;
  reply_context c{request, options, text, std::mt19937_64(fnv1a(last, options.seed))};
  switch (kind) {
    case ask::rewrites: return rewrites(c);
    case ask::instruction: return instruction(c);
    case ask::failure_modes: return failure_modes(c);
    case ask::unified_modes: return unified_modes(c);
    case ask::improved_prompt: return improved_prompt(c);
    case ask::prompts: return population(c);
    case ask::crossover: return crossover(c);
    case ask::mutated_prompt: return mutated_prompt(c);
    case ask::word: return word(c);
    case ask::style: return c.json({{"style", "Short answers: the final result alone, as in the examples."}});
    case ask::evaluation_steps: return evaluation_steps(request);
    case ask::geval_verdict: return geval_verdict(request);
    case ask::compliance: return compliance_verdict(request);
    case ask::task: break;
  }
  return {};
}

}  // namespace optd::sim
