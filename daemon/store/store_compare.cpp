// Opik's Compare view (dataset items with their evaluations in some experiments), selected, sorted
// and paged in SQL: a page reads its own items' rows, not every evaluation of the experiments.
#include "store/store.hpp"
#include "store/store_rows.hpp"

namespace optd::store {

namespace {

// The score named `name` of evaluation `e` as its trace shows it (trace_scores): the run's objective
// when that is the name and the evaluation has one, else the metric of that name.
std::string score_sql(rows::sql_builder& b, const std::string& name) {
  b.add(name);
  b.add(name);
  return "(CASE WHEN (SELECT objective_name FROM runs WHERE id = e.run_id) = ? AND e.objective IS NOT NULL THEN "
         "e.objective ELSE "
         "(SELECT json_extract(s.value, '$.value') FROM json_each(CASE WHEN json_valid(e.scores) THEN e.scores "
         "ELSE '[]' END) s WHERE json_extract(s.value, '$.name') = ? LIMIT 1) END)";
}

// The evaluations the query keeps, of its experiments, finished, and passing every condition.
void kept_evaluations(rows::sql_builder& b, const compare_query& q) {
  b.text += "e.status IN ('completed', 'failed') AND e.trial_id IN (";
  for (std::size_t i = 0; i < q.trial_ids.size(); ++i) {
    b.text += i ? ", ?" : "?";
    b.add(q.trial_ids[i]);
  }
  b.text += ")";
  for (const auto& c : q.conditions) {
    b.text += " AND ";
    if (c.score_name.empty()) {
      if (c.op == "=" || c.op == "!=") {
        b.text += "lower(e.output) " + c.op + " lower(?)";
        b.add(c.text);
      } else {
        b.text += std::string("lower(e.output) ") + (c.op == "not_contains" ? "NOT " : "") + "LIKE lower(?) ESCAPE '\\'";
        b.add(rows::like_pattern(c.text, true, true));
      }
      continue;
    }
    auto score = score_sql(b, c.score_name);
    if (c.op == "is_empty") b.text += score + " IS NULL";
    else if (c.op == "is_not_empty") b.text += score + " IS NOT NULL";
    else if (!c.number) b.text += "0";
    else {
      b.text += score + " " + c.op + " ?";
      b.add(*c.number);
    }
  }
}

}  // namespace

compare_page store::find_compare_items(const compare_query& q, std::int64_t offset, std::int64_t limit) {
  compare_page page;
  if (q.trial_ids.empty()) return page;
  // The items (of the dataset) with a kept evaluation, and that the search finds. A large dataset
  // is walked in id order (`+` keeps SQLite off the dataset index), so that a page by id stops
  // after its own items instead of sorting every item of the dataset first.
  auto size = db_->prepare("SELECT count(*) FROM dataset_items WHERE dataset_id = ?");
  size.bind(1, q.dataset_id);
  size.step();
  bool walk_in_id_order = q.sort_score.empty() && size.int64(0) > 10'000;
  rows::sql_builder b;
  b.text = "SELECT i.id AS item_id";
  if (!q.sort_score.empty()) {
    b.text += ", (SELECT coalesce(avg(" + score_sql(b, q.sort_score) + "), -1) FROM evaluations e WHERE e.item_id = i.id AND ";
    kept_evaluations(b, q);
    b.text += ") AS sort_key";
  }
  b.text += std::string(" FROM dataset_items i WHERE ") + (walk_in_id_order ? "+" : "") + "i.dataset_id = ?";
  b.add(q.dataset_id);
  b.text += " AND EXISTS (SELECT 1 FROM evaluations e WHERE e.item_id = i.id AND ";
  kept_evaluations(b, q);
  b.text += ")";
  if (!q.search.empty()) {
    b.text += " AND (lower(i.data) LIKE lower(?) ESCAPE '\\' OR EXISTS (SELECT 1 FROM evaluations e WHERE e.item_id = i.id AND ";
    b.add(rows::like_pattern(q.search, true, true));
    kept_evaluations(b, q);
    b.text += " AND lower(e.output) LIKE lower(?) ESCAPE '\\'))";
    b.add(rows::like_pattern(q.search, true, true));
  }

  auto count = db_->prepare("SELECT count(*) FROM (" + b.text + ")");
  b.bind_to(count);
  count.step();
  page.total = count.int64(0);

  std::string direction = q.descending ? " DESC" : " ASC";
  auto order = q.sort_score.empty() ? "i.id" + direction : "sort_key" + direction + ", i.id ASC";
  auto ids = db_->prepare(b.text + " ORDER BY " + order + " LIMIT " + std::to_string(limit) + " OFFSET " +
                          std::to_string(offset));
  b.bind_to(ids);
  std::vector<std::string> item_ids;
  while (ids.step()) item_ids.push_back(ids.text(0));
  if (item_ids.empty()) return page;

  // The page's items and their kept evaluations: a few rows each.
  auto item = db_->prepare("SELECT data FROM dataset_items WHERE id = ? AND dataset_id = ?");
  rows::sql_builder eb;
  eb.text = rows::sql("SELECT ", rows::evaluation_columns, " FROM evaluations e WHERE ");
  kept_evaluations(eb, q);
  eb.text += " AND e.item_id = ? ORDER BY e.trial_id DESC, e.rowid";
  auto evaluations = db_->prepare(eb.text);
  for (const auto& id : item_ids) {
    item.bind_all(id, q.dataset_id);
    if (item.step()) page.items.push_back({id, nlohmann::json::parse(item.text(0), nullptr, false)});
    item.reset();
    evaluations.bind(eb.bind_to(evaluations) + 1, id);
    while (evaluations.step()) page.evaluations.push_back(rows::read_evaluation(evaluations));
    evaluations.reset();
  }
  return page;
}

}  // namespace optd::store
