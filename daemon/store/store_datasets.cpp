// Datasets and their items, and what the store knows of them in Opik.
#include "store/store.hpp"

#include "store/sqlite.hpp"

namespace optd::store {

std::string store::put_dataset(const std::string& name, const std::vector<nlohmann::json>& rows,
                               const std::string& hash, const std::function<std::string()>& make_id,
                               std::int64_t now_ms) {
  auto find = db_->prepare("SELECT id, content_hash FROM datasets WHERE name=?");
  find.bind(1, name);
  std::string id;
  if (find.step()) {
    id = find.text(0);
    if (find.text(1) == hash) return id;
  }
  find.reset();
  transaction tx(*db_);
  if (id.empty()) {
    id = make_id();
    db_->prepare("INSERT INTO datasets(id, name, content_hash, created_ms) VALUES(?,?,?,?)")
        .bind_all(id, name, hash, now_ms)
        .run();
  } else {
    db_->prepare("UPDATE datasets SET content_hash=? WHERE id=?").bind_all(hash, id).run();
    db_->prepare("DELETE FROM dataset_items WHERE dataset_id=?").bind_all(id).run();
    db_->prepare("DELETE FROM opik_datasets WHERE name=?").bind_all(name).run();  // optd's own now
  }
  auto insert = db_->prepare("INSERT INTO dataset_items(id, dataset_id, position, data) VALUES(?,?,?,?)");
  std::int64_t pos = 0;
  for (const auto& row : rows) insert.bind_all(make_id(), id, pos++, row.dump()).run();
  tx.commit();
  return id;
}

std::optional<std::vector<core::dataset_item>> store::dataset_items(const std::string& name) {
  auto q = db_->prepare(
      "SELECT i.id, i.data FROM dataset_items i JOIN datasets d ON d.id = i.dataset_id WHERE d.name=? "
      "ORDER BY i.position");
  q.bind(1, name);
  std::vector<core::dataset_item> items;
  while (q.step()) items.push_back({q.text(0), nlohmann::json::parse(q.text(1))});
  if (items.empty()) {
    auto exists = db_->prepare("SELECT 1 FROM datasets WHERE name=?");
    exists.bind(1, name);
    if (!exists.step()) return std::nullopt;
  }
  return items;
}

namespace {

constexpr std::string_view dataset_query =
    "SELECT d.id, d.name, d.content_hash, d.created_ms, (SELECT count(*) FROM dataset_items i WHERE i.dataset_id = d.id) "
    "FROM datasets d";

dataset_record read_dataset(const statement& q) {
  return {q.text(0), q.text(1), "", q.int64(3), q.int64(4)};
}

}  // namespace

std::optional<dataset_record> store::find_dataset(const std::string& name_or_id) {
  auto q = db_->prepare(std::string(dataset_query) + " WHERE d.name = ?1 OR d.id = ?1 LIMIT 1");
  q.bind(1, name_or_id);
  if (!q.step()) return std::nullopt;
  return read_dataset(q);
}

std::vector<dataset_record> store::list_datasets() {
  auto q = db_->prepare(std::string(dataset_query) + " ORDER BY d.created_ms DESC, d.id DESC");
  std::vector<dataset_record> out;
  while (q.step()) out.push_back(read_dataset(q));
  return out;
}

bool store::create_dataset(const std::string& id, const std::string& name, const std::string& description,
                           std::int64_t now_ms) {
  if (find_dataset(name)) return false;
  (void)description;
  db_->prepare("INSERT INTO datasets(id, name, content_hash, created_ms) VALUES(?,?,'',?)").bind_all(id, name, now_ms).run();
  return true;
}

void store::upsert_dataset_items(const std::string& dataset_id, const std::vector<core::dataset_item>& items) {
  transaction tx(*db_);
  auto next = db_->prepare("SELECT coalesce(max(position), -1) + 1 FROM dataset_items WHERE dataset_id=?");
  next.bind(1, dataset_id);
  next.step();
  auto position = next.int64(0);
  next.reset();
  auto update = db_->prepare("UPDATE dataset_items SET data=?3 WHERE id=?1 AND dataset_id=?2");
  auto insert = db_->prepare("INSERT INTO dataset_items(id, dataset_id, position, data) VALUES(?,?,?,?)");
  for (const auto& item : items) {
    auto data = item.data.dump();
    update.bind_all(item.id, dataset_id, data).run();
    if (db_->changes() == 0) insert.bind_all(item.id, dataset_id, position++, data).run();
  }
  // A changed dataset is no longer the file `optd run` stored: the next run of that file reloads it.
  db_->prepare("UPDATE datasets SET content_hash='' WHERE id=?").bind_all(dataset_id).run();
  tx.commit();
}

std::vector<core::dataset_item> store::dataset_items_after(const std::string& dataset_id, const std::string& after_id,
                                                           std::int64_t limit, std::int64_t offset) {
  auto q = db_->prepare(
      "SELECT id, data FROM dataset_items WHERE dataset_id=?1 AND position > coalesce((SELECT position FROM "
      "dataset_items WHERE id=?2 AND dataset_id=?1), -1) ORDER BY position LIMIT ?3 OFFSET ?4");
  q.bind_all(dataset_id, after_id, limit, offset);
  std::vector<core::dataset_item> out;
  while (q.step()) out.push_back({q.text(0), nlohmann::json::parse(q.text(1))});
  return out;
}

std::optional<std::vector<nlohmann::json>> store::dataset_rows(const std::string& name) {
  auto items = dataset_items(name);
  if (!items) return std::nullopt;
  std::vector<nlohmann::json> rows;
  rows.reserve(items->size());
  for (auto& i : *items) rows.push_back(std::move(i.data));
  return rows;
}

void store::mark_dataset_from_opik(const std::string& name) {
  db_->prepare("INSERT OR IGNORE INTO opik_datasets(name) VALUES(?)").bind_all(name).run();
}

bool store::dataset_from_opik(const std::string& name) {
  auto q = db_->prepare("SELECT 1 FROM opik_datasets WHERE name=?");
  q.bind_all(name);
  return q.step();
}

void store::mark_dataset_sent(const std::string& destination, const std::string& name, const std::string& digest) {
  db_->prepare("INSERT OR REPLACE INTO opik_sent_datasets(destination, name, digest) VALUES(?,?,?)")
      .bind_all(destination, name, digest)
      .run();
}

bool store::dataset_sent(const std::string& destination, const std::string& name, const std::string& digest) {
  auto q = db_->prepare("SELECT 1 FROM opik_sent_datasets WHERE destination=? AND name=? AND digest=?");
  q.bind_all(destination, name, digest);
  return q.step();
}

}  // namespace optd::store
