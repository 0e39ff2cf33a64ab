// serve/sqlite.h — a small RAII wrapper over SQLite's C API: a database connection (WAL
// journal, foreign keys, a busy timeout) and prepared statements with typed binds and
// column reads. Every failure is an Error naming the statement and SQLite's message.
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <string>

struct sqlite3;
struct sqlite3_stmt;

namespace reelscale::serve {

class Statement;

class Database {
 public:
  // Opens (creating) the file in WAL mode with synchronous=NORMAL: a committed
  // transaction survives the process being killed.
  explicit Database(const std::string& path);
  void exec(const std::string& sql);   // one or more statements, no results
  Statement prepare(const std::string& sql);
  int64_t last_insert_id() const;
  int changes() const;
  sqlite3* handle() const { return db_.get(); }

 private:
  struct Close {
    void operator()(sqlite3* db) const;
  };
  std::unique_ptr<sqlite3, Close> db_;
};

// A transaction that rolls back unless commit() is called.
class Transaction {
 public:
  explicit Transaction(Database& db);
  ~Transaction();
  Transaction(const Transaction&) = delete;
  Transaction& operator=(const Transaction&) = delete;
  void commit();

 private:
  Database& db_;
  bool done_ = false;
};

class Statement {
 public:
  Statement(sqlite3* db, const std::string& sql);
  Statement& bind(int index, const std::string& value);
  Statement& bind(int index, int64_t value);
  Statement& bind(int index, double value);
  Statement& bind_null(int index);
  Statement& bind(int index, const std::optional<std::string>& value);
  bool step();                          // true while a row is ready
  void run();                           // steps to the end
  Statement& reset();                   // ready to run again, its bindings cleared
  std::string text(int column) const;   // "" for NULL
  int64_t integer(int column) const;
  double real(int column) const;
  bool is_null(int column) const;

 private:
  struct Finalize {
    void operator()(sqlite3_stmt* s) const;
  };
  sqlite3* db_;
  std::string sql_;
  std::unique_ptr<sqlite3_stmt, Finalize> stmt_;
};

}  // namespace reelscale::serve
