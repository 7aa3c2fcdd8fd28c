// The Opik outbox: writes waiting to be delivered, in order.
#include "store/store.hpp"

#include "store/sqlite.hpp"

namespace optd::store {

void store::enqueue(const std::vector<outbox_message>& messages, std::int64_t now_ms) {
  transaction tx(*db_);
  auto q = db_->prepare("INSERT INTO outbox(run_id, method, path, body, created_ms) VALUES(?,?,?,?,?)");
  for (const auto& m : messages) q.bind_all(m.run_id, m.method, m.path, m.body, now_ms).run();
  tx.commit();
}

std::vector<outbox_message> store::outbox_head(int limit) {
  auto q = db_->prepare(
      "SELECT seq, run_id, method, path, body, created_ms, attempts, last_error FROM outbox WHERE dead = 0 "
      "ORDER BY seq LIMIT ?");
  q.bind(1, limit);
  std::vector<outbox_message> out;
  while (q.step())
    out.push_back({q.int64(0), q.text(1), q.text(2), q.text(3), q.text(4), q.int64(5), static_cast<int>(q.int64(6)),
                   q.text(7)});
  return out;
}

void store::outbox_delivered(std::int64_t seq) { db_->prepare("DELETE FROM outbox WHERE seq=?").bind_all(seq).run(); }

void store::outbox_failed(std::int64_t seq, const std::string& error, bool dead) {
  db_->prepare("UPDATE outbox SET attempts = attempts + 1, last_error=?2, dead=?3 WHERE seq=?1")
      .bind_all(seq, error, dead ? 1 : 0)
      .run();
}

outbox_stats store::outbox_state() {
  auto q = db_->prepare("SELECT count(*) FILTER (WHERE dead = 0), count(*) FILTER (WHERE dead = 1), "
                        "coalesce(min(created_ms) FILTER (WHERE dead = 0), 0) FROM outbox");
  q.step();
  return {q.int64(0), q.int64(1), q.int64(2)};
}

}  // namespace optd::store
