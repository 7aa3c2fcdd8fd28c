#include "sim_rules.hpp"

#include <algorithm>
#include <cctype>
#include <optional>
#include <random>
#include <regex>
#include <sstream>

namespace optd::sim {
namespace {

std::string lower(std::string_view s) {
  std::string out(s);
  std::transform(out.begin(), out.end(), out.begin(), [](unsigned char c) { return std::tolower(c); });
  return out;
}

bool has(const std::string& hay, std::string_view needle) { return hay.find(needle) != std::string::npos; }

// The four behaviours a prompt can switch on, and the sentence the reasoning model writes for each.
struct rule {
  const char* fix;
};
constexpr rule concise_rule{"Reply with only the final answer, nothing else."};
constexpr rule digits_rule{"Write every number with digits."};
constexpr rule punctuation_rule{"Use no punctuation at the end of the answer."};
constexpr rule careful_rule{"Work carefully, step by step, and double-check the arithmetic."};

struct flags {
  bool concise, digits, no_punctuation, careful;
};

flags read_flags(const std::string& instructions_lower) {
  const auto& s = instructions_lower;
  return {has(s, "only") && (has(s, "answer") || has(s, "result")), has(s, "digit") || has(s, "numeral"),
          has(s, "punctuation"), has(s, "step by step") || has(s, "carefully") || has(s, "double-check")};
}

std::string trim(std::string s) {
  auto b = s.find_first_not_of(" \t\n\r\"");
  auto e = s.find_last_not_of(" \t\n\r\"");
  return b == std::string::npos ? std::string() : s.substr(b, e - b + 1);
}

struct solved {
  std::string text;
  bool numeric = false;
  long long number = 0;
};

std::optional<solved> solve(std::string_view question, bool careful, std::uint64_t qhash) {
  std::string q(question);
  std::smatch m;
  static const std::regex arith(R"re((-?\d+)\s*([-+*x×])\s*(-?\d+))re");
  static const std::regex reverse(R"re(reverse(?: the word)?:?\s*"?([A-Za-z]+)"?)re", std::regex::icase);
  static const std::regex sort(R"re(sort[^:]*:\s*([-\d,\s]+))re", std::regex::icase);
  static const std::regex letters(R"re(how many letters (?:are )?in (?:the word )?"?([A-Za-z]+)"?)re", std::regex::icase);
  static const std::regex upper(R"re(uppercase:?\s*(.+))re", std::regex::icase);
  if (std::regex_search(q, m, reverse)) {
    std::string w = m[1];
    std::reverse(w.begin(), w.end());
    return solved{w};
  }
  if (std::regex_search(q, m, letters)) {
    auto n = static_cast<long long>(m[1].length());
    return solved{std::to_string(n), true, n};
  }
  if (std::regex_search(q, m, sort)) {
    std::vector<long long> v;
    std::stringstream ss(m[1].str());
    std::string tok;
    while (std::getline(ss, tok, ','))
      if (auto t = trim(tok); !t.empty()) v.push_back(std::stoll(t));
    std::sort(v.begin(), v.end());
    std::string out;
    for (auto x : v) out += (out.empty() ? "" : ", ") + std::to_string(x);
    return solved{out};
  }
  if (std::regex_search(q, m, upper)) {
    std::string w = trim(m[1]);
    std::transform(w.begin(), w.end(), w.begin(), [](unsigned char c) { return std::toupper(c); });
    return solved{w};
  }
  if (std::regex_search(q, m, arith)) {
    long long a = std::stoll(m[1]), b = std::stoll(m[3]);
    std::string op = m[2];
    long long r = op == "+" ? a + b : op == "-" ? a - b : a * b;
    bool multiply = op != "+" && op != "-";
    if (multiply && std::llabs(a) >= 10 && std::llabs(b) >= 10 && !careful && (qhash & 1) == 1) r += 10;
    return solved{std::to_string(r), true, r};
  }
  return std::nullopt;
}

}  // namespace

std::uint64_t fnv1a(std::string_view s, std::uint64_t h) {
  for (unsigned char c : s) h = (h ^ c) * 1099511628211ull;
  return h;
}

std::int64_t count_tokens(std::string_view text) {
  return std::max<std::int64_t>(1, static_cast<std::int64_t>((text.size() + 3) / 4));
}

std::string number_to_words(long long n) {
  static const char* ones[] = {"zero", "one", "two", "three", "four", "five", "six", "seven", "eight", "nine", "ten",
                               "eleven", "twelve", "thirteen", "fourteen", "fifteen", "sixteen", "seventeen",
                               "eighteen", "nineteen"};
  static const char* tens[] = {"", "", "twenty", "thirty", "forty", "fifty", "sixty", "seventy", "eighty", "ninety"};
  if (n < 0) return "minus " + number_to_words(-n);
  if (n < 20) return ones[n];
  if (n < 100) return std::string(tens[n / 10]) + (n % 10 ? "-" + std::string(ones[n % 10]) : "");
  if (n < 1000) return std::string(ones[n / 100]) + " hundred" + (n % 100 ? " " + number_to_words(n % 100) : "");
  if (n < 1'000'000)
    return number_to_words(n / 1000) + " thousand" + (n % 1000 ? " " + number_to_words(n % 1000) : "");
  return std::to_string(n);
}

std::string answer_task(std::string_view instructions, std::string_view question, double temperature,
                        std::uint64_t seed) {
  auto f = read_flags(lower(instructions));
  auto qhash = fnv1a(question, seed);
  // Temperature makes the model ignore its instructions now and then, deterministically per seed.
  if (temperature > 0) {
    std::mt19937_64 rng(qhash ^ fnv1a(instructions));
    if (std::uniform_real_distribution<double>(0, 1)(rng) < std::min(0.5, temperature * 0.1)) f = {};
  }
  auto s = solve(question, f.careful, fnv1a(question));
  if (!s) return "I'm not sure how to answer that.";
  std::string ans = s->numeric && !f.digits ? number_to_words(s->number) : s->text;
  if (!f.concise) return "Sure! The answer is " + ans + ".";
  return f.no_punctuation ? ans : ans + ".";
}

bool is_reasoning_request(const std::vector<sim_message>& messages) {
  return std::any_of(messages.begin(), messages.end(), [](const sim_message& m) {
    return m.role == "system" && has(lower(m.content), "prompt engineer");
  });
}

namespace {

struct example {
  std::string expected;
  std::string output;
};

std::string expected_of(const nlohmann::json& data) {
  for (const char* k : {"answer", "expected_output", "expected", "reference"})
    if (data.contains(k)) return data[k].is_string() ? data[k].get<std::string>() : data[k].dump();
  return {};
}

std::vector<example> read_examples(const std::string& text) {
  std::vector<example> out;
  std::stringstream ss(text);
  std::string line;
  nlohmann::json data;
  while (std::getline(ss, line)) {
    if (line.rfind("input: ", 0) == 0) data = nlohmann::json::parse(line.substr(7), nullptr, false);
    else if (line.rfind("output: ", 0) == 0 && data.is_object()) out.push_back({expected_of(data), line.substr(8)});
  }
  return out;
}

bool all_digits(std::string_view s) {
  if (!s.empty() && s.front() == '-') s.remove_prefix(1);
  return !s.empty() && std::all_of(s.begin(), s.end(), [](unsigned char c) { return std::isdigit(c); });
}

// Which fixes the failing examples reveal, in a stable order.
std::vector<const rule*> diagnose(const std::vector<example>& examples, const flags& have) {
  bool verbose = false, period = false, words = false, arithmetic = false;
  for (const auto& e : examples) {
    if (e.output == e.expected || e.expected.empty()) continue;
    auto out = lower(e.output);
    if (has(out, "the answer is")) {
      verbose = true;
      out = out.substr(out.find("the answer is") + 14);
    }
    if (!out.empty() && out.back() == '.' && (e.expected.empty() || e.expected.back() != '.')) {
      period = true;
      out.pop_back();
    }
    if (all_digits(e.expected) && !all_digits(out) && std::any_of(out.begin(), out.end(), [](unsigned char c) { return std::isalpha(c) != 0; })) words = true;
    if (all_digits(e.expected) && all_digits(out) && out != e.expected) arithmetic = true;
  }
  std::vector<const rule*> fixes;
  if (verbose && !have.concise) fixes.push_back(&concise_rule);
  if (words && !have.digits) fixes.push_back(&digits_rule);
  if (period && !have.no_punctuation) fixes.push_back(&punctuation_rule);
  if (arithmetic && !have.careful) fixes.push_back(&careful_rule);
  return fixes;
}

constexpr const char* generic_phrases[] = {"Be accurate and helpful.", "Stay polite and clear.",
                                           "Answer the user's question.", "Keep a friendly tone."};

}  // namespace

std::string respond(const std::vector<sim_message>& messages, double temperature, const sim_options& options) {
  std::string instructions, question;
  for (const auto& m : messages) {
    if (m.role == "system") instructions += m.content + "\n";
    if (m.role == "user") question = m.content;
  }
  if (!is_reasoning_request(messages)) return answer_task(instructions, question, temperature, options.seed);

  // Reasoning: the user message carries the current prompt as JSON and the scored examples.
  auto start = question.find('[');
  auto end = question.find("\n\n", start == std::string::npos ? 0 : start);
  auto current = start == std::string::npos ? nlohmann::json() :
                 nlohmann::json::parse(question.substr(start, end == std::string::npos ? std::string::npos : end - start),
                                       nullptr, false);
  if (!current.is_array()) current = nlohmann::json::array({{{"role", "system"}, {"content", "You are a helpful assistant."}}});
  std::string system_text;
  for (const auto& m : current)
    if (m.value("role", "") == "system") system_text = m.value("content", "");
  int wanted = 3;
  std::smatch match;
  static const std::regex count(R"re(exactly (\d+))re");
  if (std::regex_search(question, match, count)) wanted = std::clamp(std::stoi(match[1]), 1, 10);

  auto fixes = diagnose(read_examples(question), read_flags(lower(system_text)));
  std::mt19937_64 rng(fnv1a(question, options.seed));
  std::uniform_real_distribution<double> u(0, 1);
  auto prompts = nlohmann::json::array();
  for (int i = 0; i < wanted; ++i) {
    std::string addition;
    if (fixes.empty()) {
      addition = generic_phrases[rng() % std::size(generic_phrases)];
    } else {
      // Each rewrite takes a random subset of the fixes, and never none.
      std::size_t first = static_cast<std::size_t>(rng() % fixes.size());
      for (std::size_t k = 0; k < fixes.size(); ++k)
        if (k == first || u(rng) < 0.5) addition += std::string(addition.empty() ? "" : " ") + fixes[k]->fix;
    }
    auto messages_out = nlohmann::json::array();
    bool has_system = false;
    bool drop = u(rng) < options.drop_variable_rate;
    for (auto m : current) {
      if (m.value("role", "") == "system" && !has_system) {
        m["content"] = m.value("content", "") + " " + addition;
        has_system = true;
      } else if (drop && m.value("role", "") == "user") {
        m["content"] = "Answer the question.";
      }
      messages_out.push_back(m);
    }
    if (!has_system)  // an explicit json: a braced list would insert two arrays, not one message
      messages_out.insert(messages_out.begin(), nlohmann::json{{"role", "system"}, {"content", addition}});
    prompts.push_back({{"messages", messages_out}});
  }
  return nlohmann::json{{"prompts", prompts}}.dump();
}

}  // namespace optd::sim
