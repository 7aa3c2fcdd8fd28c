// llm-sim as a judge (tools/llm-sim/README.md, "The judge"): GEval's evaluation steps and
// verdicts, and the structured-output compliance verdict, by rules that read the answer's form —
// the same four behaviours the task model's instructions switch on — so that a prompt the
// optimizers improve also scores better with a judge.
#include <cmath>
#include <regex>

#include "sim_behaviours.hpp"
#include "sim_rules.hpp"

namespace optd::sim {
namespace {

std::string trim(std::string_view s) {
  auto b = s.find_first_not_of(" \t\r\n");
  if (b == std::string_view::npos) return {};
  return std::string(s.substr(b, s.find_last_not_of(" \t\r\n") - b + 1));
}

// The text between `open` and `close` (the last `close`), or nullopt.
std::optional<std::string> between(const std::string& text, std::string_view open, std::string_view close) {
  auto b = text.find(open);
  auto e = text.rfind(close);
  if (b == std::string::npos || e == std::string::npos || e < b + open.size()) return std::nullopt;
  return text.substr(b + open.size(), e - b - open.size());
}

bool all_digits(std::string_view s) {
  if (!s.empty() && s.front() == '-') s.remove_prefix(1);
  return !s.empty() && std::all_of(s.begin(), s.end(), [](unsigned char c) { return std::isdigit(c) != 0; });
}

bool has_number_words(const std::string& lowered) {
  static const std::regex words(
      R"(\b(zero|one|two|three|four|five|six|seven|eight|nine|ten|eleven|twelve|thirteen|fourteen|fifteen|)"
      R"(sixteen|seventeen|eighteen|nineteen|twenty|thirty|forty|fifty|sixty|seventy|eighty|ninety|hundred|thousand)\b)");
  return std::regex_search(lowered, words);
}

struct verdict {
  int score = 10;
  std::vector<std::string> findings;
};

// GEval's verdict on `answer`: 10, less 4 when it is wrapped in a sentence, 3 when its numbers are
// words, 1 for a trailing period; at most 1 when the criteria quote an expected answer
// (`answer is "X"`) that it does not give; 0 when it does not answer.
verdict judge_answer(const std::string& answer, const std::string& criteria) {
  verdict v;
  auto core = trim(answer);
  auto low = lower(core);
  if (core.empty() || has(low, "not sure")) return {0, {"The reply does not answer the question."}};
  if (auto at = low.find("the answer is"); at != std::string::npos) {
    v.score -= 4;
    v.findings.push_back("The answer is wrapped in a sentence instead of being the bare answer.");
    core = trim(core.substr(at + 13));
  }
  if (!core.empty() && core.back() == '.') {
    v.score -= 1;
    v.findings.push_back("The answer ends with a trailing period.");
    core.pop_back();
  }
  if (has_number_words(lower(core))) {
    v.score -= 3;
    v.findings.push_back("Numbers are written in words instead of digits.");
  }
  static const std::regex expected(R"re(answer is "([^"]*)")re", std::regex::icase);
  std::smatch m;
  if (std::regex_search(criteria, m, expected)) {
    auto want = trim(m[1].str());
    bool same = lower(core) == lower(want) || (all_digits(want) && lower(core) == number_to_words(std::stoll(want)));
    if (!same) {
      v.score = std::min(v.score, 1);
      v.findings.push_back("Wrong result: the expected answer is " + want + ".");
    }
  }
  if (v.findings.empty()) v.findings.push_back("The answer is correct and well formed.");
  return v;
}

std::string joined(const std::vector<std::string>& v) {
  std::string out;
  for (const auto& s : v) out += (out.empty() ? "" : " ") + s;
  return out;
}

// Does `value` have JSON Schema type `type`?
bool has_type(const nlohmann::json& value, const std::string& type) {
  if (type == "string") return value.is_string();
  if (type == "integer") return value.is_number_integer() || value.is_number_unsigned();
  if (type == "number") return value.is_number();
  if (type == "boolean") return value.is_boolean();
  if (type == "object") return value.is_object();
  if (type == "array") return value.is_array();
  if (type == "null") return value.is_null();
  return true;
}

// The first JSON object in `text`, parsed from its first '{' to the end or to the last '}'.
nlohmann::json first_object(const std::string& text) {
  auto b = text.find('{');
  auto e = text.rfind('}');
  if (b == std::string::npos || e == std::string::npos || e < b) return nullptr;
  return nlohmann::json::parse(text.substr(b, e - b + 1), nullptr, false);
}

}  // namespace

std::string evaluation_steps(const sim_request& request) {
  auto text = role_text(request, "user");
  std::string criteria;
  if (auto c = text.find("EVALUATION CRITERIA:"); c != std::string::npos) criteria = trim(text.substr(c + 20));
  return "1. Read the task and the criteria: " + (criteria.empty() ? std::string("none given") : criteria) +
         "\n2. Check that the reply is the bare answer, with numbers in digits and no trailing punctuation."
         "\n3. Check the result against the expected answer when the criteria give one."
         "\n4. Give 10 for a correct, well-formed answer and take points off for each problem.";
}

std::string geval_verdict(const sim_request& request) {
  auto user = role_text(request, "user");
  auto solution = between(user, "<solution>", "</solution>").value_or(user);
  for (auto at = solution.find("<\\/solution>"); at != std::string::npos; at = solution.find("<\\/solution>"))
    solution.replace(at, 12, "</solution>");
  auto v = judge_answer(solution, role_text(request, "system"));
  // Fixed key order: the number is the fourth token of the reply (see answer_logprobs).
  return R"({"score": )" + std::to_string(std::max(0, v.score)) + R"(, "reason": )" + nlohmann::json(joined(v.findings)).dump() + "}";
}

std::string compliance_verdict(const sim_request& request) {
  auto user = role_text(request, "user");
  auto out_at = user.rfind("OUTPUT:");
  auto structure = user.substr(0, out_at == std::string::npos ? user.size() : out_at);
  auto output = out_at == std::string::npos ? std::string() : trim(user.substr(out_at + 7));
  auto schema = first_object(structure);
  std::vector<std::string> reasons;
  auto document = nlohmann::json::parse(output, nullptr, false);
  if (document.is_discarded() || !document.is_object()) {
    reasons.push_back(document.is_discarded() ? "The output is not valid JSON: it has text around the object."
                                              : "The output is JSON but not an object.");
  } else if (schema.is_object()) {
    const auto required = schema.value("required", nlohmann::json::array());
    const auto properties = schema.value("properties", nlohmann::json::object());
    for (const auto& key : required)
      if (key.is_string() && !document.contains(key.get<std::string>()))
        reasons.push_back("Required field '" + key.get<std::string>() + "' is missing.");
    for (const auto& [key, spec] : properties.items())
      if (document.contains(key) && spec.is_object() && spec.contains("type") && spec["type"].is_string() &&
          !has_type(document[key], spec["type"].get<std::string>()))
        reasons.push_back("Field '" + key + "' is not of type " + spec["type"].get<std::string>() + ".");
  }
  nlohmann::json answer = {{"score", reasons.empty()}, {"reason", reasons.empty() ? nlohmann::json::array({"The output complies with the schema."}) : nlohmann::json(reasons)}};
  return answer.dump();
}

std::vector<sim_token> answer_logprobs(const sim_request& request, const std::string& text, int top) {
  std::vector<sim_token> tokens;
  auto plain = [&](std::string t) {
    sim_token tok{t, 0, {}};
    if (top > 0) tok.top.push_back({std::move(t), 0});
    tokens.push_back(std::move(tok));
  };
  static const std::regex verdict(R"re(^\{"score": (\d+)(, [\s\S]*)$)re");
  std::smatch m;
  if (classify(request) == ask::geval_verdict && std::regex_match(text, m, verdict)) {
    // {"  score  ":  ␣S  , rest: the number, fourth, is sure at 70 %, one off either side at 20 and 10 %.
    plain("{\"");
    plain("score");
    plain("\":");
    // A judge is sure of the extremes: 0 and 10 come alone.
    int s = std::stoi(m[1].str());
    bool sure = s == 0 || s == 10;
    sim_token number{" " + m[1].str(), sure ? 0.0 : std::log(0.7), {}};
    for (auto [value, p] : {std::pair{s, sure ? 1.0 : 0.7}, std::pair{s - 1, 0.2}, std::pair{s + 1, 0.1}})
      if (value >= 0 && value <= 10 && static_cast<int>(number.top.size()) < top && (!sure || value == s))
        number.top.push_back({" " + std::to_string(value), std::log(p)});
    tokens.push_back(std::move(number));
    plain(m[2].str());
    return tokens;
  }
  // Anything else: one token per word, each certain.
  for (std::size_t b = 0; b < text.size();) {
    auto e = text.find(' ', b + 1);
    if (e == std::string::npos) e = text.size();
    plain(text.substr(b, e - b));
    b = e;
  }
  return tokens;
}

}  // namespace optd::sim
