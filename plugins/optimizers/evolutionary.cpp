#include "plugins/optimizers/evolutionary.hpp"

#include <algorithm>
#include <cmath>
#include <map>
#include <set>
#include <sstream>

#include "plugins/optimizers/draws.hpp"
#include "plugins/optimizers/evolution_ops.hpp"
#include "plugins/optimizers/optimizer_settings.hpp"
#include "plugins/optimizers/prompt_edits.hpp"
#include "plugins/structured_output.hpp"

namespace optd::plugins {

namespace asio = boost::asio;

namespace {

constexpr std::string_view writer_instructions =
    "You write prompts for a language model: a list of chat messages with a role (system, user or assistant) "
    "and a content. Template variables are written {{name}} and filled from a dataset: keep every one of "
    "them exactly as written and add no new one. Reply with JSON only.";

struct strategy {
  const char* name;
  const char* what;
};
// Opik's six semantic mutations.
constexpr strategy strategies[] = {
    {"rephrase", "Say the same thing in other words, keeping its meaning."},
    {"simplify", "Make it simpler and shorter, keeping what matters."},
    {"elaborate", "Add detail and clarity where it helps the task."},
    {"restructure", "Reorganize it so that its parts come in a better order."},
    {"focus", "Make it focus on the most important part of the task."},
    {"increase_complexity_and_detail", "Make it more complete and detailed, covering more of the task's cases."},
};
constexpr strategy radical{"radical innovation",
                           "Write a substantially different and better prompt for the same task, from scratch."};

std::string three_decimals(double v) { return fixed(v, 3); }

struct individual {
  core::candidate c;
  fitness fit;
};

class evolution {
 public:
  evolution(const evolutionary_settings& s, const evolutionary& owner, core::optimizer_context& ctx,
            core::prompt_messages seed)
      : s_(s), owner_(owner), ctx_(ctx), seed_(std::move(seed)), editable_(optimizable_messages(seed_)) {}

  asio::awaitable<core::optimizer_outcome> run(const core::evaluation_result& baseline);

 private:
  std::size_t budget() const { return static_cast<std::size_t>(std::max(0, ctx_.limits().max_trials)); }
  double length_of(const core::prompt_messages& p) const { return static_cast<double>(core::to_json(p).dump().size()); }
  // `reply` as the seed's structure: its messages where the seed's may change, with variables kept.
  core::prompt_messages adopt(const core::prompt_messages& base, const core::prompt_messages& reply) const {
    auto out = base;
    for (auto i : editable_)
      if (i < reply.size() && reply[i].role == out[i].role && !reply[i].content.empty()) out[i].content = reply[i].content;
    return keep_variables(seed_, std::move(out));
  }
  individual child_of(core::prompt_messages prompt, std::vector<const individual*> parents, std::string origin) const {
    std::vector<std::string> ids;
    int step = 0;
    for (const auto* p : parents) {
      ids.push_back(p->c.id());
      step = std::max(step, p->c.step + 1);
    }
    return {{std::move(prompt), std::move(origin), std::move(ids), step}, {}};
  }
  // Asks the model and parses its JSON; null on a failure (logged).
  // Requests and labels are built as named locals and moved in: GCC 12 destroys temporaries
  // inside a co_await expression twice.
  asio::awaitable<nlohmann::json> ask(core::chat_request request, std::string what);
  asio::awaitable<std::vector<individual>> grow(const individual& from, std::size_t size, std::string label);
  asio::awaitable<bool> evaluate(std::vector<individual>& population);
  asio::awaitable<void> cross(individual& a, individual& b, int generation);
  asio::awaitable<void> mutate(individual& x, double diversity, int generation);
  asio::awaitable<std::string> mutate_words(const std::string& text);
  void remember(const individual& x) {
    if (!best_ || x.fit.score > best_->fit.score || (x.fit.score == best_->fit.score && x.fit.length < best_->fit.length))
      best_ = x;
  }

