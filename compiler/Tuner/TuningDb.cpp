//===- TuningDb.cpp - The SQLite tuning database --------------------------===//
#include "compiler/Tuner/TuningDb.h"

#include "llvm/Support/FileSystem.h"
#include "llvm/Support/JSON.h"
#include "llvm/Support/Path.h"
#include <cstdlib>
#include <sqlite3.h>

using namespace cascade;

namespace {

const char *kSchema = R"sql(
CREATE TABLE IF NOT EXISTS measurements(
  id INTEGER PRIMARY KEY,
  key TEXT NOT NULL, target TEXT NOT NULL, device TEXT NOT NULL,
  compiler TEXT NOT NULL, model TEXT NOT NULL, schedule TEXT NOT NULL,
  status TEXT NOT NULL, median_ms REAL, created REAL NOT NULL,
  best INTEGER NOT NULL DEFAULT 0);
CREATE INDEX IF NOT EXISTS measurements_by_key
  ON measurements(key, target, device, compiler);
)sql";

/// A prepared statement, finalized on scope exit.
class Statement {
public:
  Statement(sqlite3 *db, const char *sql) {
    if (sqlite3_prepare_v2(db, sql, -1, &stmt, nullptr) != SQLITE_OK)
      stmt = nullptr;
  }
  ~Statement() { sqlite3_finalize(stmt); }
  explicit operator bool() const { return stmt; }
  Statement &bind(int i, const std::string &s) {
    sqlite3_bind_text(stmt, i, s.c_str(), -1, SQLITE_TRANSIENT);
    return *this;
  }
  Statement &bind(int i, double v) {
    sqlite3_bind_double(stmt, i, v);
    return *this;
  }
  Statement &bind(int i, int64_t v) {
    sqlite3_bind_int64(stmt, i, v);
    return *this;
  }
  Statement &bindKey(const TuningKey &k) {
    return bind(1, k.key)
        .bind(2, k.target)
        .bind(3, k.device)
        .bind(4, k.compiler);
  }
  int step() { return sqlite3_step(stmt); }
  std::string text(int col) {
    const unsigned char *t = sqlite3_column_text(stmt, col);
    return t ? reinterpret_cast<const char *>(t) : "";
  }
  double real(int col) { return sqlite3_column_double(stmt, col); }
  int64_t integer(int col) { return sqlite3_column_int64(stmt, col); }

private:
  sqlite3_stmt *stmt = nullptr;
};

const char *kColumns = "id, key, target, device, compiler, model, schedule, "
                       "status, median_ms, created, best";

TuningRecord readRecord(Statement &s) {
  TuningRecord r;
  r.id = s.integer(0);
  r.where = {s.text(1), s.text(2), s.text(3), s.text(4)};
  r.model = s.text(5);
  r.schedule = s.text(6);
  r.status = s.text(7);
  r.medianMs = s.real(8);
  r.created = s.real(9);
  r.best = s.integer(10) != 0;
  return r;
}

} // namespace

TuningDb::~TuningDb() {
  if (db)
    sqlite3_close(db);
}

TuningDb::TuningDb(TuningDb &&other) noexcept : db(other.db) {
  other.db = nullptr;
}

std::string TuningDb::defaultPath() {
  llvm::SmallString<256> path;
  if (const char *xdg = std::getenv("XDG_CACHE_HOME"); xdg && *xdg)
    path = xdg;
  else if (const char *home = std::getenv("HOME"); home && *home)
    llvm::sys::path::append(path, home, ".cache");
  else
    path = ".";
  llvm::sys::path::append(path, "cascade", "tuning.db");
  return std::string(path);
}

bool TuningDb::exec(const char *sql, std::string &error) {
  char *msg = nullptr;
  if (sqlite3_exec(db, sql, nullptr, nullptr, &msg) == SQLITE_OK)
    return true;
  error = msg ? msg : "unknown SQLite error";
  sqlite3_free(msg);
  return false;
}

