#include "store/store.hpp"

#include <gtest/gtest.h>
#include <sqlite3.h>

#include "support/test_support.hpp"

namespace optd::store {
namespace {

class store_test : public ::testing::Test {
 protected:
  std::string path_ = test::temp_dir("store") + "/optd.db";
  int next_ = 0;
  std::function<std::string()> ids_ = [this] { return "id-" + std::to_string(++next_); };

  // Runs `sql` on the file behind the store's back, as an older optd or a person would.
  void raw_sql(const std::string& sql) {
    sqlite3* raw = nullptr;
    ASSERT_EQ(sqlite3_open(path_.c_str(), &raw), SQLITE_OK);
    EXPECT_EQ(sqlite3_exec(raw, sql.c_str(), nullptr, nullptr, nullptr), SQLITE_OK) << sqlite3_errmsg(raw);
    sqlite3_close(raw);
  }
  // The first column of the first row `sql` gives.
  int raw_int(const std::string& sql) {
    sqlite3* raw = nullptr;
    EXPECT_EQ(sqlite3_open(path_.c_str(), &raw), SQLITE_OK);
    sqlite3_stmt* q = nullptr;
    sqlite3_prepare_v2(raw, sql.c_str(), -1, &q, nullptr);
    sqlite3_step(q);
    int n = sqlite3_column_int(q, 0);
    sqlite3_finalize(q);
    sqlite3_close(raw);
    return n;
  }

