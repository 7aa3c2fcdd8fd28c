#include "store/sqlite.hpp"

#include <stdexcept>

#include <sqlite3.h>

namespace optd::store {
namespace {

bool passing(int rc) {
  switch (rc & 0xff) {
    case SQLITE_FULL: case SQLITE_BUSY: case SQLITE_LOCKED: case SQLITE_IOERR: case SQLITE_READONLY:
    case SQLITE_CANTOPEN: return true;
    default: return false;
  }
}

[[noreturn]] void fail(int rc, const std::string& message) {
  if (passing(rc)) throw unavailable(message);
  throw std::runtime_error(message);
}

// "sqlite /var/lib/optd/optd.db: ": which store, for a message that may reach a user.
std::string named(sqlite3* db) {
  const char* file = db ? sqlite3_db_filename(db, "main") : nullptr;
  return file && *file ? "sqlite " + std::string(file) + ": " : "sqlite: ";
}

[[noreturn]] void fail(sqlite3* db, std::string_view what) {
  fail(db ? sqlite3_extended_errcode(db) : SQLITE_NOMEM,
       named(db) + std::string(what) + ": " + (db ? sqlite3_errmsg(db) : "out of memory"));
}

}  // namespace

statement::statement(sqlite3* db, std::string_view sql) : db_(db) {
  if (sqlite3_prepare_v3(db, sql.data(), static_cast<int>(sql.size()), SQLITE_PREPARE_PERSISTENT, &stmt_, nullptr) !=
      SQLITE_OK)
    fail(db, "prepare " + std::string(sql.substr(0, 60)));
}

statement::statement(statement&& o) noexcept : db_(o.db_), stmt_(o.stmt_) { o.stmt_ = nullptr; }

statement& statement::operator=(statement&& o) noexcept {
  std::swap(db_, o.db_);
  std::swap(stmt_, o.stmt_);
  return *this;
}

statement::~statement() { sqlite3_finalize(stmt_); }

statement& statement::bind(int i, std::string_view v) {
  // SQLITE_STATIC: callers bind and step before the string can change (see sqlite.hpp).
  if (sqlite3_bind_text(stmt_, i, v.data(), static_cast<int>(v.size()), SQLITE_STATIC) != SQLITE_OK)
    fail(db_, "bind");
  return *this;
}
statement& statement::bind(int i, std::int64_t v) {
  if (sqlite3_bind_int64(stmt_, i, v) != SQLITE_OK) fail(db_, "bind");
  return *this;
}
statement& statement::bind(int i, double v) {
  if (sqlite3_bind_double(stmt_, i, v) != SQLITE_OK) fail(db_, "bind");
  return *this;
}
statement& statement::bind_null(int i) {
  if (sqlite3_bind_null(stmt_, i) != SQLITE_OK) fail(db_, "bind");
  return *this;
}

bool statement::step() {
  int rc = sqlite3_step(stmt_);
  if (rc == SQLITE_ROW) return true;
  if (rc == SQLITE_DONE) return false;
  std::string msg = sqlite3_errmsg(db_);
  sqlite3_reset(stmt_);
  fail(rc, named(db_) + "step: " + msg);
}

void statement::run() {
  while (step()) {
  }
  reset();
}

void statement::reset() {
  sqlite3_reset(stmt_);
  sqlite3_clear_bindings(stmt_);
}

std::string statement::text(int col) const {
  auto p = sqlite3_column_text(stmt_, col);
  return p ? std::string(reinterpret_cast<const char*>(p), static_cast<std::size_t>(sqlite3_column_bytes(stmt_, col)))
           : std::string();
}
std::int64_t statement::int64(int col) const { return sqlite3_column_int64(stmt_, col); }
double statement::real(int col) const { return sqlite3_column_double(stmt_, col); }
bool statement::is_null(int col) const { return sqlite3_column_type(stmt_, col) == SQLITE_NULL; }

database::database(const std::string& path, std::chrono::milliseconds busy_timeout) : busy_timeout_(busy_timeout) {
  if (int rc = sqlite3_open_v2(path.c_str(), &db_, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_NOMUTEX,
                               nullptr);
      rc != SQLITE_OK) {
    std::string msg = db_ ? sqlite3_errmsg(db_) : "out of memory";
    sqlite3_close(db_);
    fail(rc, "sqlite: open " + path + ": " + msg);
  }
  sqlite3_busy_timeout(db_, static_cast<int>(busy_timeout.count()));
}

database::~database() { sqlite3_close_v2(db_); }

void database::exec(std::string_view sql) {
  char* err = nullptr;
  if (int rc = sqlite3_exec(db_, std::string(sql).c_str(), nullptr, nullptr, &err); rc != SQLITE_OK) {
    std::string msg = err ? err : "unknown";
    sqlite3_free(err);
    fail(rc, named(db_) + msg);
  }
}

void database::exec_when_unlocked(std::string_view sql) {
  constexpr int step_ms = 10;
  const auto timeout_ms = busy_timeout_.count();
  for (int waited = 0;; waited += step_ms) {
    char* err = nullptr;
    int rc = sqlite3_exec(db_, std::string(sql).c_str(), nullptr, nullptr, &err);
    std::string msg = err ? err : "unknown";
    sqlite3_free(err);
    if (rc == SQLITE_OK) return;
    if ((rc & 0xff) != SQLITE_BUSY || waited >= timeout_ms) fail(rc, named(db_) + msg);
    sqlite3_sleep(step_ms);
  }
}

std::int64_t database::changes() const { return sqlite3_changes64(db_); }

transaction::~transaction() {
  if (!done_) {
    try {
      db_.exec("ROLLBACK");
    } catch (...) {
    }
  }
}

void transaction::commit() {
  db_.exec("COMMIT");
  done_ = true;
}

}  // namespace optd::store