std::optional<TuningDb> TuningDb::open(const std::string &path,
                                       std::string &error) {
  llvm::StringRef parent = llvm::sys::path::parent_path(path);
  if (!parent.empty())
    if (std::error_code ec = llvm::sys::fs::create_directories(parent)) {
      error = path + ": cannot create the folder: " + ec.message();
      return std::nullopt;
    }
  sqlite3 *raw = nullptr;
  if (sqlite3_open_v2(path.c_str(), &raw,
                      SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE,
                      nullptr) != SQLITE_OK) {
    error = path + ": " + (raw ? sqlite3_errmsg(raw) : "cannot open");
    sqlite3_close(raw);
    return std::nullopt;
  }
  TuningDb db(raw);
  sqlite3_busy_timeout(raw, 5000);
  // Journaling as SQLite's default (rollback journal, full sync): a kill
  // at any moment rolls the open transaction back on the next open.
  std::string why;
  if (!db.exec(kSchema, why)) {
    error = path + ": not a Cascade tuning database: " + why;
    return std::nullopt;
  }
  return db;
}

int64_t TuningDb::add(const TuningRecord &r, std::string &error) {
  Statement s(db, "INSERT INTO measurements(key, target, device, compiler, "
                  "model, schedule, status, median_ms, created, best) "
                  "VALUES(?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10)");
  if (!s) {
    error = sqlite3_errmsg(db);
    return 0;
  }
  s.bindKey(r.where).bind(5, r.model).bind(6, r.schedule).bind(7, r.status);
  s.bind(8, r.medianMs).bind(9, r.created).bind(10, int64_t(r.best));
  if (s.step() != SQLITE_DONE) {
    error = sqlite3_errmsg(db);
    return 0;
  }
  return sqlite3_last_insert_rowid(db);
}

std::vector<TuningRecord> TuningDb::measurements(const TuningKey &k) {
  std::string sql = std::string("SELECT ") + kColumns +
                    " FROM measurements WHERE key=?1 AND target=?2 AND "
                    "device=?3 AND compiler=?4 ORDER BY id";
  Statement s(db, sql.c_str());
  std::vector<TuningRecord> out;
  if (!s)
    return out;
  s.bindKey(k);
  while (s.step() == SQLITE_ROW)
    out.push_back(readRecord(s));
  return out;
}

std::optional<TuningRecord> TuningDb::best(const TuningKey &k) {
  std::string sql = std::string("SELECT ") + kColumns +
                    " FROM measurements WHERE key=?1 AND target=?2 AND "
                    "device=?3 AND compiler=?4 AND best=1 ORDER BY id DESC "
                    "LIMIT 1";
  Statement s(db, sql.c_str());
  if (!s)
    return std::nullopt;
  s.bindKey(k);
  if (s.step() != SQLITE_ROW)
    return std::nullopt;
  return readRecord(s);
}

/// The first column of the rows `sql` selects for key `k` (?1 to ?4).
static std::vector<std::string> firstColumn(sqlite3 *db, const char *sql,
                                            const TuningKey &k) {
  Statement s(db, sql);
  std::vector<std::string> out;
  if (!s)
    return out;
  s.bindKey(k);
  while (s.step() == SQLITE_ROW)
    out.push_back(s.text(0));
  return out;
}

std::vector<std::string> TuningDb::otherDevices(const TuningKey &k) {
  return firstColumn(db,
                     "SELECT DISTINCT device FROM measurements WHERE key=?1 "
                     "AND target=?2 AND device<>?3 AND compiler=?4 AND best=1",
                     k);
}

std::vector<std::string> TuningDb::otherCompilers(const TuningKey &k) {
  return firstColumn(db,
                     "SELECT DISTINCT compiler FROM measurements WHERE key=?1 "
                     "AND target=?2 AND device=?3 AND compiler<>?4 AND best=1",
                     k);
}

std::vector<std::string> TuningDb::bestElsewhere(const TuningKey &k) {
  return firstColumn(db,
                     "SELECT DISTINCT schedule FROM measurements WHERE "
                     "key<>?1 AND target=?2 AND device=?3 AND compiler=?4 "
                     "AND best=1 AND schedule<>''",
                     k);
}