  run_record run(const std::string& id) {
    run_record r;
    r.id = id;
    r.name = "n";
    r.status = core::run_status::running;
    r.objective_name = "equals";
    r.dataset_name = "d";
    r.spec_json = "{}";
    return r;
  }
};

TEST_F(store_test, dataset_items_are_kept_in_order_and_replaced_only_when_the_content_changes) {
  store db(path_);
  std::vector<nlohmann::json> rows{{{"q", "a"}}, {{"q", "b"}}};
  auto id = db.put_dataset("d", rows, "h1", ids_, 1);
  auto items = db.dataset_items("d");
  ASSERT_TRUE(items);
  ASSERT_EQ(items->size(), 2u);
  EXPECT_EQ((*items)[1].data["q"], "b");
  auto first_item_id = (*items)[0].id;

  EXPECT_EQ(db.put_dataset("d", rows, "h1", ids_, 2), id);
  EXPECT_EQ(db.dataset_items("d")->at(0).id, first_item_id);  // same content: same items

  EXPECT_EQ(db.put_dataset("d", {{{"q", "c"}}}, "h2", ids_, 3), id);
  ASSERT_EQ(db.dataset_items("d")->size(), 1u);
  EXPECT_EQ(db.dataset_items("d")->at(0).data["q"], "c");
  EXPECT_FALSE(db.dataset_items("missing"));
}

TEST_F(store_test, evaluations_are_journaled_pending_then_completed) {
  store db(path_);
  db.insert_run(run("r1"));
  trial_record t;
  t.id = "t1";
  t.run_id = "r1";
  t.number = 1;
  t.prompt_json = "[]";
  db.insert_trial(t);
  std::vector<evaluation_record> rows(3);
  for (int i = 0; i < 3; ++i) {
    rows[static_cast<std::size_t>(i)].id = "e" + std::to_string(i);
    rows[static_cast<std::size_t>(i)].run_id = "r1";
    rows[static_cast<std::size_t>(i)].trial_id = "t1";
    rows[static_cast<std::size_t>(i)].request_json = R"({"model":"m"})";
  }
  db.begin_evaluations({&rows[0], &rows[1], &rows[2]});
  EXPECT_EQ(db.count_evaluations("r1", "pending"), 3);

  auto done = rows[1];
  done.status = "completed";
  done.output = "4";
  done.objective = 1.0;
  done.tokens = {10, 2};
  done.cost_usd = 0.5;
  db.complete_evaluation(done);
  EXPECT_EQ(db.count_evaluations("r1", "pending"), 2);
  EXPECT_EQ(db.count_evaluations("r1", "completed"), 1);
  auto stored = db.evaluations("t1");
  ASSERT_EQ(stored.size(), 3u);
  EXPECT_EQ(stored[1].output, "4");
  EXPECT_EQ(stored[1].tokens.completion_tokens, 2);
  EXPECT_EQ(*stored[1].objective, 1.0);
  EXPECT_FALSE(stored[0].objective);
}

TEST_F(store_test, runs_survive_reopening_and_are_found_by_unique_prefix) {
  {
    store db(path_);
    auto r = run("0197aaaa-0000-7000-8000-000000000001");
    db.insert_run(r);
    db.insert_run(run("0197aaab-0000-7000-8000-000000000002"));
    r.status = core::run_status::completed;
    r.best_score = 0.9;
    r.baseline_score = 0.1;
    db.update_run(r);
    db.append_log(r.id, 5, "hello");
  }
  store db(path_);
  auto r = db.find_run("0197aaaa");
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, core::run_status::completed);
  EXPECT_EQ(*r->best_score, 0.9);
  EXPECT_FALSE(db.find_run("0197aaa"));  // ambiguous
  EXPECT_FALSE(db.find_run("nope"));
  EXPECT_EQ(db.list_runs().size(), 2u);
  ASSERT_EQ(db.logs(r->id).size(), 1u);
  EXPECT_EQ(db.logs(r->id)[0].second, "hello");
}

TEST_F(store_test, a_version_1_store_is_migrated_and_keeps_its_runs) {
  raw_sql("CREATE TABLE runs(id TEXT PRIMARY KEY, name TEXT NOT NULL, status TEXT NOT NULL, "
          "objective_name TEXT NOT NULL, dataset_name TEXT NOT NULL, spec TEXT NOT NULL, created_ms "
          "INTEGER NOT NULL, started_ms INTEGER NOT NULL, ended_ms INTEGER NOT NULL, finish_reason TEXT "
          "NOT NULL, error TEXT NOT NULL, baseline_score REAL, best_score REAL, best_trial_id TEXT NOT "
          "NULL, cost_usd REAL NOT NULL, tokens_in INTEGER NOT NULL, tokens_out INTEGER NOT NULL, "
          "llm_calls INTEGER NOT NULL);"
          "INSERT INTO runs VALUES('old','n','completed','equals','d','{}',1,1,2,'max_trials','',0.1,"
          "0.5,'t',0.01,1,2,3);"
          "PRAGMA user_version=1;");
  store db(path_);
  auto r = db.find_run("old");
  ASSERT_TRUE(r);
  EXPECT_EQ(*r->best_score, 0.5);
  EXPECT_EQ(r->metadata_json, "{}");
  EXPECT_EQ(r->studio_config_json, "");
}

TEST_F(store_test, a_version_2_store_gains_what_opiks_experiments_carry_and_keeps_its_trials) {
  raw_sql("CREATE TABLE trials(id TEXT PRIMARY KEY, run_id TEXT NOT NULL, number INTEGER NOT NULL, "
          "origin TEXT NOT NULL, prompt TEXT NOT NULL, status TEXT NOT NULL, score REAL, evaluated_count "
          "INTEGER NOT NULL, failed_count INTEGER NOT NULL, median_duration_s REAL NOT NULL, cost_usd REAL "
          "NOT NULL, tokens_in INTEGER NOT NULL, tokens_out INTEGER NOT NULL, started_ms INTEGER NOT NULL, "
          "ended_ms INTEGER NOT NULL);"
          "INSERT INTO trials VALUES('t1','r1',1,'baseline','[]','completed',0.5,4,0,1.5,0.01,10,2,1,2);"
          "CREATE TABLE evaluations(id TEXT PRIMARY KEY, run_id TEXT NOT NULL, trial_id TEXT NOT NULL, item_id TEXT "
          "NOT NULL, request TEXT NOT NULL, status TEXT NOT NULL, output TEXT NOT NULL, scores TEXT NOT NULL, "
          "objective REAL, tokens_in INTEGER NOT NULL, tokens_out INTEGER NOT NULL, cost_usd REAL NOT NULL, "
          "latency_us INTEGER NOT NULL, attempts INTEGER NOT NULL, error TEXT NOT NULL, created_ms INTEGER NOT "
          "NULL, completed_ms INTEGER NOT NULL);"
          "CREATE INDEX evaluations_by_run ON evaluations(run_id, status);"
          "PRAGMA user_version=2;");
  store db(path_);
  auto t = db.trial_by_id("t1");
  ASSERT_TRUE(t);
  EXPECT_EQ(*t->score, 0.5);
  EXPECT_EQ(t->type, "trial");
  EXPECT_EQ(t->candidate_id, "");
  EXPECT_EQ(t->experiment_scores_json, "[]");
  store again(path_);  // opening a current store changes nothing
  EXPECT_EQ(again.trial_by_id("t1")->origin, "baseline");
  // The index every completion had to rewrite is gone; the one by run alone took its place.
  EXPECT_EQ(raw_int("SELECT count(*) FROM sqlite_master WHERE name='evaluations_by_run'"), 0);
  EXPECT_EQ(raw_int("SELECT count(*) FROM sqlite_master WHERE name='evaluations_of_run'"), 1);
}

TEST_F(store_test, per_metric_best_means_kept_per_finished_trial_and_delete) {
  store db(path_);
  db.insert_run(run("r1"));
  for (int t = 1; t <= 2; ++t) {
    trial_record tr;
    tr.id = "t" + std::to_string(t);
    tr.run_id = "r1";
    tr.number = t;
    tr.prompt_json = "[]";
    db.insert_trial(tr);
    std::vector<evaluation_record> rows(2);
    for (int i = 0; i < 2; ++i) {
      auto& e = rows[static_cast<std::size_t>(i)];
      e.id = tr.id + "e" + std::to_string(i);
      e.run_id = "r1";
      e.trial_id = tr.id;
      e.status = "completed";
      double eq = t == 1 ? 0.0 : (i == 0 ? 1.0 : 0.0);
      e.scores_json = nlohmann::json::array({{{"name", "equals"}, {"value", eq}}, {{"name", "levenshtein_ratio"}, {"value", t == 1 ? 0.8 : 0.6}}}).dump();
    }
    db.begin_evaluations({&rows[0], &rows[1]});
  }
  auto means = db.best_metric_means("r1");
  ASSERT_EQ(means.size(), 2u);
  EXPECT_EQ(means[0].first, "equals");
  EXPECT_DOUBLE_EQ(means[0].second, 0.5);  // trial 2's mean; trial 1 scored 0
  EXPECT_DOUBLE_EQ(means[1].second, 0.8);  // trial 1's mean

  // Finished trials keep their means; reading them gives the same answer, and so does a store
  // whose finished trials have none kept (written before optd kept them).
  auto cached = [&] { return raw_int("SELECT count(*) FROM trial_summaries"); };
  for (auto t : db.trials("r1")) {
    t.status = "completed";
    db.update_trial(t);
  }
  EXPECT_EQ(cached(), 2);
  EXPECT_EQ(db.best_metric_means("r1"), means);
  raw_sql("DELETE FROM trial_summaries WHERE trial_id='t2'");
  EXPECT_EQ(db.best_metric_means("r1"), means);

  db.delete_run("r1");
  EXPECT_FALSE(db.find_run("r1"));
  EXPECT_TRUE(db.trials("r1").empty());
  EXPECT_EQ(db.count_evaluations("r1"), 0);
  EXPECT_EQ(cached(), 0);
}

TEST_F(store_test, an_ended_trials_experiment_summary_is_kept_and_read_back_without_its_evaluations) {
  store db(path_);
  auto r = run("r1");
  r.objective_name = "quality";
  db.insert_run(r);
  trial_record tr;
  tr.id = "t1";
  tr.run_id = "r1";
  tr.number = 1;
  tr.prompt_json = "[]";
  db.insert_trial(tr);
  std::vector<evaluation_record> rows(5);
  std::vector<const evaluation_record*> ptrs;
  for (int i = 0; i < 5; ++i) {
    auto& e = rows[static_cast<std::size_t>(i)];
    e.id = "e" + std::to_string(i);
    e.run_id = "r1";
    e.trial_id = "t1";
    e.status = i == 4 ? "pending" : i == 3 ? "failed" : "completed";  // 4 finished, 3 scored
    e.latency_us = (i + 1) * 1000;                                      // 1..4 ms finished
    e.tokens = {10, 2};
    if (e.status == "completed") {
      e.objective = i * 0.5;  // 0, 0.5, 1
      e.scores_json = nlohmann::json::array({{{"name", "equals"}, {"value", 1.0}}}).dump();
    }
    ptrs.push_back(&e);
  }
  db.begin_evaluations(ptrs);
  auto check = [](const experiment_summary& s) {
    EXPECT_EQ(s.trace_count, 4);
    EXPECT_DOUBLE_EQ(s.p50_ms, 2.5);
    EXPECT_DOUBLE_EQ(s.p99_ms, 3.97);
    EXPECT_EQ(s.prompt_tokens, 40);
    EXPECT_EQ(s.completion_tokens, 8);
    ASSERT_EQ(s.feedback_scores.size(), 2u);  // the objective's and each metric's, by name
    EXPECT_EQ(s.feedback_scores[0].first, "equals");
    EXPECT_DOUBLE_EQ(s.feedback_scores[0].second, 1.0);
    EXPECT_EQ(s.feedback_scores[1].first, "quality");
    EXPECT_DOUBLE_EQ(s.feedback_scores[1].second, 0.5);
  };
  check(db.summary_of(tr));  // running: summed now
  tr.status = "completed";
  db.update_trial(tr);
  // Ended: read from its kept row, even once its evaluations say otherwise.
  raw_sql("UPDATE evaluations SET latency_us = 1000000 WHERE trial_id = 't1'");
  check(db.summary_of(tr));
  raw_sql("DELETE FROM trial_summaries");
  EXPECT_DOUBLE_EQ(db.summary_of(tr).p50_ms, 1000);  // kept by a store before schema 7: summed
}

TEST_F(store_test, refuses_a_store_from_a_newer_optd) {
  { store db(path_); }
  raw_sql("PRAGMA user_version=99");
  EXPECT_THROW(store{path_}, std::runtime_error);
}

}  // namespace
}  // namespace optd::store
