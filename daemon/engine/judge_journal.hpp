#pragma once
// The calls of a run's judge metrics: each is journaled as pending before it is sent and answered
// when it is (store::llm_call_record, purpose "judge" with its evaluation's id), goes through the
// run's providers (their slots and fair share, by the run's share key), and is costed at the
// provider's prices; its cost and tokens are added to its evaluation's row, which counts them into
// the run's spend once the row is committed. A resumed run gets each journaled answer back for
// the same request, and sends again only what was never answered.
//
// Calls that serve the whole run (complete_once: GEval's evaluation steps) are made by the first
// evaluation that asks; the others wait for that answer. They are journaled without an
// evaluation (purpose "judge setup") and reported through on_shared_call, to be counted and
// traced as the run's own calls. Use from the event loop thread.
#include <functional>
#include <map>
#include <memory>
#include <string>

#include "core/evaluation_metric.hpp"
#include "engine/run_environment.hpp"

namespace optd::engine {

class judge_journal {
 public:
  judge_journal(run_environment& env, std::string run_id, std::string task_provider)
      : env_(env), run_id_(std::move(run_id)), task_provider_(std::move(task_provider)) {}
  ~judge_journal();

  // What the judge metrics of one evaluation call through; their cost goes into its row.
  class evaluation_calls final : public core::judge_context {
   public:
    evaluation_calls(judge_journal& journal, store::evaluation_record& row) : journal_(journal), row_(row) {}
    boost::asio::awaitable<core::completion_result> complete(core::chat_request request, std::string provider) override;
    boost::asio::awaitable<core::completion_result> complete_once(core::chat_request request, std::string provider) override;
    // A call was cancelled (the run stops): the judges' verdict is not the evaluation's.
    bool interrupted() const noexcept { return interrupted_; }

   private:
    judge_journal& journal_;
    store::evaluation_record& row_;
    std::map<std::string, int> asked_;  // request → times asked: a replay finds each in order
    bool interrupted_ = false;
  };
  evaluation_calls calls_for(store::evaluation_record& row) { return {*this, row}; }
  void on_shared_call(std::function<void(const store::llm_call_record&)> f) { shared_call_ = std::move(f); }

  // A call's answer as the journal holds it (text, usage, log-probabilities).
  static core::completion replayed(const store::llm_call_record& call);

 private:
  struct shared_call;
  // One journaled call: found in the journal (the `occurrence`-th with this request), or sent.
  // `call` receives its record.
  boost::asio::awaitable<core::completion_result> journaled(core::chat_request request, std::string provider,
                                                            std::string evaluation_id, int occurrence,
                                                            store::llm_call_record& call);
  boost::asio::awaitable<core::completion_result> once(core::chat_request request, std::string provider);

  run_environment& env_;
  std::string run_id_;
  std::string task_provider_;
  std::function<void(const store::llm_call_record&)> shared_call_;
  std::map<std::string, std::shared_ptr<shared_call>> shared_;  // by provider and request
  std::map<std::string, int> shared_attempts_;
};

}  // namespace optd::engine
