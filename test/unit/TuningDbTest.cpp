//===- TuningDbTest.cpp - The tuning database and schedule texts ----------===//
#include "compiler/Tuner/TuningDb.h"
#include "compiler/Tuner/Tuner.h"

#include "llvm/Support/FileSystem.h"
#include "llvm/Support/Path.h"
#include "gtest/gtest.h"
#include <fstream>

using namespace cascade;

namespace {

/// A fresh database file in a temporary folder, removed afterwards.
class TuningDbTest : public ::testing::Test {
protected:
  void SetUp() override {
    ASSERT_FALSE(llvm::sys::fs::createUniqueDirectory("tuning-db-test", dir));
  }
  void TearDown() override { llvm::sys::fs::remove_directories(dir); }
  std::string path(const char *name) {
    llvm::SmallString<128> p(dir);
    llvm::sys::path::append(p, name);
    return std::string(p);
  }
  static TuningRecord record(const TuningKey &k, const std::string &schedule,
                             const std::string &status, double ms,
                             double created) {
    TuningRecord r;
    r.where = k;
    r.model = "m";
    r.schedule = schedule;
    r.status = status;
    r.medianMs = ms;
    r.created = created;
    return r;
  }
  llvm::SmallString<128> dir;
  TuningKey here{"k1", "x86_64", "cpu A", "0.1.0"};
  TuningKey there{"k1", "x86_64", "cpu B", "0.1.0"};
};

TEST_F(TuningDbTest, RoundTripAndBest) {
  std::string error;
  std::optional<TuningDb> db = TuningDb::open(path("sub/dir/a.db"), error);
  ASSERT_TRUE(db) << error;
  int64_t a = db->add(record(here, "", "ok", 2.0, 1), error);
  int64_t b = db->add(record(here, "vectorize N\n", "ok", 1.5, 2), error);
  db->add(record(here, "parallel M\n", "crash", 0, 3), error);
  db->add(record(there, "parallel M\n", "ok", 1.0, 4), error);
  ASSERT_TRUE(a && b) << error;
  std::vector<TuningRecord> rs = db->measurements(here);
  ASSERT_EQ(rs.size(), 3u); // the other device's record is not here
  EXPECT_EQ(rs[1].schedule, "vectorize N\n");
  EXPECT_DOUBLE_EQ(rs[1].medianMs, 1.5);
  EXPECT_EQ(rs[2].status, "crash");
  EXPECT_FALSE(db->best(here));
  ASSERT_TRUE(db->markBest(here, a, error)) << error;
  ASSERT_TRUE(db->markBest(here, b, error)) << error; // moves the mark
  std::optional<TuningRecord> best = db->best(here);
  ASSERT_TRUE(best);
  EXPECT_EQ(best->id, b);
  int bestCount = 0;
  for (const TuningRecord &r : db->measurements(here))
    bestCount += r.best;
  EXPECT_EQ(bestCount, 1);
  // Another device has no best yet: not listed; once marked, it is.
  EXPECT_TRUE(db->otherDevices(here).empty());
  int64_t c = db->measurements(there).front().id;
  ASSERT_TRUE(db->markBest(there, c, error));
  EXPECT_EQ(db->otherDevices(here), std::vector<std::string>{"cpu B"});

  // Export, import into a fresh database: the same records and marks;
  // importing again adds nothing.
  std::vector<std::string> lines = db->exportLines();
  ASSERT_EQ(lines.size(), 4u);
  std::optional<TuningDb> copy = TuningDb::open(path("b.db"), error);
  ASSERT_TRUE(copy) << error;
  EXPECT_EQ(copy->importLines(lines, "x.jsonl", error), 4);
  EXPECT_EQ(copy->importLines(lines, "x.jsonl", error), 0);
  ASSERT_TRUE(copy->best(here));
  EXPECT_EQ(copy->best(here)->schedule, "vectorize N\n");
  EXPECT_EQ(copy->best(there)->schedule, "parallel M\n");
  EXPECT_EQ(copy->measurements(here).size(), 3u);

  // A best record of another compiler version on this device is stale.
  EXPECT_TRUE(db->otherCompilers(here).empty());
  TuningKey older = here;
  older.compiler = "0.0-old";
  TuningRecord r0 = db->measurements(here).front();
  r0.id = 0;
  r0.where = older;
  r0.created = 9.0;
  int64_t o = db->add(r0, error);
  ASSERT_NE(o, 0) << error;
  ASSERT_TRUE(db->markBest(older, o, error)) << error;
  EXPECT_EQ(db->otherCompilers(here), std::vector<std::string>{"0.0-old"});
  EXPECT_TRUE(db->otherCompilers(older).size() == 1 &&
              db->otherCompilers(older)[0] == here.compiler);
}

TEST_F(TuningDbTest, BadInput) {
  std::string error;
  std::optional<TuningDb> db = TuningDb::open(path("a.db"), error);
  ASSERT_TRUE(db);
  // A bad line names its number and nothing is imported.
  std::vector<std::string> lines{"", R"({"key": "k"})"}; // blank lines skip
  EXPECT_EQ(db->importLines(lines, "in.jsonl", error), -1);
  EXPECT_EQ(error, "in.jsonl:2: missing string \"target\"");
  EXPECT_EQ(db->importLines({"[1, 2]"}, "in.jsonl", error), -1);
  EXPECT_EQ(error, "in.jsonl:1: a record is a JSON object");
  EXPECT_TRUE(db->exportLines().empty());
  // A file that is not a SQLite database is refused with its name.
  std::ofstream(path("junk.db")) << std::string(4096, 'x');
  EXPECT_FALSE(TuningDb::open(path("junk.db"), error));
  EXPECT_NE(error.find("junk.db"), std::string::npos) << error;
}

TEST(TimingNoise, SpreadOfInterleavedMedians) {
  // At least 3%; otherwise the wider spread of the two schedules' rounds.
  EXPECT_DOUBLE_EQ(timingNoise({1.0, 1.0, 1.0}, {2.0}), 0.03);
  EXPECT_DOUBLE_EQ(timingNoise({1.0, 1.1, 1.4}, {0.9, 0.91, 0.92}), 0.4 / 1.1);
  EXPECT_DOUBLE_EQ(timingNoise({}, {10.0, 12.0, 15.0}), 5.0 / 12.0);
  // A tiny model: the default's rounds at 0.010, 0.0138 and 0.011 ms
  // (median 0.011), a near-default winner's median at 0.0100: "1.10x",
  // inside the 35% the rounds spread.
  double noise = timingNoise({0.010, 0.0138, 0.011}, {0.0099, 0.0100, 0.0130});
  EXPECT_FALSE(beatsBeyondNoise(0.0100, 0.011, noise));
  EXPECT_TRUE(beatsBeyondNoise(0.0100, 0.011, 0.03)); // the old fixed 3%
  // A real 25% gain with 2% rounds is one.
  EXPECT_TRUE(beatsBeyondNoise(
      0.8, 1.0, timingNoise({1.0, 1.01, 0.99}, {0.8, 0.81, 0.8})));
  EXPECT_FALSE(beatsBeyondNoise(0.98, 1.0, 0.03));
}

TEST(ScheduleText, Canonical) {
  // Rewrites first (defer_division, then one_pass), loop directives sorted.
  std::vector<std::string> s{"vectorize N", "rewrite one_pass(M) tile 64",
                             "parallel P", "rewrite defer_division"};
  std::string text = SearchSpace::text(s);
  EXPECT_EQ(text, "rewrite defer_division\nrewrite one_pass(M) tile 64\n"
                  "parallel P\nvectorize N\n");
  EXPECT_EQ(SearchSpace::text(SearchSpace::parse(text)), text);
  EXPECT_EQ(SearchSpace::text({}), "");
}

} // namespace
