#include "plugins/optimizers/gepa.hpp"

#include <algorithm>
#include <cmath>
#include <limits>
#include <map>
#include <set>
#include <sstream>
#include <tuple>

#include "core/run_error.hpp"
#include "plugins/optimizers/optimizer_settings.hpp"
#include "plugins/optimizers/prompt_edits.hpp"

namespace optd::plugins {

namespace asio = boost::asio;

namespace {

// optd's reflection instructions (the structure of gepa's instruction-proposal template, in our
// own words, with the rule about {{variables}} that Opik adds).
constexpr std::string_view default_template =
    "I gave an assistant the following instructions to do a task for me:\n"
    "```\n<curr_param>\n```\n\n"
    "Here are some inputs the assistant was given, the outputs it produced with these instructions, and "
    "feedback on how good each output was:\n"
    "```\n<side_info>\n```\n\n"
    "Your job is to write new instructions for the assistant.\n"
    "Read the inputs carefully and work out what the task is and what form its inputs take. Read the "
    "feedback and work out what the assistant got wrong and what a good output looks like. Facts about the "
    "domain that the examples reveal, and any general strategy the assistant should follow, belong in the "
    "new instructions, because the assistant will not see these examples again.\n"
    "The instructions may contain template variables written as {{name}}: each is replaced with a value "
    "from the dataset for every input. Copy every variable exactly as written; never delete, rename or "
    "replace one with a value from the examples, and never add a new one. You may move them and rewrite "
    "the text around them.\n"
    "Write the new instructions inside a block fenced with ``` and nothing else inside it.";

std::string four_decimals(double v) { return fixed(v, 4); }

// gepa's markdown for a value under a header of `level` #s: objects as sub-headers, lists as
// "Item k", scalars as their text.
void render_value(std::ostringstream& out, const nlohmann::json& v, int level) {
  auto header = std::string(static_cast<std::size_t>(std::min(level, 6)), '#');
  if (v.is_object()) {
    for (auto it = v.begin(); it != v.end(); ++it) {
      out << header << " " << it.key() << "\n";
      render_value(out, it.value(), level + 1);
    }
  } else if (v.is_array()) {
    for (std::size_t k = 0; k < v.size(); ++k) {
      out << header << " Item " << k + 1 << "\n";
      render_value(out, v[k], level + 1);
    }
  } else {
    auto s = text_of(v);
    auto b = s.find_first_not_of(" \t\r\n"), e = s.find_last_not_of(" \t\r\n");
    out << (b == std::string::npos ? "" : s.substr(b, e - b + 1)) << "\n\n";
  }
}

struct merge_key {
  int i, j, ancestor;
  auto operator<=>(const merge_key&) const = default;
};

// The search of one run: the pool, the budgets and the stop counters, and the experiments it asks for.
class search {
 public:
  search(const gepa_settings& s, const gepa& owner, core::optimizer_context& ctx, core::prompt_messages seed)
      : s_(s), owner_(owner), ctx_(ctx), seed_(std::move(seed)), components_(optimizable_messages(seed_)) {
    for (const auto& item : ctx_.sample()) ids_.push_back(item.id);
    budget_ = static_cast<long long>(ctx_.limits().max_trials) * static_cast<long long>(ids_.size());
    b_ = std::min(s_.reflection_minibatch_size.value_or(studio_minibatch_size(ids_.size(), ctx_.limits().max_trials)),
                  ids_.size());
    sampler_ = std::make_unique<epoch_sampler>(ids_.size(), b_);
  }

  asio::awaitable<core::optimizer_outcome> run(core::evaluation_result baseline);

 private:
  core::candidate candidate_of(const gepa_program& p, std::string origin) const {
    std::vector<std::string> parents;
    for (int k : p.parents) parents.push_back(candidate_id(k));
    return {p.prompt, std::move(origin), std::move(parents), p.step};
  }
  std::string candidate_id(int index) const { return core::candidate{pool_.at(index).prompt, ""}.id(); }
  std::vector<std::string> ids_at(const std::vector<std::size_t>& positions) const {
    std::vector<std::string> out;
    for (auto p : positions) out.push_back(ids_[p]);
    return out;
  }
  static std::vector<double> scores_of(const core::evaluation_result& r) {
    std::vector<double> out;
    for (const auto& i : r.items) out.push_back(i.failed ? 0.0 : i.objective);
    return out;
  }
  core::evaluation_request request(core::candidate c, const std::vector<std::size_t>& positions, bool parent,
                                   std::string source, int iteration) const;
  std::optional<core::finish_reason> stop_reason();
  asio::awaitable<bool> reflect(int iteration);
  asio::awaitable<bool> merge(int iteration);
  // A kept child joins the pool with its scores on every item: `whole`, when its screening was
  // the whole sample already, else a trial bought now.
  asio::awaitable<void> admit(gepa_program child, core::candidate c, int iteration,
                              const core::evaluation_result* whole = nullptr);
  asio::awaitable<core::optimizer_outcome> finish(core::finish_reason why, const core::evaluation_result& baseline);
  // A result came back cancelled: the run must stop. Returns false, to end the loop.
  bool halt() {
    stopped_ = true;
    return false;
  }

