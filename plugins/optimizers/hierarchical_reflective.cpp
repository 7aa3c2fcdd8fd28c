#include "plugins/optimizers/hierarchical_reflective.hpp"

#include <cmath>
#include <map>
#include <sstream>

#include "core/run_error.hpp"
#include "plugins/optimizers/draws.hpp"
#include "plugins/optimizers/optimizer_settings.hpp"
#include "plugins/optimizers/prompt_edits.hpp"
#include "plugins/structured_output.hpp"

namespace optd::plugins {

namespace asio = boost::asio;

namespace {

constexpr std::string_view analysis_instructions =
    "You analyse how a language model prompt performed on a set of test cases. Each case lists the scores "
    "it got and the reasons the metrics gave. Base everything you say on the evidence shown and nothing "
    "else. Identify the ways the answers fail, group cases that fail the same way, count how often each "
    "failure happens, and put the most frequent and most severe first. For each failure mode give a short "
    "name, a description of what goes wrong, and its root cause in the prompt. Reply with JSON only.";

constexpr std::string_view synthesis_instructions =
    "You are given the failure modes found in several batches of test results of one language model "
    "prompt. Merge the modes that are the same failure across batches, keep the ones that recur or are "
    "severe, drop one-offs, and order them by priority. Add short notes, as plain-text bullets, on what "
    "the prompt should change. Reply with JSON only.";

constexpr std::string_view improve_instructions =
    "You improve a language model prompt so that it no longer fails in the way described. First analyse "
    "why the prompt leads to this failure, then make surgical changes: clarify or update instructions that "
    "are unclear, add the ones that are missing, replace the ones that contradict what is wanted. Keep the "
    "prompt's messages and their roles as they are, and never add a message. Be specific. Template "
    "variables are written {{name}} and filled from a dataset: keep every one exactly as written (you may "
    "move one within its message), and never remove one or add a new one. Reply with JSON only: your "
    "reasoning, then the full improved prompt as its list of messages.";

std::string three_decimals(double v) { return fixed(v, 3); }

nlohmann::json failure_modes_schema() {
  return {{"type", "array"},
          {"items", object_schema({{"name", string_schema()}, {"description", string_schema()}, {"root_cause", string_schema()}})}};
}

class rounds {
 public:
  rounds(const hierarchical_reflective_settings& s, const hierarchical_reflective& owner, core::optimizer_context& ctx,
         core::prompt_messages seed)
      : s_(s), owner_(owner), ctx_(ctx), seed_(std::move(seed)), editable_(optimizable_messages(seed_)) {}

  asio::awaitable<core::optimizer_outcome> run(core::evaluation_result baseline);

 private:
  using failure_mode = hierarchical_reflective::failure_mode;
  asio::awaitable<std::optional<std::vector<failure_mode>>> analyse(const core::evaluation_result& result);
  // Evaluates a rewrite (a trial, or a screening then a trial): its score on the scale the best
  // is measured on; nullopt when the run must stop.
  asio::awaitable<std::optional<double>> score(const core::candidate& c);
  core::prompt_messages apply(const core::prompt_messages& reply) const;
  bool perfect(double score) const { return s_.skip_perfect_score && score >= s_.perfect_score; }