bool TuningDb::markBest(const TuningKey &k, int64_t id, std::string &error) {
  if (!exec("BEGIN IMMEDIATE", error))
    return false;
  Statement clear(db, "UPDATE measurements SET best=0 WHERE key=?1 AND "
                      "target=?2 AND device=?3 AND compiler=?4");
  Statement mark(db, "UPDATE measurements SET best=1 WHERE id=?1");
  bool ok = clear && mark;
  if (ok) {
    clear.bindKey(k);
    mark.bind(1, id);
    ok = clear.step() == SQLITE_DONE && mark.step() == SQLITE_DONE;
  }
  if (!ok) {
    error = sqlite3_errmsg(db);
    std::string ignored;
    exec("ROLLBACK", ignored);
    return false;
  }
  return exec("COMMIT", error);
}

std::vector<std::string> TuningDb::exportLines() {
  std::string sql =
      std::string("SELECT ") + kColumns + " FROM measurements ORDER BY id";
  Statement s(db, sql.c_str());
  std::vector<std::string> out;
  if (!s)
    return out;
  while (s.step() == SQLITE_ROW) {
    TuningRecord r = readRecord(s);
    llvm::json::Object o{
        {"key", r.where.key},       {"target", r.where.target},
        {"device", r.where.device}, {"compiler", r.where.compiler},
        {"model", r.model},         {"schedule", r.schedule},
        {"status", r.status},       {"median_ms", r.medianMs},
        {"created", r.created},     {"best", r.best}};
    std::string line;
    llvm::raw_string_ostream os(line);
    os << llvm::json::Value(std::move(o));
    out.push_back(std::move(line));
  }
  return out;
}

int64_t TuningDb::importLines(const std::vector<std::string> &lines,
                              const std::string &source, std::string &error) {
  std::vector<TuningRecord> records;
  for (size_t i = 0; i < lines.size(); ++i) {
    if (llvm::StringRef(lines[i]).trim().empty())
      continue;
    auto fail = [&](const std::string &why) {
      error = source + ":" + std::to_string(i + 1) + ": " + why;
      return -1;
    };
    llvm::Expected<llvm::json::Value> v = llvm::json::parse(lines[i]);
    if (!v)
      return fail("invalid JSON: " + llvm::toString(v.takeError()));
    const llvm::json::Object *o = v->getAsObject();
    if (!o)
      return fail("a record is a JSON object");
    TuningRecord r;
    for (auto [name, field] : {std::pair{"key", &r.where.key},
                               {"target", &r.where.target},
                               {"device", &r.where.device},
                               {"compiler", &r.where.compiler},
                               {"model", &r.model},
                               {"schedule", &r.schedule},
                               {"status", &r.status}}) {
      std::optional<llvm::StringRef> s = o->getString(name);
      if (!s)
        return fail(std::string("missing string \"") + name + "\"");
      *field = s->str();
    }
    r.medianMs = o->getNumber("median_ms").value_or(0);
    r.created = o->getNumber("created").value_or(0);
    r.best = o->getBoolean("best").value_or(false);
    records.push_back(r);
  }
  // One transaction: an import is all or nothing.
  if (!exec("BEGIN IMMEDIATE", error))
    return -1;
  int64_t added = 0;
  for (const TuningRecord &r : records) {
    Statement dup(db, "SELECT 1 FROM measurements WHERE key=?1 AND "
                      "target=?2 AND device=?3 AND compiler=?4 AND "
                      "schedule=?5 AND status=?6 AND created=?7");
    dup.bindKey(r.where)
        .bind(5, r.schedule)
        .bind(6, r.status)
        .bind(7, r.created);
    if (dup.step() == SQLITE_ROW)
      continue;
    if (r.best) {
      Statement clear(db, "UPDATE measurements SET best=0 WHERE key=?1 AND "
                          "target=?2 AND device=?3 AND compiler=?4");
      clear.bindKey(r.where).step();
    }
    if (!add(r, error)) {
      std::string ignored;
      exec("ROLLBACK", ignored);
      return -1;
    }
    ++added;
  }
  if (!exec("COMMIT", error))
    return -1;
  return added;
}
