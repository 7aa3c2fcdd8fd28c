#pragma once
// A thin RAII layer over SQLite's C API: one connection, prepared statements with typed binds.
// Failures throw std::runtime_error carrying SQLite's message (infrastructure failures: a corrupt
// file is not something a caller handles case by case), store::unavailable when the store could
// work again as it is (a full disk, a lock held past the busy timeout, an I/O error): what was
// being done can be done again later. Not thread-safe.
#include <chrono>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>

struct sqlite3;
struct sqlite3_stmt;

namespace optd::store {

// The store cannot be written (or read) now, for a reason outside optd that may pass: SQLite's
// SQLITE_FULL, SQLITE_BUSY and SQLITE_LOCKED (past the busy timeout), SQLITE_IOERR,
// SQLITE_READONLY, SQLITE_CANTOPEN.
class unavailable : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

// Text is bound without a copy: the bound string must stay unchanged until the statement has
// been stepped and reset (run() does both), as every use in store.cpp does.
class statement {
 public:
  statement(sqlite3* db, std::string_view sql);
  statement(statement&&) noexcept;
  statement& operator=(statement&&) noexcept;
  statement(const statement&) = delete;
  ~statement();

  statement& bind(int index, std::string_view v);
  statement& bind(int index, std::int64_t v);
  statement& bind(int index, int v) { return bind(index, static_cast<std::int64_t>(v)); }
  statement& bind(int index, double v);
  statement& bind_null(int index);
  template <class T>
  statement& bind(int index, const std::optional<T>& v) {
    return v ? bind(index, *v) : bind_null(index);
  }

  // Binds 1..N in order.
  template <class... Args>
  statement& bind_all(const Args&... args) {
    int i = 0;
    (bind(++i, args), ...);
    return *this;
  }

  bool step();  // true while a row is available
  void run();   // step to completion, then reset
  void reset();

  std::string text(int col) const;
  std::int64_t int64(int col) const;
  double real(int col) const;
  bool is_null(int col) const;

 private:
  sqlite3* db_;
  sqlite3_stmt* stmt_ = nullptr;
};

class database {
 public:
  // A statement that finds the store locked by another connection retries for `busy_timeout`
  // before it fails with unavailable.
  explicit database(const std::string& path, std::chrono::milliseconds busy_timeout = std::chrono::seconds(5));
  database(const database&) = delete;
  ~database();

  void exec(std::string_view sql);
  // exec() for statements SQLite answers "busy" without calling the busy handler (switching a
  // new file to WAL while another process opens it): tried again for up to the busy timeout.
  void exec_when_unlocked(std::string_view sql);
  statement prepare(std::string_view sql) const { return statement(db_, sql); }
  std::int64_t changes() const;

 private:
  sqlite3* db_ = nullptr;
  std::chrono::milliseconds busy_timeout_;
};

// Commits on commit(), rolls back when destroyed without it.
class transaction {
 public:
  explicit transaction(database& db) : db_(db) { db_.exec("BEGIN IMMEDIATE"); }
  transaction(const transaction&) = delete;
  ~transaction();
  void commit();

 private:
  database& db_;
  bool done_ = false;
};

}  // namespace optd::store
