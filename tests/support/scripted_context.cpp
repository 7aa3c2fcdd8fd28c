#include "support/scripted_context.hpp"

#include <algorithm>

#include <boost/asio/io_context.hpp>

#include "support/test_support.hpp"

namespace optd::test {

scripted_context::scripted_context(std::vector<core::dataset_item> sample, scorer score, reasoner reason,
                                   core::run_limits limits, std::uint64_t seed)
    : sample_(std::move(sample)), score_(std::move(score)), reason_(std::move(reason)), limits_(limits), rng_(seed) {}

std::vector<core::dataset_item> scripted_context::items(int n) {
  std::vector<core::dataset_item> out;
  for (int i = 1; i <= n; ++i)
    out.push_back({"item-" + std::to_string(i), {{"question", "q" + std::to_string(i)}, {"answer", std::to_string(i)}}});
  return out;
}

bool scripted_context::has(const core::prompt_messages& prompt, std::string_view word) {
  return std::any_of(prompt.begin(), prompt.end(), [&](const auto& m) { return m.content.find(word) != std::string::npos; });
}

scripted_context::scored scripted_context::alpha_beta(const core::prompt_messages& prompt, const core::dataset_item& item) {
  if (has(prompt, "broken")) return {"", 0, "HTTP 503", true};
  bool odd = std::stoi(item.data["answer"].get<std::string>()) % 2 == 1;
  bool right = odd ? has(prompt, "alpha") : has(prompt, "beta");
  return {right ? "right" : "wrong", right ? 1.0 : 0.0, right ? "match" : odd ? "needs alpha" : "needs beta"};
}

core::run_limits scripted_context::trials(int max_trials) {
  core::run_limits l;
  l.max_trials = max_trials;
  return l;
}

std::string scripted_context::schema_of(const core::chat_request& request) {
  const auto& p = request.parameters;
  return p.contains("response_format") ? p["response_format"]["json_schema"].value("name", "") : "";
}

scripted_context::reasoner scripted_context::replies(std::vector<std::string> list) {
  auto next = std::make_shared<std::size_t>(0);
  return [list = std::move(list), next](const core::chat_request&) -> std::optional<std::string> {
    if (*next >= list.size()) return std::nullopt;
    return list[(*next)++];
  };
}

boost::asio::awaitable<std::vector<core::evaluation_result>> scripted_context::evaluate_all(
    std::vector<core::evaluation_request> asked) {
  evaluation_batches.push_back(asked.size());
  std::vector<core::evaluation_result> out;
  for (auto& request : asked) {
    auto& r = out.emplace_back();
    if (stop) {
      r.cancelled = true;
      continue;
    }
    switch (request.type) {
      case core::experiment_type::trial: ++counts_.trials; break;
      case core::experiment_type::mini_batch: ++counts_.mini_batches; break;
      case core::experiment_type::mutation: ++counts_.mutations; break;
    }
    r.number = counts_.experiments();
    r.experiment_id = "experiment-" + std::to_string(r.number);
    r.candidate_id = request.candidate.id();
    r.type = request.type;
    std::vector<const core::dataset_item*> chosen;
    if (request.item_ids.empty()) {
      for (const auto& i : sample_) chosen.push_back(&i);
    } else {
      for (const auto& id : request.item_ids) {
        auto it = std::find_if(sample_.begin(), sample_.end(), [&](const auto& i) { return i.id == id; });
        if (it == sample_.end()) throw std::logic_error("asked for an item not in the sample: " + id);
        chosen.push_back(&*it);
      }
    }
    counts_.item_evaluations += static_cast<long long>(chosen.size());
    double sum = 0;
    int scored_items = 0;
    for (const auto* item : chosen) {
      auto s = score_(request.candidate.messages, *item);
      auto& i = r.items.emplace_back();
      i.item = item;
      if (s.failed) {
        i.failed = true;
        i.error = s.reason.empty() ? "provider unavailable" : s.reason;
        ++r.failed;
        continue;
      }
      i.output = s.output;
      i.objective = s.value;
      i.scores.push_back({"score", s.value, s.reason});
      sum += s.value;
      ++scored_items;
    }
    if (scored_items > 0) r.score = sum / scored_items;
    evaluations.push_back(request);
    results.push_back(r);
  }
  co_return out;
}

boost::asio::awaitable<std::vector<core::completion_result>> scripted_context::reason_all(
    std::vector<core::chat_request> asked) {
  reasoning_batches.push_back(asked.size());
  std::vector<core::completion_result> out;
  out.reserve(asked.size());
  for (auto& request : asked) {
    ++counts_.reasoning_calls;
    if (stop) {
      out.emplace_back(boost::system::in_place_error, core::errc::cancelled, "cancelled");
      continue;
    }
    requests.push_back(request);
    auto reply = reason_(request);
    if (!reply) {
      out.emplace_back(boost::system::in_place_error, core::errc::provider_unavailable, "no reply", 503u, 1);
      continue;
    }
    core::completion c;
    c.text = std::move(*reply);
    out.emplace_back(boost::system::in_place_value, std::move(c));
  }
  co_return out;
}

core::optimizer_outcome scripted_context::run(core::optimizer& opt, core::prompt_messages baseline) {
  boost::asio::io_context ioc;
  core::candidate seed{std::move(baseline), "baseline"};
  return *test::run(ioc, opt.run(*this, std::move(seed)));
}

std::vector<const core::evaluation_result*> scripted_context::of_type(core::experiment_type type) const {
  std::vector<const core::evaluation_result*> out;
  for (const auto& r : results)
    if (r.type == type) out.push_back(&r);
  return out;
}

}  // namespace optd::test