  const gepa_settings& s_;
  const gepa& owner_;
  core::optimizer_context& ctx_;
  core::prompt_messages seed_;
  std::vector<std::size_t> components_;
  std::vector<std::string> ids_;
  gepa_pool pool_;
  std::unique_ptr<epoch_sampler> sampler_;
  std::size_t b_ = 1;
  long long budget_ = 0, used_ = 0;
  int reflection_calls_ = 0;
  int no_improvement_ = 0;
  double best_seen_ = -std::numeric_limits<double>::infinity();
  int merges_due_ = 0, merges_tested_ = 0;
  bool found_new_ = false;
  std::set<merge_key> merges_tried_;
  std::set<std::string> merges_built_;
  bool stopped_ = false;  // the run must stop: a result came back cancelled
};

core::evaluation_request search::request(core::candidate c, const std::vector<std::size_t>& positions, bool parent,
                                         std::string source, int iteration) const {
  core::evaluation_request r;
  r.candidate = std::move(c);
  bool whole = positions.size() == ids_.size() && std::set<std::size_t>(positions.begin(), positions.end()).size() == ids_.size();
  // Opik's adapter: the parent's mini-batch is always one; the child's is a trial when it covers
  // the whole validation set; full evaluations are trials.
  r.type = parent || !whole ? core::experiment_type::mini_batch : core::experiment_type::trial;
  if (!whole || parent) r.item_ids = ids_at(positions);
  r.metadata = {{"batch_index", iteration},
                {"capture_traces", parent},
                {"configuration", {{"gepa", {{"phase", r.type == core::experiment_type::trial ? "validation" : "minibatch"},
                                             {"source", std::move(source)}}}}}};
  return r;
}

std::optional<core::finish_reason> search::stop_reason() {
  // gepa's stoppers, checked at the top of each iteration in its order.
  if (s_.perfect_score > 0)
    for (int k = 1; k < static_cast<int>(pool_.programs().size()); ++k)
      if (pool_.at(k).aggregate >= s_.perfect_score) return core::finish_reason::perfect_score;
  double best = pool_.at(pool_.current_best()).aggregate;
  if (best > best_seen_) {
    best_seen_ = best;
    no_improvement_ = 0;
  } else {
    ++no_improvement_;
  }
  if (s_.no_improvement_iterations > 0 && no_improvement_ >= s_.no_improvement_iterations)
    return core::finish_reason::no_improvement;
  if (s_.max_reflection_calls > 0 && reflection_calls_ >= s_.max_reflection_calls)
    return core::finish_reason::reflection_budget;
  if (used_ >= budget_) return core::finish_reason::max_trials;
  return std::nullopt;
}

asio::awaitable<void> search::admit(gepa_program child, core::candidate c, int iteration,
                                    const core::evaluation_result* whole) {
  if (whole) {
    child.scores = scores_of(*whole);
  } else {
    std::vector<std::size_t> all(ids_.size());
    for (std::size_t i = 0; i < all.size(); ++i) all[i] = i;
    // Requests are named locals: GCC 12 destroys temporaries inside a co_await expression twice.
    auto ask = request(std::move(c), all, false, "validation", iteration);
    auto full = co_await ctx_.evaluate(std::move(ask));
    used_ += static_cast<long long>(ids_.size());
    if (full.cancelled) {
      stopped_ = true;
      co_return;
    }
    child.scores = scores_of(full);
  }
  int index = pool_.add(std::move(child));
  ctx_.log("iteration " + std::to_string(iteration) + ": candidate " + std::to_string(index) + " joins the pool, " +
           four_decimals(pool_.at(index).aggregate) + " on all " + std::to_string(ids_.size()) + " items");
  found_new_ = true;
  if (s_.use_merge && merges_tested_ < s_.max_merge_invocations) ++merges_due_;
}

asio::awaitable<bool> search::reflect(int iteration) {
  auto it = std::to_string(iteration);
  int parent_index = pool_.select(s_.selection, ctx_.rng());
  const auto parent = pool_.at(parent_index);  // a copy: the pool grows below
  auto positions = sampler_->next(static_cast<std::size_t>(iteration), ctx_.rng());
  auto parent_request = request(
      candidate_of(parent, "iteration " + it + ": candidate " + std::to_string(parent_index) + " on a mini-batch"),
      positions, true, "parent", iteration);
  auto on_parent = co_await ctx_.evaluate(std::move(parent_request));
  used_ += static_cast<long long>(positions.size());
  if (on_parent.cancelled) co_return halt();
  auto parent_scores = scores_of(on_parent);
  if (on_parent.all_failed()) {
    ctx_.log("iteration " + it + ": no output to reflect on (every call failed)");
    co_return true;
  }
  if (s_.skip_perfect_score &&
      std::all_of(parent_scores.begin(), parent_scores.end(), [&](double v) { return v >= s_.perfect_score; })) {
    ctx_.log("iteration " + it + ": candidate " + std::to_string(parent_index) + " is perfect on this mini-batch");
    co_return true;
  }

  auto component = components_[pool_.take_component(parent_index, components_.size())];
  auto ask = owner_.reflection_request(parent.prompt[component].content, on_parent);
  ++reflection_calls_;
  auto reply = co_await ctx_.reason(std::move(ask));
  if (!reply) {
    if (reply.error().code == core::errc::cancelled) co_return halt();
    ctx_.log("iteration " + it + ": the reflection model failed: " + reply.error().message);
    co_return true;
  }
  auto text = extract_fenced(reply->text);
  if (text.empty()) {
    if (s_.raise_on_exception)
      throw core::run_error("EmptyLLMResponseError", "the reflection model gave an empty answer in iteration " + it);
    ctx_.log("iteration " + it + ": the reflection model gave an empty answer");
    co_return true;
  }
  gepa_program child;
  child.prompt = parent.prompt;
  child.prompt[component].content = text;
  auto guarded = keep_variables(seed_, child.prompt);
  if (guarded != child.prompt) ctx_.log("iteration " + it + ": the new text lost or added a {{variable}}; the seed's text is kept there");
  child.prompt = std::move(guarded);
  child.parents = {parent_index};
  child.step = parent.step + 1;
  child.next_component = pool_.at(parent_index).next_component;  // the parent's, moved on
  auto c = candidate_of(child, "iteration " + it + ": child of candidate " + std::to_string(parent_index));

  if (child.prompt == parent.prompt) {  // sums equal: rejected, as gepa would after buying it
    used_ += static_cast<long long>(positions.size());
    ctx_.log("iteration " + it + ": the child is its parent again; rejected");
    co_return true;
  }
  auto child_request = request(c, positions, false, "child", iteration);
  auto on_child = co_await ctx_.evaluate(std::move(child_request));
  used_ += static_cast<long long>(positions.size());
  if (on_child.cancelled) co_return halt();
  double parent_sum = on_parent.sum(), child_sum = on_child.sum();
  bool accepted = child_sum > parent_sum;  // strictly: a tie keeps the parent
  ctx_.log("iteration " + it + ": child of candidate " + std::to_string(parent_index) + " sums " +
           four_decimals(child_sum) + " against " + four_decimals(parent_sum) + " on " +
           std::to_string(positions.size()) + " items: " + (accepted ? "kept" : "rejected"));
  if (!accepted) co_return true;
  // A mini-batch of the whole sample is a trial already: that is its full evaluation.
  bool whole = on_child.type == core::experiment_type::trial;
  co_await admit(std::move(child), std::move(c), iteration, whole ? &on_child : nullptr);
  co_return !stopped_;
}

asio::awaitable<bool> search::merge(int iteration) {
  auto it = std::to_string(iteration);
  auto candidates = pool_.non_dominated();
  if (candidates.size() < 2) co_return false;
  auto ancestors = [&](int x) {
    std::set<int> out;
    std::vector<int> todo = pool_.at(x).parents;
    while (!todo.empty()) {
      int p = todo.back();
      todo.pop_back();
      if (out.insert(p).second)
        for (int q : pool_.at(p).parents) todo.push_back(q);
    }
    return out;
  };
  for (int attempt = 0; attempt < 10; ++attempt) {
    int i = candidates[draw(ctx_.rng(), candidates.size())];
    int j = candidates[draw(ctx_.rng(), candidates.size())];
    if (i == j) continue;
    if (i > j) std::swap(i, j);
    auto ai = ancestors(i), aj = ancestors(j);
    if (ai.count(j) || aj.count(i)) continue;
    const auto& pi = pool_.at(i).prompt;
    const auto& pj = pool_.at(j).prompt;
    std::vector<int> common;
    for (int a : ai) {
      if (!aj.count(a) || merges_tried_.count({i, j, a})) continue;
      const auto& pa = pool_.at(a);
      if (pa.aggregate > pool_.at(i).aggregate || pa.aggregate > pool_.at(j).aggregate) continue;
      bool desirable = std::any_of(components_.begin(), components_.end(), [&](std::size_t k) {
        bool eq_i = pa.prompt[k] == pi[k], eq_j = pa.prompt[k] == pj[k];
        return eq_i != eq_j && !(pi[k] == pj[k]);
      });
      if (desirable) common.push_back(a);
    }
    if (common.empty()) continue;
    double total = 0;
    for (int a : common) total += pool_.at(a).aggregate;
    int ancestor = common.front();
    if (total > 0) {  // weighted by aggregate score
      double r = draw_unit(ctx_.rng()) * total;
      for (int a : common)
        if ((r -= pool_.at(a).aggregate) < 0) {
          ancestor = a;
          break;
        }
    } else {
      ancestor = common[draw(ctx_.rng(), common.size())];
    }
    merges_tried_.insert({i, j, ancestor});
    gepa_program child;
    child.prompt = pool_.at(ancestor).prompt;
    std::string sources;
    for (auto k : components_) {
      bool eq_i = pool_.at(ancestor).prompt[k] == pi[k], eq_j = pool_.at(ancestor).prompt[k] == pj[k];
      int from = eq_i && !eq_j ? j
                 : eq_j && !eq_i ? i
                 : eq_i && eq_j  ? ancestor
                 : pool_.at(i).aggregate != pool_.at(j).aggregate
                     ? (pool_.at(i).aggregate > pool_.at(j).aggregate ? i : j)
                     : (draw(ctx_.rng(), 2) == 0 ? i : j);
      child.prompt[k] = pool_.at(from).prompt[k];
      sources += std::to_string(from) + ",";
    }
    auto built = std::to_string(i) + "+" + std::to_string(j) + ":" + sources;
    if (!merges_built_.insert(built).second) continue;
    // Five items, as evenly as can be from where i is better, where j is, and where they tie.
    std::vector<std::size_t> better_i, better_j, tied;
    for (std::size_t k = 0; k < ids_.size(); ++k) {
      double si = pool_.at(i).scores[k], sj = pool_.at(j).scores[k];
      (si > sj ? better_i : si < sj ? better_j : tied).push_back(k);
    }
    if (ids_.size() < 5) continue;
    std::vector<std::size_t> picked;
    for (auto* bucket : {&better_i, &better_j, &tied})
      for (int n = 0; n < 2 && !bucket->empty(); ++n) {
        auto at = draw(ctx_.rng(), bucket->size());
        picked.push_back((*bucket)[at]);
        bucket->erase(bucket->begin() + static_cast<std::ptrdiff_t>(at));
      }
    std::vector<std::size_t> rest;
    for (auto* bucket : {&better_i, &better_j, &tied}) rest.insert(rest.end(), bucket->begin(), bucket->end());
    while (picked.size() < 5 && !rest.empty()) {
      auto at = draw(ctx_.rng(), rest.size());
      picked.push_back(rest[at]);
      rest.erase(rest.begin() + static_cast<std::ptrdiff_t>(at));
    }
    picked.resize(std::min<std::size_t>(picked.size(), 5));
    child.parents = {i, j};
    child.step = std::max(pool_.at(i).step, pool_.at(j).step) + 1;
    child.next_component = std::max(pool_.at(i).next_component, pool_.at(j).next_component);
    auto c = candidate_of(child, "iteration " + it + ": merge of candidates " + std::to_string(i) + " and " + std::to_string(j));
    auto merge_request = request(c, picked, false, "merge", iteration);
    auto on_merge = co_await ctx_.evaluate(std::move(merge_request));
    used_ += static_cast<long long>(picked.size());
    if (on_merge.cancelled) co_return halt();
    double sum_i = 0, sum_j = 0;
    for (auto k : picked) sum_i += pool_.at(i).scores[k], sum_j += pool_.at(j).scores[k];
    bool accepted = on_merge.sum() >= std::max(sum_i, sum_j);
    ctx_.log("iteration " + it + ": merge of candidates " + std::to_string(i) + " and " + std::to_string(j) + " sums " +
             four_decimals(on_merge.sum()) + " against " + four_decimals(std::max(sum_i, sum_j)) + ": " +
             (accepted ? "kept" : "rejected"));
    if (accepted) {
      --merges_due_;
      ++merges_tested_;
      bool whole = on_merge.type == core::experiment_type::trial;  // five items were the whole sample
      co_await admit(std::move(child), std::move(c), iteration, whole ? &on_merge : nullptr);
    }
    co_return true;
  }
  co_return false;
}

asio::awaitable<core::optimizer_outcome> search::run(core::evaluation_result baseline) {
  // gepa starts by scoring the seed on the validation set: the baseline did, on the same items.
  gepa_program seed;
  seed.prompt = seed_;
  seed.scores = scores_of(baseline);
  pool_.add(std::move(seed));
  used_ += static_cast<long long>(ids_.size());
  ctx_.log("gepa: " + std::to_string(ids_.size()) + " items, reflection mini-batches of " + std::to_string(b_) +
           ", a budget of " + std::to_string(budget_) + " metric calls");
  core::finish_reason why = core::finish_reason::max_trials;
  for (int iteration = 0;; ++iteration) {
    ctx_.report_budget(static_cast<double>(std::min(used_, budget_)), static_cast<double>(budget_), "metric calls");
    if (auto stop = stop_reason()) {
      why = *stop;
      break;
    }
    if (ctx_.should_stop() || stopped_) co_return core::stopped();
    bool merge_due = s_.use_merge && merges_due_ > 0 && found_new_;
    found_new_ = false;
    if (merge_due && co_await merge(iteration)) continue;  // no merge candidates: a reflective step instead
    if (!co_await reflect(iteration)) break;
  }
  if (ctx_.should_stop() || stopped_) co_return core::stopped();
  co_return co_await finish(why, baseline);
}

asio::awaitable<core::optimizer_outcome> search::finish(core::finish_reason why, const core::evaluation_result& baseline) {
  // Opik scores every candidate again, the seed included (from the baseline here), as a trial.
  std::vector<int> unique;
  std::set<std::string> seen;
  for (int k = 0; k < static_cast<int>(pool_.programs().size()); ++k)
    if (seen.insert(core::to_json(pool_.at(k).prompt).dump()).second) unique.push_back(k);
  std::vector<core::evaluation_request> rescoring;
  for (int k : unique)
    if (k != 0) {
      core::evaluation_request r;
      r.candidate = candidate_of(pool_.at(k), "rescoring of candidate " + std::to_string(k));
      r.metadata = {{"configuration", {{"gepa", {{"phase", "rescoring"}}}}}};
      rescoring.push_back(std::move(r));
    }
  auto results = co_await ctx_.evaluate_all(std::move(rescoring));
  std::map<int, double> opik_score{{0, baseline.score.value_or(0.0)}};
  for (std::size_t r = 0; r < results.size(); ++r) {
    if (results[r].cancelled) co_return core::stopped();
    opik_score[unique[r + 1]] = results[r].score.value_or(0.0);
  }
  // The best by Opik's score, then gepa's, then the later candidate; the seed unless strictly beaten.
  int best = 0;
  for (int k : unique) {
    auto key = std::make_tuple(opik_score[k], pool_.at(k).aggregate);
    if (key >= std::make_tuple(opik_score[best], pool_.at(best).aggregate)) best = k;
  }
  if (opik_score[best] <= opik_score[0]) best = 0;
  ctx_.log("gepa: " + std::to_string(pool_.programs().size()) + " candidates, " + std::to_string(reflection_calls_) +
           " reflection calls, " + std::to_string(used_) + " metric calls; best: " +
           (best == 0 ? std::string("the seed prompt (nothing beat it)") :
                        "candidate " + std::to_string(best) + " (" + four_decimals(opik_score[best]) + ")"));
  co_return core::optimizer_outcome{why, {}};
}

std::string record_inputs(const core::item_result& item, bool rich, const std::string& reference_key) {
  std::ostringstream out;
  const auto& data = item.item->data;
  nlohmann::json inputs = nlohmann::json::object();
  if (rich) {
    for (auto it = data.begin(); it != data.end(); ++it)
      if (it.key() != reference_key) inputs[it.key()] = it.value();
  } else {  // Opik's adapter: `input`, else `question`, else nothing
    inputs["text"] = data.contains("input") ? text_of(data["input"]) : data.contains("question") ? text_of(data["question"]) : "";
  }
  render_value(out, inputs, 3);
  return out.str();
}

}  // namespace

gepa_settings gepa_settings::from(const core::run_spec& spec) {
  gepa_settings s;
  const auto& p = parameters_of(spec);
  s.model = reasoning_model_of(spec);
  s.model_parameters = reasoning_parameters_of(spec);
  s.skip_perfect_score = p.value("skip_perfect_score", s.skip_perfect_score);
  s.perfect_score = p.value("perfect_score", s.perfect_score);
  if (p.contains("reflection_minibatch_size")) s.reflection_minibatch_size = p["reflection_minibatch_size"].get<std::size_t>();
  auto strategy = p.value("candidate_selection_strategy", std::string("pareto"));
  s.selection = strategy == "current_best" || strategy == "best" ? gepa_selection::current_best
                : strategy == "epsilon_greedy"                   ? gepa_selection::epsilon_greedy
                : strategy == "top_k_pareto"                     ? gepa_selection::top_k_pareto
                                                                 : gepa_selection::pareto;
  s.use_merge = p.value("use_merge", s.use_merge);
  s.max_merge_invocations = p.value("max_merge_invocations", s.max_merge_invocations);
  s.no_improvement_iterations = p.value("no_improvement_iterations", s.no_improvement_iterations);
  s.max_reflection_calls = p.value("max_reflection_calls", s.max_reflection_calls);
  s.raise_on_exception = p.value("raise_on_exception", s.raise_on_exception);
  s.rich_feedback = p.value("reflection_feedback", std::string("opik")) == "rich";
  if (p.contains("prompt_overrides") && p["prompt_overrides"].is_object())
    s.reflection_template = p["prompt_overrides"].value("reflection_prompt_template", std::string());
  s.reference_key = reference_key_of(spec);
  return s;
}

core::chat_request gepa::reflection_request(const std::string& current, const core::evaluation_result& minibatch) const {
  std::ostringstream records;
  int n = 0;
  for (const auto& item : minibatch.items) {
    if (n) records << "\n";
    records << "# Example " << ++n << "\n";
    records << "## Inputs\n" << record_inputs(item, settings_.rich_feedback, settings_.reference_key);
    records << "## Generated Outputs\n" << (item.failed ? "(no output: " + item.error + ")" : item.output) << "\n\n";
    const auto& data = item.item->data;
    auto key = settings_.rich_feedback ? settings_.reference_key : std::string("answer");
    records << "## Feedback\nObserved score=" << four_decimals(item.failed ? 0.0 : item.objective)
            << ". Expected answer: " << (data.contains(key) ? text_of(data[key]) : "");
    if (settings_.rich_feedback)
      for (const auto& m : item.scores) records << "\n" << m.name << " " << four_decimals(m.value) << ": " << m.reason;
    records << "\n";
  }
  // Markers are replaced as plain text, as gepa does: braces in either part need no escaping.
  std::string prompt(settings_.reflection_template.empty() ? default_template : settings_.reflection_template);
  auto replace = [&prompt](std::string_view marker, const std::string& with) {
    for (auto at = prompt.find(marker); at != std::string::npos; at = prompt.find(marker, at + with.size()))
      prompt.replace(at, marker.size(), with);
  };
  auto side_info = records.str();
  replace("<curr_param>", current);
  replace("<side_info>", side_info);
  core::chat_request r;
  r.model = settings_.model;
  r.parameters = settings_.model_parameters;
  r.messages = {{core::role::user, std::move(prompt)}};
  return r;
}

asio::awaitable<core::optimizer_outcome> gepa::run(core::optimizer_context& ctx, core::candidate baseline) {
  auto seed = baseline.messages;
  auto base = co_await core::evaluate_or_fail(ctx, std::move(baseline));
  if (base.cancelled) co_return core::stopped();
  if (settings_.skip_perfect_score && base.score.value_or(0.0) >= settings_.perfect_score)
    co_return core::optimizer_outcome{core::finish_reason::perfect_score, "the baseline is perfect already"};
  search s(settings_, *this, ctx, std::move(seed));
  co_return co_await s.run(std::move(base));
}

}  // namespace optd::plugins