  const evolutionary_settings& s_;
  const evolutionary& owner_;
  core::optimizer_context& ctx_;
  core::prompt_messages seed_;
  std::vector<std::size_t> editable_;
  std::string style_;
  std::map<std::string, double> scored_;  // prompt → score
  std::size_t trials_ = 0;                 // fitness evaluations: what max_trials counts
  std::optional<individual> best_;
  bool stopped_ = false;
};

asio::awaitable<nlohmann::json> evolution::ask(core::chat_request request, std::string what) {
  auto reply = co_await ctx_.reason(std::move(request));
  if (!reply) {
    if (reply.error().code == core::errc::cancelled) stopped_ = true;
    else ctx_.log(what + ": the model failed: " + reply.error().message);
    co_return nullptr;
  }
  auto j = extract_json(reply->text);
  if (j.is_null()) ctx_.log(what + ": the reply is not the JSON asked for");
  co_return j;
}

asio::awaitable<std::vector<individual>> evolution::grow(const individual& from, std::size_t size, std::string label) {
  // The seed, fresh prompts and variations: one call each, at once.
  std::vector<individual> out{from};
  auto fresh = std::max<std::size_t>(1, (size - 1) / 5);
  auto variations = size > 1 + fresh ? size - 1 - fresh : 0;
  std::vector<core::chat_request> asks;
  asks.push_back(owner_.population_request(from.c.messages, static_cast<int>(fresh), true, style_));
  if (variations > 0) asks.push_back(owner_.population_request(from.c.messages, static_cast<int>(variations), false, style_));
  auto replies = co_await ctx_.reason_all(std::move(asks));
  std::set<std::string> seen{core::to_json(from.c.messages).dump()};
  for (std::size_t r = 0; r < replies.size(); ++r) {
    auto kind = r == 0 ? "fresh" : "variation";
    if (!replies[r]) {
      if (replies[r].error().code == core::errc::cancelled) stopped_ = true;
      else ctx_.log(label + ": " + kind + " prompts failed: " + replies[r].error().message);
      continue;
    }
    auto j = extract_json(replies[r]->text);
    auto list = j.is_object() && j.contains("prompts") ? j["prompts"] : extract_json(replies[r]->text, true);
    int n = 0;
    for (const auto& p : list.is_array() ? list : nlohmann::json::array()) {
      auto messages = parse_messages(p.is_object() && p.contains("prompt") ? p["prompt"] : p);
      if (!messages) continue;
      auto prompt = adopt(from.c.messages, *messages);
      if (!seen.insert(core::to_json(prompt).dump()).second) continue;
      out.push_back(child_of(std::move(prompt), {&from}, label + ": " + kind + " " + std::to_string(++n)));
    }
  }
  if (out.size() > size) out.resize(size);
  co_return out;
}

asio::awaitable<bool> evolution::evaluate(std::vector<individual>& population) {
  std::vector<core::evaluation_request> requests;
  std::vector<individual*> asked, copies;
  for (auto& x : population) {
    if (x.fit.valid) continue;
    x.fit = {-std::numeric_limits<double>::infinity(), length_of(x.c.messages), true};
    if (trials_ >= budget()) continue;  // out of budget: −∞, unevaluated, as in Opik
    ++trials_;
    auto key = core::to_json(x.c.messages).dump();
    if (auto known = scored_.find(key); known != scored_.end()) {
      x.fit.score = known->second;
      if (std::isinf(x.fit.score)) copies.push_back(&x);  // asked earlier in this batch: its score comes below
      else remember(x);
      continue;
    }
    scored_[key] = -std::numeric_limits<double>::infinity();  // asked once, even if twice in this batch
    core::evaluation_request r;
    r.candidate = x.c;
    requests.push_back(std::move(r));
    asked.push_back(&x);
  }
  ctx_.report_budget(static_cast<double>(trials_), static_cast<double>(budget()), "fitness evaluations");
  auto results = co_await ctx_.evaluate_all(std::move(requests));
  for (std::size_t k = 0; k < results.size(); ++k) {
    if (results[k].cancelled) co_return false;
    asked[k]->fit.score = results[k].score.value_or(0.0);
    scored_[core::to_json(asked[k]->c.messages).dump()] = asked[k]->fit.score;
    remember(*asked[k]);
  }
  for (auto* x : copies) x->fit.score = scored_[core::to_json(x->c.messages).dump()];
  co_return true;
}

asio::awaitable<void> evolution::cross(individual& a, individual& b, int generation) {
  auto label = "generation " + std::to_string(generation);
  std::optional<std::pair<core::prompt_messages, core::prompt_messages>> children;
  if (s_.enable_llm_crossover) {
    auto request = owner_.crossover_request(a.c.messages, b.c.messages, style_);
    auto what = label + ": crossover";
    auto j = co_await ask(std::move(request), std::move(what));
    if (stopped_) co_return;
    if (j.is_object() && j.contains("child_1") && j.contains("child_2")) {
      auto c1 = parse_messages(j["child_1"]), c2 = parse_messages(j["child_2"]);
      if (c1 && c2) children.emplace(adopt(a.c.messages, *c1), adopt(b.c.messages, *c2));
    }
  }
  if (!children) {  // by sentences or words, message by message
    auto c1 = a.c.messages, c2 = b.c.messages;
    for (auto i : editable_)
      if (i < c2.size())
        if (auto cut = crossover_texts(a.c.messages[i].content, b.c.messages[i].content, ctx_.rng())) {
          c1[i].content = cut->first;
          c2[i].content = cut->second;
        }
    children.emplace(keep_variables(seed_, std::move(c1)), keep_variables(seed_, std::move(c2)));
  }
  auto x = child_of(std::move(children->first), {&a, &b}, label + ": crossover");
  auto y = child_of(std::move(children->second), {&a, &b}, label + ": crossover");
  a = std::move(x);
  b = std::move(y);
}

asio::awaitable<std::string> evolution::mutate_words(const std::string& text) {
  auto w = words(text);
  if (w.empty()) co_return text;
  double u = draw_unit(ctx_.rng());
  if (u >= 0.3 && u < 0.6) {
    if (auto swapped = swap_words(text, ctx_.rng())) co_return *swapped;
    co_return text;
  }
  auto index = draw(ctx_.rng(), w.size());
  auto request = owner_.word_request(w[index], text, u < 0.3);
  std::string what = "a word mutation";
  auto j = co_await ask(std::move(request), std::move(what));
  if (!j.is_object() || !j.contains("word") || !j["word"].is_string() || j["word"].get<std::string>().empty()) co_return text;
  co_return replace_word(text, index, j["word"].get<std::string>());
}

asio::awaitable<void> evolution::mutate(individual& x, double diversity, int generation) {
  auto label = "generation " + std::to_string(generation) + ": mutation";
  double u = draw_unit(ctx_.rng());
  auto [semantic, structural] = diversity < 0.7 ? std::pair{0.5, 0.8} : std::pair{0.4, 0.7};
  auto prompt = x.c.messages;
  if (u > semantic) {  // by words (u > structural) or by sentences, message by message
    for (auto i : editable_) {
      std::optional<std::string> text;
      if (u <= structural) text = restructure(prompt[i].content, ctx_.rng());
      if (!text) text = co_await mutate_words(prompt[i].content);
      if (stopped_) co_return;
      prompt[i].content = *text;
    }
    prompt = keep_variables(seed_, std::move(prompt));
  } else {  // semantic: a rewrite by the model
    const auto& how = draw_unit(ctx_.rng()) < 0.1 ? radical : strategies[draw(ctx_.rng(), std::size(strategies))];
    auto request = owner_.mutation_request(prompt, how.name, style_);
    auto what = label + " (" + how.name + ")";
    auto j = co_await ask(std::move(request), std::move(what));
    if (stopped_) co_return;
    if (j.is_object() && j.contains("messages"))
      if (auto m = parse_messages(j["messages"])) prompt = adopt(prompt, *m);
  }
  if (prompt == x.c.messages) co_return;  // unchanged: it keeps its fitness
  const individual parent = x;
  x = child_of(std::move(prompt), {&parent}, label);
}

asio::awaitable<core::optimizer_outcome> evolution::run(const core::evaluation_result& baseline) {
  auto size = static_cast<std::size_t>(std::max(2, s_.population_size));
  if (s_.fit_population_to_budget) size = std::min(size, std::max<std::size_t>(2, budget() / 2));
  style_ = s_.output_style_guidance;
  if (s_.infer_output_style) {
    std::vector<core::dataset_item> examples(ctx_.sample().begin(),
                                             ctx_.sample().begin() + static_cast<std::ptrdiff_t>(std::min<std::size_t>(5, ctx_.sample().size())));
    auto request = owner_.style_request(examples);
    std::string what = "inferring the output style";
    auto j = co_await ask(std::move(request), std::move(what));
    if (stopped_) co_return core::stopped();
    if (j.is_object() && j.contains("style") && j["style"].is_string()) style_ = j["style"].get<std::string>();
  }
  // The seed is individual 0; its fitness is the baseline's (a trial, as Opik counts it).
  individual seed{{seed_, "baseline"}, {}};
  scored_[core::to_json(seed_).dump()] = baseline.score.value_or(0.0);
  std::string first = "generation 0";
  auto population = co_await grow(seed, size, std::move(first));
  if (stopped_) co_return core::stopped();
  if (!co_await evaluate(population)) co_return core::stopped();
  if (!best_) best_ = individual{{seed_, "baseline"}, {baseline.score.value_or(0.0), length_of(seed_), true}};
  ctx_.log("generation 0: " + std::to_string(population.size()) + " individuals, best " + three_decimals(best_->fit.score));
  auto perfect = [&] { return s_.skip_perfect_score && best_->fit.score >= s_.perfect_score; };
  if (perfect()) co_return core::optimizer_outcome{core::finish_reason::perfect_score, {}};

  std::vector<double> history;  // the population's best score, generation by generation
  int stale = 0, stagnation = 0, no_improvement = 0;
  double overall = best_->fit.score;
  auto why = core::finish_reason::completed;
  for (int g = 1; g <= s_.num_generations; ++g) {
    if (ctx_.should_stop()) co_return core::stopped();
    if (trials_ >= budget()) {
      why = core::finish_reason::max_trials;
      break;
    }
    auto label = "generation " + std::to_string(g);
    std::vector<fitness> fit;
    for (const auto& x : population) fit.push_back(x.fit);
    double current = fit[best_of(fit, 1).front()].score;
    stale = !history.empty() && current < history.back() * 1.01 ? stale + 1 : 0;
    history.push_back(current);
    if (stale >= 3) {  // restart from the best
      ctx_.log(label + ": no progress for 3 generations; the population starts again from the best");
      auto restart = label + " restart";
      population = co_await grow(*best_, size, std::move(restart));
      if (stopped_ || !co_await evaluate(population)) co_return core::stopped();
      if (perfect()) co_return core::optimizer_outcome{core::finish_reason::perfect_score, {}};
      stale = 0;
      fit.clear();
      for (const auto& x : population) fit.push_back(x.fit);
    }
    std::vector<std::size_t> chosen;
    if (s_.enable_moo) {
      chosen = nsga2(fit, size);
    } else {
      auto elites = std::min<std::size_t>(static_cast<std::size_t>(std::max(0, s_.elitism_size)), size);
      chosen = best_of(fit, elites);
      auto rest = tournament(fit, size - chosen.size(), static_cast<std::size_t>(std::max(1, s_.tournament_size)), ctx_.rng());
      chosen.insert(chosen.end(), rest.begin(), rest.end());
    }
    std::vector<individual> offspring;
    for (auto i : chosen) offspring.push_back(population[i]);
    for (std::size_t i = 0; i + 1 < offspring.size(); i += 2)
      if (draw_unit(ctx_.rng()) < s_.crossover_rate) {
        co_await cross(offspring[i], offspring[i + 1], g);
        if (stopped_) co_return core::stopped();
      }
    std::vector<std::string> texts;
    for (const auto& x : population) texts.push_back(core::to_json(x.c.messages).dump());
    double spread = diversity(texts);
    double rate = s_.adaptive_mutation ? adaptive_rate(s_.mutation_rate, history, spread, stagnation) : s_.mutation_rate;
    for (auto& x : offspring)
      if (draw_unit(ctx_.rng()) < rate) {
        co_await mutate(x, spread, g);
        if (stopped_) co_return core::stopped();
      }
    if (!co_await evaluate(offspring)) co_return core::stopped();
    population = std::move(offspring);
    ctx_.log(label + ": best " + three_decimals(best_->fit.score) + ", mutation rate " + three_decimals(rate) +
             ", diversity " + three_decimals(spread));
    if (best_->fit.score > overall) {
      overall = best_->fit.score;
      no_improvement = 0;
    } else if (++no_improvement >= 5) {
      why = core::finish_reason::no_improvement;
      break;
    }
    if (perfect()) {
      why = core::finish_reason::perfect_score;
      break;
    }
  }
  if (why == core::finish_reason::completed && trials_ >= budget()) why = core::finish_reason::max_trials;
  ctx_.log("evolutionary: " + std::to_string(trials_) + " fitness evaluations; best " + three_decimals(best_->fit.score) +
           (best_->c.messages == seed_ ? " (the seed prompt)" : " (" + best_->c.origin + ")"));
  co_return core::optimizer_outcome{why, {}};
}

std::string prompt_text(const core::prompt_messages& p) { return core::to_json(p).dump(2); }

}  // namespace

evolutionary_settings evolutionary_settings::from(const core::run_spec& spec) {
  evolutionary_settings s;
  const auto& p = parameters_of(spec);
  s.model = reasoning_model_of(spec);
  s.model_parameters = reasoning_parameters_of(spec);
  s.population_size = p.value("population_size", s.population_size);
  s.num_generations = p.value("num_generations", s.num_generations);
  s.mutation_rate = p.value("mutation_rate", s.mutation_rate);
  s.crossover_rate = p.value("crossover_rate", s.crossover_rate);
  s.tournament_size = p.value("tournament_size", s.tournament_size);
  s.elitism_size = p.value("elitism_size", s.elitism_size);
  s.adaptive_mutation = p.value("adaptive_mutation", s.adaptive_mutation);
  s.enable_moo = p.value("enable_moo", s.enable_moo);
  s.enable_llm_crossover = p.value("enable_llm_crossover", s.enable_llm_crossover);
  if (auto style = p.value("output_style_guidance", std::string()); !style.empty()) s.output_style_guidance = style;
  s.infer_output_style = p.value("infer_output_style", s.infer_output_style);
  s.skip_perfect_score = p.value("skip_perfect_score", s.skip_perfect_score);
  s.perfect_score = p.value("perfect_score", s.perfect_score);
  s.fit_population_to_budget = p.value("fit_population_to_budget", s.fit_population_to_budget);
  return s;
}

namespace {

core::chat_request writer(const evolutionary_settings& s, std::string user, nlohmann::json format) {
  core::chat_request r;
  r.model = s.model;
  r.parameters = s.model_parameters;
  r.parameters["response_format"] = std::move(format);
  r.messages = {{core::role::system, std::string(writer_instructions)}, {core::role::user, std::move(user)}};
  return r;
}

}  // namespace

core::chat_request evolutionary::population_request(const core::prompt_messages& prompt, int count, bool fresh,
                                                    const std::string& style) const {
  std::ostringstream user;
  user << "Prompt:\n" << prompt_text(prompt) << "\n\n";
  if (fresh)
    user << "Work out the task this prompt is for, then write exactly " << count
         << " new prompts for that task, each a different approach from the start, not an edit of this one.";
  else
    user << "Write exactly " << count << " variations of this prompt, each a different improvement of it.";
  user << "\nThe answers should follow this style: " << style << "\n";
  auto item = object_schema({{"prompt", messages_schema()}});
  return writer(settings_, user.str(),
                response_format(fresh ? "FreshPrompts" : "PromptVariations", {{"prompts", {{"type", "array"}, {"items", item}}}}));
}

core::chat_request evolutionary::crossover_request(const core::prompt_messages& a, const core::prompt_messages& b,
                                                   const std::string& style) const {
  std::ostringstream user;
  user << "Parent 1:\n" << prompt_text(a) << "\n\nParent 2:\n" << prompt_text(b) << "\n\n"
       << "Write two children that each combine the best parts of both parents, with the parents' messages "
          "and roles. The answers should follow this style: "
       << style << "\n";
  return writer(settings_, user.str(), response_format("PromptCrossover", {{"child_1", messages_schema()}, {"child_2", messages_schema()}}));
}

core::chat_request evolutionary::mutation_request(const core::prompt_messages& prompt, const std::string& strategy_name,
                                                  const std::string& style) const {
  std::string what = radical.what;
  for (const auto& s : strategies)
    if (strategy_name == s.name) what = s.what;
  std::ostringstream user;
  user << "Prompt:\n" << prompt_text(prompt) << "\n\nMutation (" << strategy_name << "): " << what
       << "\nKeep the prompt's messages and roles. The answers should follow this style: " << style << "\n";
  return writer(settings_, user.str(), response_format("MutatedPrompt", {{"messages", messages_schema()}}));
}

core::chat_request evolutionary::word_request(const std::string& word, const std::string& context, bool synonym) const {
  std::string user = (synonym ? "Give one synonym of the word \"" : "Give one word or short phrase that says \"") + word +
                     (synonym ? "\" as it is used in this text" : "\" better in this text") + ":\n" + context + "\n";
  return writer(settings_, std::move(user), response_format("WordReplacement", {{"word", string_schema()}}));
}

core::chat_request evolutionary::style_request(const std::vector<core::dataset_item>& examples) const {
  std::ostringstream user;
  user << "Examples of the task's inputs and expected outputs:\n";
  for (const auto& e : examples) user << e.data.dump() << "\n";
  user << "\nDescribe in one or two sentences the style the answers should have (length, format, tone).\n";
  return writer(settings_, user.str(), response_format("OutputStyle", {{"style", string_schema()}}));
}

asio::awaitable<core::optimizer_outcome> evolutionary::run(core::optimizer_context& ctx, core::candidate baseline) {
  auto seed = baseline.messages;
  auto base = co_await core::evaluate_or_fail(ctx, std::move(baseline));
  if (base.cancelled) co_return core::stopped();
  if (settings_.skip_perfect_score && base.score.value_or(0.0) >= settings_.perfect_score)
    co_return core::optimizer_outcome{core::finish_reason::perfect_score, "the baseline is perfect already"};
  evolution e(settings_, *this, ctx, std::move(seed));
  co_return co_await e.run(base);
}

}  // namespace optd::plugins
