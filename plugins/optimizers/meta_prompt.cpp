#include "plugins/optimizers/meta_prompt.hpp"

#include <algorithm>
#include <sstream>

#include "core/prompt_template.hpp"
#include "plugins/optimizers/draws.hpp"
#include "plugins/optimizers/prompt_edits.hpp"

namespace optd::plugins {

namespace asio = boost::asio;

namespace {

constexpr std::string_view system_instructions =
    "You are an expert prompt engineer. You improve the prompt of a language model so that its answers score "
    "higher on the examples you are shown. Read the failing examples, work out what the model did wrong, and "
    "write instructions that fix it. Keep every {{variable}} exactly as written: it is filled in from the "
    "dataset. Reply with JSON only, in the form {\"prompts\": [{\"messages\": [{\"role\": \"system\", "
    "\"content\": \"...\"}, {\"role\": \"user\", \"content\": \"...\"}]}]}.";

std::string one_line(std::string s) {
  std::replace(s.begin(), s.end(), '\n', ' ');
  std::replace(s.begin(), s.end(), '\r', ' ');
  if (s.size() > 500) s = s.substr(0, 500) + "…";
  return s;
}

}  // namespace

meta_prompt_settings meta_prompt_settings::from(const core::optimizer_spec& spec, const std::string& default_model) {
  meta_prompt_settings s;
  static const nlohmann::json none = nlohmann::json::object();
  const auto& p = spec.parameters.is_object() ? spec.parameters : none;
  s.prompts_per_round = p.value("prompts_per_round", s.prompts_per_round);
  s.examples_per_round = p.value("examples_per_round", s.examples_per_round);
  s.no_improvement_rounds = p.value("no_improvement_rounds", s.no_improvement_rounds);
  s.perfect_score = p.value("perfect_score", s.perfect_score);
  s.model = spec.model.empty() ? default_model : spec.model;
  s.model_parameters = spec.model_parameters.is_object() ? spec.model_parameters : none;
  return s;
}

core::chat_request meta_prompt::reasoning_request(const core::prompt_messages& best, double best_score,
                                                  std::vector<const core::item_result*> examples, int wanted,
                                                  const std::vector<std::string>& variables) const {
  std::ostringstream user;
  user << "Current prompt (JSON messages):\n" << core::to_json(best).dump() << "\n\n";
  user << "It scores " << best_score << " on average (1 is perfect).\n";
  user << "Propose exactly " << wanted << " improved prompts.";
  if (!variables.empty()) {
    user << " Each must keep these variables:";
    for (const auto& v : variables) user << " {{" << v << "}}";
    user << ".";
  }
  user << "\n\nScored examples, worst first:\n";
  std::stable_sort(examples.begin(), examples.end(), [](const auto* a, const auto* b) { return a->objective < b->objective; });
  if (examples.size() > static_cast<std::size_t>(settings_.examples_per_round))
    examples.resize(static_cast<std::size_t>(settings_.examples_per_round));
  for (const auto* e : examples) {
    user << "\ninput: " << e->item->data.dump() << "\n";
    user << "output: " << one_line(e->output) << "\n";
    user << "score: " << e->objective << " (" << one_line(e->reason()) << ")\n";
  }
  core::chat_request req;
  req.model = settings_.model;
  req.parameters = settings_.model_parameters;
  req.messages = {{core::role::system, std::string(system_instructions)}, {core::role::user, user.str()}};
  return req;
}

std::vector<core::prompt_messages> meta_prompt::parse_rewrites(const std::string& reply,
                                                               const std::vector<std::string>& variables,
                                                               std::vector<std::string>& rejected) {
  std::vector<core::prompt_messages> out;
  auto j = extract_json(reply);
  if (!j.is_object() || !j.contains("prompts") || !j["prompts"].is_array()) {
    rejected.push_back("reply is not {\"prompts\": [...]}");
    return out;
  }
  for (const auto& p : j["prompts"]) {
    const auto& messages = p.is_object() && p.contains("messages") ? p["messages"] : p;
    core::prompt_messages candidate;
    bool ok = messages.is_array() && !messages.empty();
    for (const auto& m : ok ? messages : nlohmann::json::array()) {
      auto role = m.is_object() && m.contains("role") && m["role"].is_string()
                      ? core::role_from_string(m["role"].get<std::string>())
                      : std::nullopt;
      if (!role || !m.contains("content") || !m["content"].is_string()) {
        ok = false;
        break;
      }
      candidate.push_back({*role, m["content"].get<std::string>()});
    }
    if (!ok) {
      rejected.push_back("a rewrite is not a list of {role, content} messages");
      continue;
    }
    auto have = core::template_variables(candidate);
    std::string lost;
    for (const auto& v : variables)
      if (std::find(have.begin(), have.end(), v) == have.end()) lost += " {{" + v + "}}";
    if (!lost.empty()) {
      rejected.push_back("a rewrite dropped" + lost);
      continue;
    }
    out.push_back(std::move(candidate));
  }
  return out;
}

asio::awaitable<core::optimizer_outcome> meta_prompt::run(core::optimizer_context& ctx, core::candidate baseline) {
  const auto variables = core::template_variables(baseline.messages);
  std::vector<core::prompt_messages> tried{baseline.messages};
  core::prompt_messages best_prompt = baseline.messages;
  auto best_candidate_id = baseline.id();
  // Every trial of meta_prompt is on the whole sample: one whose every call failed means the
  // provider does not answer, and going on would only spend money.
  auto best = co_await core::evaluate_or_fail(ctx, std::move(baseline));
  if (best.cancelled) co_return core::stopped();
  int stale_rounds = 0;

  for (int round = 1;; ++round) {
    double best_score = best.score.value_or(0.0);
    if (best_score >= settings_.perfect_score)
      co_return core::optimizer_outcome{core::finish_reason::perfect_score, "score " + std::to_string(best_score)};
    if (ctx.trials_left() <= 0) co_return core::optimizer_outcome{core::finish_reason::max_trials, {}};
    if (ctx.should_stop()) co_return core::stopped();
    if (stale_rounds >= settings_.no_improvement_rounds)
      co_return core::optimizer_outcome{core::finish_reason::no_improvement,
                                        std::to_string(stale_rounds) + " rounds without a better prompt"};

    // Shuffle first so that equally scored examples vary from round to round (seeded).
    std::vector<const core::item_result*> examples;
    for (const auto& i : best.items) examples.push_back(&i);
    shuffle(examples, ctx.rng());
    int wanted = std::min(settings_.prompts_per_round, ctx.trials_left());
    // Arguments of co_await are built as named locals: GCC 12 destroys temporaries inside a
    // co_await expression twice.
    auto request = reasoning_request(best_prompt, best_score, std::move(examples), wanted, variables);
    auto reply = co_await ctx.reason(std::move(request));
    if (!reply) {
      ctx.log("round " + std::to_string(round) + ": reasoning model failed: " + reply.error().message);
      ++stale_rounds;
      continue;
    }
    std::vector<std::string> rejected;
    auto rewrites = parse_rewrites(reply->text, variables, rejected);
    for (const auto& r : rejected) ctx.log("round " + std::to_string(round) + ": rejected: " + r);

    bool improved = false;
    int index = 0;
    for (auto& rewrite : rewrites) {
      ++index;
      if (ctx.trials_left() <= 0 || ctx.should_stop()) break;
      if (std::find(tried.begin(), tried.end(), rewrite) != tried.end()) continue;
      tried.push_back(rewrite);
      core::candidate next{rewrite, "round " + std::to_string(round) + " rewrite " + std::to_string(index),
                           {best_candidate_id}, round};
      auto next_id = next.id();
      auto result = co_await core::evaluate_or_fail(ctx, std::move(next));
      if (result.cancelled) co_return core::stopped();
      if (result.score.value_or(0.0) > best.score.value_or(0.0)) {
        best = std::move(result);
        best_prompt = std::move(rewrite);
        best_candidate_id = std::move(next_id);
        improved = true;
      }
    }
    stale_rounds = improved ? 0 : stale_rounds + 1;
  }
}

}  // namespace optd::plugins
