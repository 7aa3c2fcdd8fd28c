#include "engine/judge_journal.hpp"

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/use_awaitable.hpp>

namespace optd::engine {

namespace asio = boost::asio;

namespace {

std::string logprobs_json(const std::vector<core::token_logprob>& lps) {
  if (lps.empty()) return {};
  auto out = nlohmann::json::array();
  for (const auto& t : lps) {
    auto top = nlohmann::json::array();
    for (const auto& [token, lp] : t.top) top.push_back({token, lp});
    out.push_back({{"t", t.token}, {"lp", t.logprob}, {"top", std::move(top)}});
  }
  return out.dump();
}

}  // namespace

core::completion judge_journal::replayed(const store::llm_call_record& call) {
  core::completion c;
  c.text = call.response;
  c.usage = call.tokens;
  c.attempts = 0;
  auto lps = nlohmann::json::parse(call.logprobs_json.empty() ? "[]" : call.logprobs_json, nullptr, false);
  if (lps.is_array())
    for (const auto& t : lps) {
      if (!t.is_object()) continue;
      auto& tok = c.logprobs.emplace_back();
      tok.token = t.value("t", "");
      tok.logprob = t.value("lp", 0.0);
      for (const auto& alt : t.value("top", nlohmann::json::array()))
        if (alt.is_array() && alt.size() == 2 && alt[0].is_string() && alt[1].is_number())
          tok.top.emplace_back(alt[0].get<std::string>(), alt[1].get<double>());
    }
  return c;
}

struct judge_journal::shared_call {
  explicit shared_call(const asio::any_io_executor& ex) : ready(ex, asio::steady_timer::time_point::max()) {}
  bool done = false;
  std::optional<core::completion_result> result;
  asio::steady_timer ready;  // cancelled when done: wakes the evaluations waiting for it
};

asio::awaitable<core::completion_result> judge_journal::evaluation_calls::complete(core::chat_request request,
                                                                               std::string provider) {
  auto key = core::to_json_body(request);
  int occurrence = asked_[key]++;
  store::llm_call_record call;
  auto result = co_await journal_.journaled(std::move(request), std::move(provider), row_.id, occurrence, call);
  if (!result && result.error().code == core::errc::cancelled) interrupted_ = true;
  if (call.status == "answered") {
    row_.judge_cost_usd += call.cost_usd;
    row_.judge_tokens.prompt_tokens += call.tokens.prompt_tokens;
    row_.judge_tokens.completion_tokens += call.tokens.completion_tokens;
    ++row_.judge_calls;
  }
  co_return result;
}

asio::awaitable<core::completion_result> judge_journal::evaluation_calls::complete_once(core::chat_request request,
                                                                                    std::string provider) {
  auto result = co_await journal_.once(std::move(request), std::move(provider));
  if (!result && result.error().code == core::errc::cancelled) interrupted_ = true;
  co_return result;
}

judge_journal::~judge_journal() = default;

asio::awaitable<core::completion_result> judge_journal::journaled(core::chat_request request, std::string provider,
                                                                  std::string evaluation_id, int occurrence,
                                                                  store::llm_call_record& call) {
  auto name = provider.empty() ? task_provider_ : provider;
  auto* p = env_.provider(name);
  if (p == nullptr) co_return core::llm_error{core::errc::not_found, "no provider '" + name + "'", 0, 0};
  request.share_key = run_id_;
  call.run_id = run_id_;
  call.purpose = evaluation_id.empty() ? "judge setup" : "judge";
  call.evaluation_id = std::move(evaluation_id);
  call.request_json = core::to_json_body(request);
  call.model = request.model;
  call.provider = name;
  call.created_ms = env_.clock.now_ms();
  auto hit = env_.db.find_llm_call(run_id_, call.request_json, occurrence, call.evaluation_id);
  if (hit && hit->status == "answered") {
    call = *hit;
    if (!hit->error.empty()) co_return core::llm_error{core::errc::provider_unavailable, hit->error, 0, 0};
    co_return replayed(*hit);
  }
  call.status = "pending";
  if (hit) {
    call.id = hit->id;  // journaled before a crash and never answered: sent again under its row
    call.created_ms = hit->created_ms;
  } else {
    call.id = env_.new_id();
    env_.db.begin_llm_call(call);
  }
  auto answer = co_await p->complete(request);
  if (!answer && answer.error().code == core::errc::cancelled) co_return answer;  // stays pending
  call.status = "answered";
  if (answer) {
    call.response = answer->text;
    call.tokens = answer->usage;
    call.cost_usd = core::cost_usd(env_.price(name, request.model), answer->usage);
    call.latency_us = answer->latency.count();
    call.logprobs_json = logprobs_json(answer->logprobs);
  } else {
    call.error = answer.error().message;
  }
  env_.db.complete_llm_call(call);
  co_return answer;
}

asio::awaitable<core::completion_result> judge_journal::once(core::chat_request request, std::string provider) {
  auto key = provider + "\n" + core::to_json_body(request);
  if (auto it = shared_.find(key); it != shared_.end()) {
    auto shared = it->second;  // kept alive while this evaluation waits
    if (!shared->done) co_await shared->ready.async_wait(asio::as_tuple(asio::use_awaitable));
    if (!shared->done) co_return core::llm_error{core::errc::cancelled, "cancelled", 0, 0};  // this waiter was
    co_return *shared->result;
  }
  auto shared = std::make_shared<shared_call>(co_await asio::this_coro::executor);
  shared_[key] = shared;
  store::llm_call_record call;
  int attempt = shared_attempts_[key]++;  // a failed one is tried again by the next evaluation
  auto result = co_await journaled(std::move(request), std::move(provider), "", attempt, call);
  if (call.status == "answered" && shared_call_) shared_call_(call);
  shared->result = result;
  shared->done = true;
  shared->ready.cancel();
  if (!result) shared_.erase(key);  // a failure is not kept: the next evaluation asks again
  co_return result;
}

}  // namespace optd::engine
