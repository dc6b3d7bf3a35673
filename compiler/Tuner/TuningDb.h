//===- TuningDb.h - The SQLite tuning database ------------------*- C++ -*-===//
//
// Every measurement `cascade tune` makes, keyed by the cascade (a hash of the
// model as written, shapes included), the target, the device fingerprint
// and the compiler version; the best schedule per key is marked. Each
// measurement is committed in its own transaction, so a tuning run killed
// at any moment leaves a consistent database that the next run resumes.
//
//===----------------------------------------------------------------------===//
#ifndef CASCADE_COMPILER_TUNER_TUNINGDB_H
#define CASCADE_COMPILER_TUNER_TUNINGDB_H

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

struct sqlite3;

namespace cascade {

/// Where a measurement applies.
struct TuningKey {
  std::string key;      // hash of the cascade as written (with its shapes)
  std::string target;   // "x86_64", "aarch64", ...
  std::string device;   // device fingerprint
  std::string compiler; // compiler version
};

struct TuningRecord {
  int64_t id = 0;
  TuningKey where;
  std::string model;    // model name, for people
  std::string schedule; // directive lines ("" = the default heuristic)
  std::string status;   // ok | crash | timeout | wrong | error | retime
  double medianMs = 0;  // ok and retime only
  double created = 0;   // seconds since the epoch
  bool best = false;
};

class TuningDb {
public:
  ~TuningDb();
  /// Opens (creating it and its folder if needed) the database at `path`.
  static std::optional<TuningDb> open(const std::string &path,
                                      std::string &error);
  TuningDb(TuningDb &&other) noexcept;
  TuningDb &operator=(TuningDb &&) = delete;

  /// Adds a measurement in its own transaction; returns its id (0 on error).
  int64_t add(const TuningRecord &r, std::string &error);
  /// Every measurement for this exact key, oldest first.
  std::vector<TuningRecord> measurements(const TuningKey &k);
  /// The best record for this exact key, if one is marked.
  std::optional<TuningRecord> best(const TuningKey &k);
  /// Devices other than `k.device` with a best record for the same cascade,
  /// target and compiler.
  std::vector<std::string> otherDevices(const TuningKey &k);
  /// Compiler versions other than `k.compiler` with a best record for the
  /// same cascade, target and device: schedules tuned before an upgrade,
  /// stale now (the compiler they were measured with is gone).
  std::vector<std::string> otherCompilers(const TuningKey &k);
  /// The best schedules of other cascades on this target, device and
  /// compiler (seeds for a new search).
  std::vector<std::string> bestElsewhere(const TuningKey &k);
  /// Marks record `id` as the best for its key (one transaction).
  bool markBest(const TuningKey &k, int64_t id, std::string &error);
  /// All records as JSON lines.
  std::vector<std::string> exportLines();
  /// Adds the records of JSON lines (duplicates skipped); returns how many
  /// were added, or -1 with `error` naming the line.
  int64_t importLines(const std::vector<std::string> &lines,
                      const std::string &source, std::string &error);

  static std::string defaultPath();

private:
  explicit TuningDb(sqlite3 *db) : db(db) {}
  bool exec(const char *sql, std::string &error);
  sqlite3 *db = nullptr;
};

} // namespace cascade

#endif