  const hierarchical_reflective_settings& s_;
  const hierarchical_reflective& owner_;
  core::optimizer_context& ctx_;
  core::prompt_messages seed_;
  std::vector<std::size_t> editable_;
  std::vector<std::string> screening_;  // the n_samples_minibatch items; empty: the whole sample
  core::candidate best_;
  core::evaluation_result best_result_;  // the best prompt's results on the screening items
  double best_score_ = 0;
  std::map<std::string, double> scored_;  // prompt → its score, for rewrites seen before
  int trials_ = 0;                         // rewrites evaluated: what max_trials counts
  bool stopped_ = false;
};

core::prompt_messages rounds::apply(const core::prompt_messages& reply) const {
  // The reply's messages by position, where the prompt's role is one Opik lets an optimizer
  // change and the reply keeps it; empty ones are dropped; nothing is added.
  auto out = best_.messages;
  for (auto i : editable_)
    if (i < reply.size() && reply[i].role == out[i].role && !reply[i].content.empty()) out[i].content = reply[i].content;
  return keep_variables(seed_, std::move(out));
}

asio::awaitable<std::optional<double>> rounds::score(const core::candidate& c) {
  ++trials_;
  ctx_.report_budget(trials_, ctx_.limits().max_trials, "rewrites");
  auto key = core::to_json(c.messages).dump();
  if (auto known = scored_.find(key); known != scored_.end()) {
    ctx_.log(c.origin + ": the same prompt as one evaluated before (" + three_decimals(known->second) + ")");
    co_return known->second;
  }
  core::evaluation_request request;
  request.candidate = c;
  if (!screening_.empty()) {
    request.item_ids = screening_;
    request.type = core::experiment_type::mini_batch;
  }
  auto result = co_await ctx_.evaluate(std::move(request));
  if (result.cancelled) {
    stopped_ = true;
    co_return std::nullopt;
  }
  double value = result.score.value_or(0.0);
  scored_[key] = value;
  if (!screening_.empty() && value > best_score_) {  // a screening won: now on every item, for Opik's records
    core::evaluation_request full;
    full.candidate = c;
    auto trial = co_await ctx_.evaluate(std::move(full));
    if (trial.cancelled) {
      stopped_ = true;
      co_return std::nullopt;
    }
  }
  if (value > best_score_) best_result_ = std::move(result);
  co_return value;
}

asio::awaitable<std::optional<std::vector<hierarchical_reflective::failure_mode>>> rounds::analyse(
    const core::evaluation_result& result) {
  std::vector<std::pair<std::size_t, std::size_t>> ranges;
  auto size = static_cast<std::size_t>(std::max(1, s_.batch_size));
  for (std::size_t first = 0; first < result.items.size(); first += size)
    ranges.emplace_back(first, std::min(size, result.items.size() - first));
  std::vector<std::vector<failure_mode>> batches;
  std::vector<std::pair<std::size_t, std::size_t>> answered;
  auto parallel = static_cast<std::size_t>(std::max(1, s_.max_parallel_batches));
  for (std::size_t chunk = 0; chunk < ranges.size(); chunk += parallel) {
    std::vector<core::chat_request> asks;
    for (std::size_t k = chunk; k < std::min(ranges.size(), chunk + parallel); ++k)
      asks.push_back(owner_.analysis_request(result, ranges[k].first, ranges[k].second));
    auto replies = co_await ctx_.reason_all(std::move(asks));
    for (std::size_t k = 0; k < replies.size(); ++k) {
      const auto& range = ranges[chunk + k];
      auto label = "the analysis of test cases " + std::to_string(range.first + 1) + "–" + std::to_string(range.first + range.second);
      if (!replies[k]) {
        if (replies[k].error().code == core::errc::cancelled) {
          stopped_ = true;
          co_return std::nullopt;
        }
        ctx_.log(label + " failed: " + replies[k].error().message);
        continue;
      }
      auto modes = hierarchical_reflective::parse_failure_modes(replies[k]->text, "failure_modes");
      if (!modes) {
        ctx_.log(label + " is not the JSON asked for");
        continue;
      }
      batches.push_back(std::move(*modes));
      answered.push_back(range);
    }
  }
  if (batches.empty()) co_return std::nullopt;
  auto ask = owner_.synthesis_request(batches, answered);
  auto reply = co_await ctx_.reason(std::move(ask));
  if (!reply && reply.error().code == core::errc::cancelled) {
    stopped_ = true;
    co_return std::nullopt;
  }
  auto unified = reply ? hierarchical_reflective::parse_failure_modes(reply->text, "unified_failure_modes") : std::nullopt;
  if (unified) co_return unified;
  // Without a synthesis the batches' own modes are used, each name once.
  ctx_.log("the synthesis failed; the batches' failure modes are used as they are");
  std::vector<failure_mode> all;
  for (auto& b : batches)
    for (auto& m : b)
      if (std::none_of(all.begin(), all.end(), [&](const auto& x) { return x.name == m.name; })) all.push_back(std::move(m));
  co_return all;
}

asio::awaitable<core::optimizer_outcome> rounds::run(core::evaluation_result baseline) {
  best_ = {seed_, "baseline"};
  best_score_ = baseline.score.value_or(0.0);
  best_result_ = std::move(baseline);
  scored_[core::to_json(seed_).dump()] = best_score_;
  if (perfect(best_score_)) co_return core::optimizer_outcome{core::finish_reason::perfect_score, "the baseline is perfect already"};
  const auto& sample = ctx_.sample();
  if (s_.n_samples_minibatch && static_cast<std::size_t>(*s_.n_samples_minibatch) < sample.size()) {
    // A seeded choice of items, kept for the whole run, in sample order.
    std::vector<std::size_t> positions(sample.size());
    for (std::size_t i = 0; i < positions.size(); ++i) positions[i] = i;
    shuffle(positions, ctx_.rng());
    positions.resize(static_cast<std::size_t>(*s_.n_samples_minibatch));
    std::sort(positions.begin(), positions.end());
    for (auto p : positions) screening_.push_back(sample[p].id);
    core::evaluation_request request;
    request.candidate = best_;
    request.item_ids = screening_;
    request.type = core::experiment_type::mini_batch;
    best_result_ = co_await ctx_.evaluate(std::move(request));
    if (best_result_.cancelled) co_return core::stopped();
    best_score_ = best_result_.score.value_or(0.0);
    scored_[core::to_json(seed_).dump()] = best_score_;
  }

  for (int round = 1; trials_ < ctx_.limits().max_trials; ++round) {
    if (ctx_.should_stop()) co_return core::stopped();
    auto r = "round " + std::to_string(round);
    bool any_reason = std::any_of(best_result_.items.begin(), best_result_.items.end(), [](const core::item_result& i) {
      return i.failed ? !i.error.empty() : std::any_of(i.scores.begin(), i.scores.end(), [](const auto& m) { return !m.reason.empty(); });
    });
    if (!any_reason)
      throw core::run_error("ValueError", "hierarchical_reflective analyses the metrics' reasons, and none of the " +
                                              std::to_string(best_result_.items.size()) + " results has one");
    double round_start = best_score_;
    auto modes = co_await analyse(best_result_);
    if (stopped_) co_return core::stopped();
    if (!modes || modes->empty())  // another round would ask the same again
      co_return core::optimizer_outcome{core::finish_reason::no_improvement, r + ": no failure mode found"};
    ctx_.log(r + ": " + std::to_string(modes->size()) + " failure modes, from " +
                  std::to_string((best_result_.items.size() + static_cast<std::size_t>(s_.batch_size) - 1) /
                                 static_cast<std::size_t>(s_.batch_size)) + " batches");
    for (std::size_t m = 0; m < modes->size(); ++m) {
      const auto& mode = (*modes)[m];
      for (int attempt = 1; attempt <= s_.max_retries + 1; ++attempt) {
        if (ctx_.should_stop()) co_return core::stopped();
        if (trials_ >= ctx_.limits().max_trials) co_return core::optimizer_outcome{core::finish_reason::max_trials, {}};
        auto origin = r + " \"" + mode.name + "\" attempt " + std::to_string(attempt);
        auto ask = owner_.improve_request(best_.messages, mode, attempt);
        auto reply = co_await ctx_.reason(std::move(ask));
        if (!reply && reply.error().code == core::errc::cancelled) co_return core::stopped();
        std::optional<core::prompt_messages> rewrite;
        if (reply) {
          auto j = extract_json(reply->text);
          if (j.is_object() && j.contains("messages")) rewrite = parse_messages(j["messages"]);
        }
        if (!rewrite) {  // Opik evaluates the best again here; its score is known
          ++trials_;
          ctx_.log(origin + ": no usable rewrite (" + (reply ? "not the JSON asked for" : reply.error().message) + ")");
          continue;
        }
        core::candidate c{apply(*rewrite), origin, {best_.id()}, best_.step + 1};
        auto value = co_await score(c);
        if (!value) co_return core::stopped();
        bool better = *value > best_score_;
        ctx_.log(origin + ": " + three_decimals(*value) + (better ? ", better than " : ", not better than ") +
                 three_decimals(best_score_));
        if (better) {
          best_ = std::move(c);
          best_score_ = *value;
        }
        if (perfect(*value)) co_return core::optimizer_outcome{core::finish_reason::perfect_score, {}};
        if (better) break;  // the next failure mode starts from the new best
      }
    }
    double gain = best_score_ - round_start;
    double improvement = s_.absolute_convergence ? gain : round_start > 0 ? gain / round_start : 0.0;
    ctx_.log(r + " ends at " + three_decimals(best_score_) + " (from " + three_decimals(round_start) + ")");
    if (std::abs(improvement) < s_.convergence_threshold)
      co_return core::optimizer_outcome{core::finish_reason::no_improvement,
                                        r + " improved by less than convergence_threshold"};
  }
  co_return core::optimizer_outcome{core::finish_reason::max_trials, {}};
}

}  // namespace

hierarchical_reflective_settings hierarchical_reflective_settings::from(const core::run_spec& spec) {
  hierarchical_reflective_settings s;
  const auto& p = parameters_of(spec);
  s.model = p.value("reasoning_model", reasoning_model_of(spec));
  s.model_parameters = p.contains("reasoning_model_parameters") && p["reasoning_model_parameters"].is_object()
                           ? p["reasoning_model_parameters"]
                           : reasoning_parameters_of(spec);
  s.max_parallel_batches = p.value("max_parallel_batches", s.max_parallel_batches);
  s.batch_size = p.value("batch_size", s.batch_size);
  s.convergence_threshold = p.value("convergence_threshold", s.convergence_threshold);
  s.max_retries = p.value("max_retries", s.max_retries);
  if (p.contains("n_samples_minibatch")) s.n_samples_minibatch = p["n_samples_minibatch"].get<int>();
  s.skip_perfect_score = p.value("skip_perfect_score", s.skip_perfect_score);
  s.perfect_score = p.value("perfect_score", s.perfect_score);
  s.seed = p.value("seed", s.seed);
  s.analyze_outputs = p.value("analyze_outputs", s.analyze_outputs);
  s.absolute_convergence = p.value("convergence", std::string("relative")) == "absolute";
  s.reference_key = reference_key_of(spec);
  return s;
}

core::chat_request hierarchical_reflective::analysis_request(const core::evaluation_result& result, std::size_t first,
                                                             std::size_t count) const {
  std::ostringstream user;
  user << "Test results (" << count << " test cases):\n";
  for (std::size_t k = first; k < first + count && k < result.items.size(); ++k) {
    const auto& i = result.items[k];
    user << "\nTest Case #" << k + 1 << " (ID: " << i.item->id << ", Trial: " << result.experiment_id << ")\n";
    if (i.failed) {
      user << "  evaluation: 0.000 (FAILED)\n    Reason: " << i.error << "\n";
    } else {
      for (const auto& m : i.scores)
        user << "  " << m.name << ": " << three_decimals(m.value) << "\n    Reason: " << m.reason << "\n";
    }
    if (settings_.analyze_outputs) {
      auto input = i.item->data;
      if (input.is_object()) input.erase(settings_.reference_key);
      user << "  Input: " << input.dump() << "\n  Output: " << i.output << "\n  Expected: "
           << (i.item->data.contains(settings_.reference_key) ? text_of(i.item->data[settings_.reference_key]) : "")
           << "\n";
    }
  }
  core::chat_request r;
  r.model = settings_.model;
  r.parameters = settings_.model_parameters;
  r.parameters["seed"] = settings_.seed;
  r.parameters["response_format"] = response_format("RootCauseAnalysis", {{"failure_modes", failure_modes_schema()}});
  r.messages = {{core::role::system, std::string(analysis_instructions)}, {core::role::user, user.str()}};
  return r;
}

core::chat_request hierarchical_reflective::synthesis_request(
    const std::vector<std::vector<failure_mode>>& batches,
    const std::vector<std::pair<std::size_t, std::size_t>>& ranges) const {
  std::ostringstream user;
  std::size_t total = 0;
  for (std::size_t b = 0; b < batches.size(); ++b) {
    total += ranges[b].second;
    user << "Batch " << b + 1 << " (Test Cases " << ranges[b].first + 1 << "–" << ranges[b].first + ranges[b].second << "):\n";
    for (const auto& m : batches[b])
      user << "- " << m.name << "\n  Description: " << m.description << "\n  Root Cause: " << m.root_cause << "\n";
    user << "\n";
  }
  core::chat_request r;
  r.model = settings_.model;
  r.parameters = settings_.model_parameters;
  r.parameters["seed"] = settings_.seed;
  r.parameters["response_format"] = response_format("HierarchicalRootCauseAnalysis",
                                                     {{"total_test_cases", {{"type", "integer"}}},
                                                      {"num_batches", {{"type", "integer"}}},
                                                      {"unified_failure_modes", failure_modes_schema()},
                                                      {"synthesis_notes", string_schema()}});
  r.messages = {{core::role::system, std::string(synthesis_instructions)},
                {core::role::user, "Failure modes of " + std::to_string(total) + " test cases in " +
                                       std::to_string(batches.size()) + " batches:\n\n" + user.str()}};
  return r;
}

core::chat_request hierarchical_reflective::improve_request(const core::prompt_messages& prompt, const failure_mode& mode,
                                                            int attempt) const {
  std::ostringstream user;
  user << "--- Prompt: prompt ---\n" << core::to_json(prompt).dump(2) << "\n\n";
  user << "Failure mode: " << mode.name << "\nDescription: " << mode.description << "\nRoot cause: " << mode.root_cause
       << "\n";
  core::chat_request r;
  r.model = settings_.model;
  r.parameters = settings_.model_parameters;
  r.parameters["seed"] = settings_.seed + static_cast<std::uint64_t>(attempt - 1) * 1000;  // another answer per attempt
  r.parameters["response_format"] =
      response_format("ImprovedPrompt", {{"reasoning", string_schema()}, {"messages", messages_schema()}});
  r.messages = {{core::role::system, std::string(improve_instructions)}, {core::role::user, user.str()}};
  return r;
}

std::optional<std::vector<hierarchical_reflective::failure_mode>> hierarchical_reflective::parse_failure_modes(
    const std::string& reply, const char* key) {
  auto j = extract_json(reply);
  if (!j.is_object() || !j.contains(key) || !j[key].is_array()) return std::nullopt;
  std::vector<failure_mode> out;
  for (const auto& m : j[key]) {
    if (!m.is_object() || !m.contains("name")) continue;
    out.push_back({text_of(m["name"]), m.contains("description") ? text_of(m["description"]) : "",
                   m.contains("root_cause") ? text_of(m["root_cause"]) : ""});
  }
  return out;
}

asio::awaitable<core::optimizer_outcome> hierarchical_reflective::run(core::optimizer_context& ctx, core::candidate baseline) {
  auto seed = baseline.messages;
  auto base = co_await core::evaluate_or_fail(ctx, std::move(baseline));
  if (base.cancelled) co_return core::stopped();
  rounds r(settings_, *this, ctx, std::move(seed));
  co_return co_await r.run(std::move(base));
}

}  // namespace optd::plugins
