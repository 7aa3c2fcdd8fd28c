// llm-sim's task model: answers by the rules of README.md, from the instructions' keywords.
#include "sim_rules.hpp"

#include <optional>
#include <random>
#include <regex>
#include <sstream>

#include "sim_behaviours.hpp"

namespace optd::sim {
namespace {

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
  auto f = read_flags(instructions);
  auto qhash = fnv1a(question, seed);
  // Temperature makes the model ignore its instructions now and then, deterministically per seed.
  if (temperature > 0) {
    std::mt19937_64 rng(qhash ^ fnv1a(instructions));
    if (std::uniform_real_distribution<double>(0, 1)(rng) < std::min(0.5, temperature * 0.1)) f = {};
  }
  auto s = solve(question, f[careful], fnv1a(question));
  if (!s) return "I'm not sure how to answer that.";
  std::string ans = s->numeric && !f[digits] ? number_to_words(s->number) : s->text;
  // Asked for JSON, it gives {"answer": …} where it would give the answer.
  if (has(lower(instructions), "json")) ans = nlohmann::json{{"answer", ans}}.dump();
  if (!f[concise]) return "Sure! The answer is " + ans + ".";
  return f[no_punctuation] ? ans : ans + ".";
}

std::string respond(const sim_request& request, const sim_options& options) {
  auto kind = classify(request);
  if (kind != ask::task) return answer_reasoning(kind, request, options);
  std::string instructions, question;
  for (const auto& m : request.messages) {
    if (m.role == "system") instructions += m.content + "\n";
    if (m.role == "user") question = m.content;
  }
  return answer_task(instructions, question, request.temperature, options.seed);
}

std::string respond(const std::vector<sim_message>& messages, double temperature, const sim_options& options) {
  return respond(sim_request{messages, temperature, nullptr}, options);
}

}  // namespace optd::sim


