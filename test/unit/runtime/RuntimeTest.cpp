//===- RuntimeTest.cpp - Unit tests of the Cascade runtime ----------------===//

#include "cascade/runtime.h"

#include "gtest/gtest.h"

#include <cmath>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <ftw.h>
#ifdef __GLIBC__
#include <malloc.h>
#endif
#include <string>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>
#include <vector>

namespace {

//===--- Helpers ----------------------------------------------------------===//

int removeEntry(const char *path, const struct stat *, int, struct FTW *) {
  return std::remove(path);
}

/// A fresh temporary directory per test, removed afterwards.
class RuntimeTest : public ::testing::Test {
protected:
  std::string dir;

  void SetUp() override {
    char tmpl[] = "/tmp/cascade-rt-test-XXXXXX";
    ASSERT_NE(mkdtemp(tmpl), nullptr);
    dir = tmpl;
  }
  void TearDown() override {
    nftw(dir.c_str(), removeEntry, 16, FTW_DEPTH | FTW_PHYS);
  }

  std::string path(const std::string &name) const { return dir + "/" + name; }

  void writeBytes(const std::string &file, const std::string &bytes) {
    FILE *f = std::fopen(file.c_str(), "wb");
    ASSERT_NE(f, nullptr);
    ASSERT_EQ(std::fwrite(bytes.data(), 1, bytes.size(), f), bytes.size());
    std::fclose(f);
  }

  static std::string readBytes(const std::string &file) {
    std::string out;
    FILE *f = std::fopen(file.c_str(), "rb");
    if (!f)
      return out;
    char buf[4096];
    size_t n;
    while ((n = std::fread(buf, 1, sizeof buf, f)) > 0)
      out.append(buf, n);
    std::fclose(f);
    return out;
  }

  static bool exists(const std::string &file) {
    struct stat st;
    return stat(file.c_str(), &st) == 0;
  }
};

/// A version 1.0 .npy prelude + header for the dict text (padded to 64).
std::string npyHeader(const std::string &dict) {
  std::string h = dict;
  while ((10 + h.size() + 1) % 64)
    h += ' ';
  h += '\n';
  std::string out("\x93NUMPY\x01\x00", 8);
  out += static_cast<char>(h.size() & 0xFF);
  out += static_cast<char>(h.size() >> 8);
  return out + h;
}

template <typename T> std::string rawBytes(const std::vector<T> &v) {
  // The tests run on little-endian hosts, the byte order of '<' files.
  return std::string(reinterpret_cast<const char *>(v.data()),
                     v.size() * sizeof(T));
}

//===--- .npy files -------------------------------------------------------===//

TEST_F(RuntimeTest, NpyWriteHeaderIsByteExact) {
  std::string file = path("a.npy");
  std::vector<float> data = {0, 1, 2, 3, 4, 5};
  int64_t shape[] = {2, 3};
  ASSERT_EQ(cascade_npy_write_f32(file.c_str(), data.data(), shape, 2),
            CASCADE_OK);

  // 10 bytes of prelude + 59 of dict + 58 spaces + '\n' = 128; the header
  // length field is 118 = 0x76.
  std::string expected("\x93NUMPY\x01\x00\x76\x00", 10);
  expected += "{'descr': '<f4', 'fortran_order': False, 'shape': (2, 3), }";
  expected += std::string(58, ' ') + "\n";
  ASSERT_EQ(expected.size(), 128u);
  std::string bytes = readBytes(file);
  ASSERT_EQ(bytes.size(), 128u + 24u);
  EXPECT_EQ(bytes.substr(0, 128), expected);
  // 1.0f is 0x3F800000, stored little-endian.
  EXPECT_EQ(bytes.substr(132, 4), std::string("\x00\x00\x80\x3F", 4));
  EXPECT_FALSE(exists(file + ".tmp"));
}

TEST_F(RuntimeTest, NpyHeaderShapesForRank0And1) {
  std::string file = path("s.npy");
  float one = 1;
  ASSERT_EQ(cascade_npy_write_f32(file.c_str(), &one, nullptr, 0), CASCADE_OK);
  EXPECT_NE(readBytes(file).find("'shape': (), }"), std::string::npos);
  int64_t shape1[] = {5};
  float five[5] = {1, 2, 3, 4, 5};
  ASSERT_EQ(cascade_npy_write_f32(file.c_str(), five, shape1, 1), CASCADE_OK);
  std::string bytes = readBytes(file);
  EXPECT_NE(bytes.find("'shape': (5,), }"), std::string::npos);
  EXPECT_EQ(bytes.size() % 4, 0u);
  // 10 + 58 + 1 = 69 bytes round up to 128.
  EXPECT_EQ(bytes.size(), 128u + 20u);
  EXPECT_EQ(bytes[127], '\n');
}

TEST_F(RuntimeTest, NpyRoundTrip) {
  struct Case {
    std::vector<int64_t> shape;
  } cases[] = {{{2, 3}}, {{}}, {{7}}, {{0, 3}}, {{2, 1, 3, 1}}};
  for (const Case &c : cases) {
    int64_t n = 1;
    for (int64_t d : c.shape)
      n *= d;
    std::vector<float> data(n + 1);
    for (int64_t i = 0; i < n; ++i)
      data[i] = 0.5f * i - 3.25f;
    std::string file = path("rt.npy");
    int rank = static_cast<int>(c.shape.size());
    ASSERT_EQ(
        cascade_npy_write_f32(file.c_str(), data.data(), c.shape.data(), rank),
        CASCADE_OK)
        << cascade_last_error();
    float *out = nullptr;
    int64_t shape[CASCADE_MAX_RANK];
    int outRank = -1;
    ASSERT_EQ(cascade_npy_read_f32(file.c_str(), &out, shape, &outRank),
              CASCADE_OK)
        << cascade_last_error();
    ASSERT_NE(out, nullptr);
    ASSERT_EQ(outRank, rank);
    for (int i = 0; i < rank; ++i)
      EXPECT_EQ(shape[i], c.shape[i]);
    for (int64_t i = 0; i < n; ++i)
      EXPECT_EQ(out[i], data[i]);
    cascade_free(out);
  }
}

TEST_F(RuntimeTest, NpyReadF8) {
  std::string file = path("d.npy");
  std::vector<double> values = {1.5, -2.25, 1e10};
  writeBytes(file, npyHeader("{'descr': '<f8', 'fortran_order': False, "
                             "'shape': (3,), }") +
                       rawBytes(values));
  float *out = nullptr;
  int64_t shape[CASCADE_MAX_RANK];
  int rank = 0;
  ASSERT_EQ(cascade_npy_read_f32(file.c_str(), &out, shape, &rank), CASCADE_OK)
      << cascade_last_error();
  ASSERT_EQ(rank, 1);
  EXPECT_EQ(shape[0], 3);
  EXPECT_EQ(out[0], 1.5f);
  EXPECT_EQ(out[1], -2.25f);
  EXPECT_EQ(out[2], 1e10f);
  EXPECT_EQ(reinterpret_cast<uintptr_t>(out) % 64, 0u); // a cache line
  cascade_free(out);
}

// Integer and bool arrays (token ids, masks, ONNX test data) read as f32,
// exactly: the values are hand-written, each within 2^24.
TEST_F(RuntimeTest, NpyReadIntegersAndBools) {
  struct Case {
    const char *descr;
    std::string bytes;
    std::vector<float> want;
  } cases[] = {
      {"<i8",
       rawBytes(std::vector<int64_t>{-3, 0, 16777216}),
       {-3, 0, 16777216}},
      {"<i4", rawBytes(std::vector<int32_t>{-7, 42, 1}), {-7, 42, 1}},
      {"<i2", rawBytes(std::vector<int16_t>{-32768, 5, 0}), {-32768, 5, 0}},
      {"|i1", rawBytes(std::vector<int8_t>{-128, 127, 0}), {-128, 127, 0}},
      {"|u1", rawBytes(std::vector<uint8_t>{255, 0, 9}), {255, 0, 9}},
      {"<u2", rawBytes(std::vector<uint16_t>{65535, 1, 2}), {65535, 1, 2}},
      {"|b1", rawBytes(std::vector<uint8_t>{1, 0, 1}), {1, 0, 1}},
  };
  for (const Case &c : cases) {
    std::string file = path("int.npy");
    writeBytes(file, npyHeader(std::string("{'descr': '") + c.descr +
                               "', 'fortran_order': False, 'shape': (3,), }") +
                         c.bytes);
    float *out = nullptr;
    int64_t shape[CASCADE_MAX_RANK];
    int rank = 0;
    ASSERT_EQ(cascade_npy_read_f32(file.c_str(), &out, shape, &rank),
              CASCADE_OK)
        << c.descr << ": " << cascade_last_error();
    ASSERT_EQ(rank, 1);
    for (int i = 0; i < 3; ++i)
      EXPECT_EQ(out[i], c.want[i]) << c.descr << " element " << i;
    cascade_free(out);
  }
  // A 0-d array (a scalar).
  std::string file = path("scalar.npy");
  writeBytes(file, npyHeader("{'descr': '<i8', 'fortran_order': False, "
                             "'shape': (), }") +
                       rawBytes(std::vector<int64_t>{12}));
  float *out = nullptr;
  int64_t shape[CASCADE_MAX_RANK];
  int rank = -1;
  ASSERT_EQ(cascade_npy_read_f32(file.c_str(), &out, shape, &rank), CASCADE_OK)
      << cascade_last_error();
  EXPECT_EQ(rank, 0);
  EXPECT_EQ(out[0], 12.0f);
  cascade_free(out);
}

// The f64 reader keeps integers exact to 2^53, rounds beyond it (Slice's
// "to the end", INT64_MAX, reads as 2^63) and keeps doubles as written.
TEST_F(RuntimeTest, NpyReadF64) {
  std::string file = path("i64.npy");
  writeBytes(file, npyHeader("{'descr': '<i8', 'fortran_order': False, "
                             "'shape': (3,), }") +
                       rawBytes(std::vector<int64_t>{16777217,
                                                     -(int64_t(1) << 53), -5}));
  double *out = nullptr;
  int64_t shape[CASCADE_MAX_RANK];
  int rank = 0;
  ASSERT_EQ(cascade_npy_read_f64(file.c_str(), &out, shape, &rank), CASCADE_OK)
      << cascade_last_error();
  ASSERT_EQ(rank, 1);
  EXPECT_EQ(out[0], 16777217.0);
  EXPECT_EQ(out[1], -9007199254740992.0);
  EXPECT_EQ(out[2], -5.0);
  cascade_free(out);
  writeBytes(file, npyHeader("{'descr': '<i8', 'fortran_order': False, "
                             "'shape': (1,), }") +
                       rawBytes(std::vector<int64_t>{INT64_MAX}));
  ASSERT_EQ(cascade_npy_read_f64(file.c_str(), &out, shape, &rank), CASCADE_OK);
  EXPECT_EQ(out[0], 9223372036854775808.0);
  cascade_free(out);
  writeBytes(file, npyHeader("{'descr': '<f8', 'fortran_order': False, "
                             "'shape': (1,), }") +
                       rawBytes(std::vector<double>{0.1}));
  ASSERT_EQ(cascade_npy_read_f64(file.c_str(), &out, shape, &rank), CASCADE_OK);
  EXPECT_EQ(out[0], 0.1);
  cascade_free(out);
}

TEST_F(RuntimeTest, NpyReadF2) {
  std::string file = path("h.npy");
  // 1.0, -2.0, +inf, smallest subnormal 2^-24, 0x3555 = 0.333251953125,
  // -0.0.
  std::vector<uint16_t> halves = {0x3C00, 0xC000, 0x7C00,
                                  0x0001, 0x3555, 0x8000};
  writeBytes(file, npyHeader("{'descr': '<f2', 'fortran_order': False, "
                             "'shape': (2, 3), }") +
                       rawBytes(halves));
  float *out = nullptr;
  int64_t shape[CASCADE_MAX_RANK];
  int rank = 0;
  ASSERT_EQ(cascade_npy_read_f32(file.c_str(), &out, shape, &rank), CASCADE_OK)
      << cascade_last_error();
  ASSERT_EQ(rank, 2);
  EXPECT_EQ(shape[0], 2);
  EXPECT_EQ(shape[1], 3);
  EXPECT_EQ(out[0], 1.0f);
  EXPECT_EQ(out[1], -2.0f);
  EXPECT_TRUE(std::isinf(out[2]) && out[2] > 0);
  EXPECT_EQ(out[3], std::ldexp(1.0f, -24));
  EXPECT_EQ(out[4], 0.333251953125f);
  EXPECT_EQ(out[5], 0.0f);
  EXPECT_TRUE(std::signbit(out[5]));
  cascade_free(out);
}

TEST_F(RuntimeTest, NpyReadHeaderSpellings) {
  std::vector<float> values = {4, 5};
  std::string dicts[] = {
      "{\"descr\": \"<f4\", \"fortran_order\": False, \"shape\": (2,)}",
      "{'shape':(2,),'fortran_order':False,'descr':'<f4'}",
      "  {  'descr' :  '<f4' ,\t'fortran_order' : False ,  'shape' : ( 2 , ) , "
      "}  ",
      "{'descr': '<f4', 'fortran_order': False, 'shape': (2L,), }",
  };
  for (const std::string &dict : dicts) {
    std::string file = path("sp.npy");
    writeBytes(file, npyHeader(dict) + rawBytes(values));
    float *out = nullptr;
    int64_t shape[CASCADE_MAX_RANK];
    int rank = 0;
    ASSERT_EQ(cascade_npy_read_f32(file.c_str(), &out, shape, &rank),
              CASCADE_OK)
        << dict << ": " << cascade_last_error();
    EXPECT_EQ(rank, 1);
    EXPECT_EQ(shape[0], 2);
    EXPECT_EQ(out[1], 5.0f);
    cascade_free(out);
  }
}

TEST_F(RuntimeTest, NpyReadVersion2And3) {
  std::vector<float> values = {7};
  for (char major : {'\x02', '\x03'}) {
    std::string dict = "{'descr': '<f4', 'fortran_order': False, "
                       "'shape': (1,), }\n";
    std::string bytes("\x93NUMPY", 6);
    bytes += major;
    bytes += '\0';
    bytes += static_cast<char>(dict.size());
    bytes += std::string(3, '\0');
    bytes += dict + rawBytes(values);
    std::string file = path("v2.npy");
    writeBytes(file, bytes);
    float *out = nullptr;
    int64_t shape[CASCADE_MAX_RANK];
    int rank = 0;
    ASSERT_EQ(cascade_npy_read_f32(file.c_str(), &out, shape, &rank),
              CASCADE_OK)
        << cascade_last_error();
    EXPECT_EQ(out[0], 7.0f);
    cascade_free(out);
  }
}

TEST_F(RuntimeTest, NpyMalformedFilesAreErrors) {
  std::vector<float> four = {1, 2, 3, 4};
  auto header = [](const std::string &descr, const std::string &order,
                   const std::string &shape) {
    return npyHeader("{'descr': " + descr + ", 'fortran_order': " + order +
                     ", 'shape': " + shape + ", }");
  };
  struct Case {
    const char *what;
    std::string bytes;
    const char *mention; // expected in the message besides the file name
  } cases[] = {
      {"empty", "", "too short"},
      {"bad magic", std::string("\x93NUMPX\x01\x00\x00\x00", 10), "magic"},
      {"version 4.0", std::string("\x93NUMPY\x04\x00\x00\x00", 10), "version"},
      {"header past end", std::string("\x93NUMPY\x01\x00\xFF\x00{", 11),
       "truncated"},
      {"v2 header too long",
       std::string("\x93NUMPY\x02\x00\x00\x00\x00\x10", 12), "too long"},
      {"not a dict", npyHeader("['descr', '<f4']"), "not a dict"},
      {"missing key", npyHeader("{'descr': '<f4', 'shape': (4,)}"), "lacks"},
      {"unknown key",
       npyHeader("{'descr': '<f4', 'fortran_order': False, 'shape': (4,), "
                 "'x': 1}"),
       "unexpected key"},
      {"fortran order", header("'<f4'", "True", "(2, 2)") + rawBytes(four),
       "Fortran"},
      {"big endian", header("'>f4'", "False", "(4,)") + rawBytes(four),
       "big-endian"},
      {"complex dtype", header("'<c8'", "False", "(2,)") + rawBytes(four),
       "unsupported dtype"},
      {"string dtype", header("'<U4'", "False", "(1,)") + rawBytes(four),
       "unsupported dtype"},
      {"big-endian int", header("'>i4'", "False", "(4,)") + rawBytes(four),
       "big-endian"},
      {"int beyond 2^24",
       header("'<i4'", "False", "(1,)") +
           rawBytes(std::vector<int32_t>{16777217}),
       "beyond 2^24"},
      {"structured", header("[('a', '<f4')]", "False", "(4,)"), "structured"},
      {"negative dim", header("'<f4'", "False", "(-1,)"), "negative"},
      {"int shape", header("'<f4'", "False", "(4)"), "not a tuple"},
      {"list shape", header("'<f4'", "False", "[4]"), "shape"},
      {"rank 17",
       header("'<f4'", "False", "(1,1,1,1,1,1,1,1,1,1,1,1,1,1,1,1,1)"), "rank"},
      {"dim overflow", header("'<f4'", "False", "(99999999999999999999,)"),
       "too large"},
      {"count overflow",
       header("'<f4'", "False", "(4294967296, 4294967296, 4294967296)"),
       "too large"},
      {"over 2^40 bytes", header("'<f4'", "False", "(274877906944, 2)"),
       "too large"},
      {"zero then huge",
       header("'<f4'", "False", "(0, 4294967296, 4294967296, 4294967296)"),
       "too large"},
      {"truncated data", header("'<f4'", "False", "(5,)") + rawBytes(four),
       "truncated"},
      {"unterminated string", npyHeader("{'descr': '<f4, "), "unterminated"},
      {"text after dict",
       npyHeader("{'descr': '<f4', 'fortran_order': False, 'shape': (4,)} x") +
           rawBytes(four),
       "after"},
      {"bad bool", header("'<f4'", "false", "(4,)") + rawBytes(four),
       "fortran_order"},
  };
  for (const Case &c : cases) {
    std::string file = path("bad.npy");
    writeBytes(file, c.bytes);
    float *out = reinterpret_cast<float *>(&four);
    int64_t shape[CASCADE_MAX_RANK];
    int rank = 5;
    EXPECT_EQ(cascade_npy_read_f32(file.c_str(), &out, shape, &rank),
              CASCADE_ERROR)
        << c.what;
    EXPECT_EQ(out, nullptr) << c.what;
    std::string msg = cascade_last_error();
    EXPECT_NE(msg.find(file), std::string::npos) << c.what << ": " << msg;
    EXPECT_NE(msg.find(c.mention), std::string::npos) << c.what << ": " << msg;
  }

  float *out = nullptr;
  int64_t shape[CASCADE_MAX_RANK];
  int rank;
  std::string missing = path("missing.npy");
  EXPECT_EQ(cascade_npy_read_f32(missing.c_str(), &out, shape, &rank),
            CASCADE_ERROR);
  EXPECT_NE(std::string(cascade_last_error()).find(missing), std::string::npos);
  EXPECT_EQ(cascade_npy_read_f32(dir.c_str(), &out, shape, &rank),
            CASCADE_ERROR);
  EXPECT_EQ(cascade_npy_read_f32(nullptr, &out, shape, &rank), CASCADE_ERROR);
}

TEST(ShapeRefinement, SplitsAndMergesOnly) {
  auto refines = [](std::vector<int64_t> stored, std::vector<int64_t> decl) {
    return cascade_shape_is_refinement(stored.data(), (int)stored.size(),
                                       decl.data(), (int)decl.size());
  };
  EXPECT_EQ(refines({768, 768}, {12, 64, 768}), 1); // split
  EXPECT_EQ(refines({12, 64, 768}, {768, 768}), 1); // merge
  EXPECT_EQ(refines({2, 3, 4}, {6, 4}), 1);
  EXPECT_EQ(refines({6, 4}, {2, 3, 2, 2}), 1); // both split
  EXPECT_EQ(refines({1, 768}, {768}), 1);      // unit dimensions aside
  EXPECT_EQ(refines({768}, {768, 1, 1}), 1);
  EXPECT_EQ(refines({6, 8}, {6, 8}), 1);
  EXPECT_EQ(refines({0, 5}, {5, 0}), 1); // nothing to read
  EXPECT_EQ(refines({6, 8}, {8, 6}), 0); // GPT-2's [in,out] as [out,in]
  EXPECT_EQ(refines({4, 6}, {6, 4}), 0);
  EXPECT_EQ(refines({2, 3, 4}, {3, 8}), 0); // 2*3*4 regrouped as 3*8
  EXPECT_EQ(refines({2, 12}, {4, 6}), 0);   // merge then split
  EXPECT_EQ(refines({768, 3072}, {3072, 768}), 0);
}

TEST_F(RuntimeTest, NpyFailedWriteKeepsExistingFile) {
  std::string file = path("keep.npy");
  float v[2] = {1, 2};
  int64_t shape[] = {2};
  ASSERT_EQ(cascade_npy_write_f32(file.c_str(), v, shape, 1), CASCADE_OK);
  std::string before = readBytes(file);

  // The temporary file cannot be created: a directory is in the way.
  ASSERT_EQ(mkdir((file + ".tmp").c_str(), 0700), 0);
  float w[2] = {3, 4};
  EXPECT_EQ(cascade_npy_write_f32(file.c_str(), w, shape, 1), CASCADE_ERROR);
  EXPECT_NE(std::string(cascade_last_error()).find("keep.npy.tmp"),
            std::string::npos);
  EXPECT_EQ(readBytes(file), before);
  rmdir((file + ".tmp").c_str());

  int64_t bad[] = {-1};
  EXPECT_EQ(cascade_npy_write_f32(file.c_str(), w, bad, 1), CASCADE_ERROR);
  EXPECT_EQ(cascade_npy_write_f32(file.c_str(), w, shape, 17), CASCADE_ERROR);
  EXPECT_EQ(cascade_npy_write_f32(file.c_str(), nullptr, shape, 1),
            CASCADE_ERROR);
  EXPECT_EQ(readBytes(file), before);
  EXPECT_EQ(cascade_npy_write_f32(path("no/such/dir.npy").c_str(), w, shape, 1),
            CASCADE_ERROR);
}

//===--- Manifests and models ---------------------------------------------===//

const char *kExampleManifest =
    "{\"format\": 1, \"model\": \"attention\", \"function\": \"attention\", "
    "\"target\": \"x86_64\", \"inputs\": [{\"name\": \"Q\", \"shape\": [64, "
    "128], \"dtype\": \"f32\"}], \"weights\": [{\"name\": \"WQ\", \"shape\": "
    "[12, 64, 768], \"dtype\": \"f32\", \"key\": \"layer.0.q\", \"file\": "
    "\"model.safetensors\"}], \"outputs\": [{\"name\": \"AV\", \"shape\": "
    "[64, 128], \"dtype\": \"f32\"}]}";

void noopEntry(void **) {}

TEST_F(RuntimeTest, ManifestExample) {
  cascade_model *m = nullptr;
  ASSERT_EQ(cascade_model_from_symbols(kExampleManifest, noopEntry, &m),
            CASCADE_OK)
      << cascade_last_error();
  EXPECT_STREQ(cascade_model_name(m), "attention");
  EXPECT_EQ(cascade_model_count(m, CASCADE_INPUT), 1);
  EXPECT_EQ(cascade_model_count(m, CASCADE_WEIGHT), 1);
  EXPECT_EQ(cascade_model_count(m, CASCADE_OUTPUT), 1);

  cascade_tensor_info info;
  ASSERT_EQ(cascade_model_info(m, CASCADE_INPUT, 0, &info), CASCADE_OK);
  EXPECT_STREQ(info.name, "Q");
  ASSERT_EQ(info.rank, 2);
  EXPECT_EQ(info.shape[0], 64);
  EXPECT_EQ(info.shape[1], 128);
  EXPECT_EQ(info.num_elements, 8192);
  EXPECT_STREQ(info.dtype, "f32");
  EXPECT_EQ(info.weight_key, nullptr);
  EXPECT_EQ(info.weight_file, nullptr);

  ASSERT_EQ(cascade_model_info(m, CASCADE_WEIGHT, 0, &info), CASCADE_OK);
  EXPECT_STREQ(info.name, "WQ");
  ASSERT_EQ(info.rank, 3);
  EXPECT_EQ(info.num_elements, 12 * 64 * 768);
  EXPECT_STREQ(info.weight_key, "layer.0.q");
  EXPECT_STREQ(info.weight_file, "model.safetensors");

  ASSERT_EQ(cascade_model_info(m, CASCADE_OUTPUT, 0, &info), CASCADE_OK);
  EXPECT_STREQ(info.name, "AV");

  EXPECT_EQ(cascade_model_find(m, CASCADE_WEIGHT, "WQ"), 0);
  EXPECT_EQ(cascade_model_find(m, CASCADE_INPUT, "WQ"), -1);
  EXPECT_EQ(cascade_model_find(m, CASCADE_OUTPUT, "AV"), 0);
  EXPECT_EQ(cascade_model_info(m, CASCADE_INPUT, 1, &info), CASCADE_ERROR);
  EXPECT_EQ(cascade_model_info(m, CASCADE_INPUT, -1, &info), CASCADE_ERROR);
  EXPECT_EQ(cascade_model_info(m, static_cast<cascade_role>(3), 0, &info),
            CASCADE_ERROR);
  EXPECT_EQ(cascade_model_count(m, static_cast<cascade_role>(-1)), -1);
  EXPECT_EQ(cascade_model_count(nullptr, CASCADE_INPUT), -1);
  cascade_model_free(m);
  cascade_model_free(nullptr);
}

// The runtime refuses code for another architecture, or for CPU features
// this processor lacks, before running anything (no SIGILL).
TEST_F(RuntimeTest, ManifestCpuCheck) {
#if defined(__x86_64__)
  const char *here = "x86_64", *other = "aarch64";
#else
  const char *here = "aarch64", *other = "x86_64";
#endif
  auto manifest = [](const std::string &target, const std::string &features) {
    return "{\"format\": 1, \"model\": \"m\", \"target\": \"" + target +
           "\", \"cpu\": \"c\", \"features\": \"" + features +
           "\", \"inputs\": [], \"outputs\": []}";
  };
  cascade_model *m = nullptr;
  // Negative and unknown features are never required.
  ASSERT_EQ(
      cascade_model_from_symbols(
          manifest(here, "-avx512f,-sve,+made-up").c_str(), noopEntry, &m),
      CASCADE_OK)
      << cascade_last_error();
  cascade_model_free(m);
  m = nullptr;
  EXPECT_EQ(
      cascade_model_from_symbols(manifest(other, "").c_str(), noopEntry, &m),
      CASCADE_ERROR);
  EXPECT_EQ(m, nullptr);
  EXPECT_EQ(std::string(cascade_last_error()),
            std::string("model 'm' was compiled for ") + other +
                "; this machine is " + here);
  EXPECT_EQ(cascade_model_from_symbols(
                "{\"format\": 1, \"model\": \"m\", \"features\": 3, "
                "\"inputs\": [], \"outputs\": []}",
                noopEntry, &m),
            CASCADE_ERROR);
#if defined(__x86_64__)
  // A feature this CPU lacks, if there is one to test with.
  __builtin_cpu_init();
  if (!__builtin_cpu_supports("avx512f")) {
    EXPECT_EQ(cascade_model_from_symbols(
                  manifest(here, "+avx2,+avx512f").c_str(), noopEntry, &m),
              CASCADE_ERROR);
    EXPECT_NE(std::string(cascade_last_error()).find("lacks: avx512f"),
              std::string::npos);
  }
#endif
}

TEST_F(RuntimeTest, ManifestOptionalFields) {
  const char *json =
      "{\"format\": 1, \"model\": \"m\", \"extra\": {\"x\": [1, 2.5e3, null, "
      "true]}, \"inputs\": [{\"name\": \"S\", \"shape\": [], \"dtype\": "
      "\"bf16\", \"note\": \"\\u00e9\\n\"}, {\"name\": \"E\", \"shape\": [3, "
      "0], \"dtype\": \"f16\"}], \"weights\": [{\"name\": \"W\", \"shape\": "
      "[2], \"dtype\": \"f32\", \"file\": null}], \"outputs\": []}";
  cascade_model *m = nullptr;
  ASSERT_EQ(cascade_model_from_symbols(json, noopEntry, &m), CASCADE_OK)
      << cascade_last_error();
  cascade_tensor_info info;
  ASSERT_EQ(cascade_model_info(m, CASCADE_INPUT, 0, &info), CASCADE_OK);
  EXPECT_EQ(info.rank, 0);
  EXPECT_EQ(info.num_elements, 1);
  EXPECT_STREQ(info.dtype, "bf16");
  ASSERT_EQ(cascade_model_info(m, CASCADE_INPUT, 1, &info), CASCADE_OK);
  EXPECT_EQ(info.num_elements, 0);
  ASSERT_EQ(cascade_model_info(m, CASCADE_WEIGHT, 0, &info), CASCADE_OK);
  EXPECT_STREQ(info.weight_key, "W"); // defaults to the name
  EXPECT_EQ(info.weight_file, nullptr);
  EXPECT_EQ(cascade_model_count(m, CASCADE_OUTPUT), 0);
  cascade_model_free(m);

  // "weights" may be absent.
  ASSERT_EQ(cascade_model_from_symbols("{\"format\": 1, \"model\": \"m\", "
                                       "\"inputs\": [], \"outputs\": []}",
                                       noopEntry, &m),
            CASCADE_OK)
      << cascade_last_error();
  EXPECT_EQ(cascade_model_count(m, CASCADE_WEIGHT), 0);
  cascade_model_free(m);
}

TEST_F(RuntimeTest, ManifestMalformed) {
  auto manifest = [](const std::string &tensor) {
    return "{\"format\": 1, \"model\": \"m\", \"inputs\": [" + tensor +
           "], \"outputs\": []}";
  };
  std::string deep =
      "{\"format\": 1, \"model\": \"m\", \"x\": " + std::string(100, '[') +
      std::string(100, ']') + ", \"inputs\": [], \"outputs\": []}";
  std::string veryDeep(100000, '[');
  struct Case {
    std::string json;
    const char *mention;
  } cases[] = {
      {"", "end of text"},
      {"not json", "invalid literal"},
      {"@", "unexpected character"},
      {"{\"format\": 1,}", "string key"},
      {"[1, 2,]", "unexpected character"},
      {"{\"format\": 1} x", "after the top-level"},
      {"[]", "not an object"},
      {"{\"model\": \"m\", \"inputs\": [], \"outputs\": []}", "format"},
      {"{\"format\": 2, \"model\": \"m\", \"inputs\": [], \"outputs\": []}",
       "unsupported format 2"},
      {"{\"format\": 1, \"model\": \"m\", \"outputs\": []}", "inputs"},
      {"{\"format\": 1, \"format\": 1}", "duplicate key"},
      {"{\"format\": 1, \"model\": \"m\", \"inputs\": {}, \"outputs\": []}",
       "not an array"},
      {manifest("{\"shape\": [1], \"dtype\": \"f32\"}"), "name"},
      {manifest("{\"name\": \"\", \"shape\": [1], \"dtype\": \"f32\"}"),
       "invalid tensor name"},
      {manifest("{\"name\": \"../x\", \"shape\": [1], \"dtype\": \"f32\"}"),
       "invalid tensor name"},
      {manifest("{\"name\": \"A\", \"dtype\": \"f32\"}"), "shape"},
      {manifest("{\"name\": \"A\", \"shape\": [-1], \"dtype\": \"f32\"}"),
       "non-negative"},
      {manifest("{\"name\": \"A\", \"shape\": [1.5], \"dtype\": \"f32\"}"),
       "non-negative"},
      {manifest("{\"name\": \"A\", \"shape\": [\"2\"], \"dtype\": \"f32\"}"),
       "non-negative"},
      {manifest("{\"name\": \"A\", \"shape\": [99999999999999999999], "
                "\"dtype\": \"f32\"}"),
       "non-negative"},
      {manifest("{\"name\": \"A\", \"shape\": [4294967296, 4294967296], "
                "\"dtype\": \"f32\"}"),
       "overflows"},
      {manifest("{\"name\": \"A\", \"shape\": "
                "[1,1,1,1,1,1,1,1,1,1,1,1,1,1,1,1,1], \"dtype\": \"f32\"}"),
       "rank 17"},
      {manifest("{\"name\": \"A\", \"shape\": [1]}"), "dtype"},
      {manifest("{\"name\": \"A\", \"shape\": [1], \"dtype\": \"i32\"}"),
       "unsupported dtype"},
      {manifest("{\"name\": \"A\", \"shape\": [1], \"dtype\": \"f32\"}, "
                "{\"name\": \"A\", \"shape\": [1], \"dtype\": \"f32\"}"),
       "duplicate tensor name"},
      {"{\"format\": 1, \"model\": \"m\", \"inputs\": [], \"weights\": "
       "[{\"name\": \"W\", \"shape\": [], \"dtype\": \"f32\", \"key\": 3}], "
       "\"outputs\": []}",
       "\"key\""},
      {"{\"format\": 1, \"model\": \"a\\qb\"}", "invalid escape"},
      {"{\"format\": 1, \"model\": \"a\\ud800\"}", "surrogate"},
      {"{\"format\": 1, \"model\": \"a\\u0000\"}", "\\u0000"},
      {"{\"format\": 1, \"model\": \"a\nb\"}", "control character"},
      {"{\"format\": 1, \"model\": \"ab", "unterminated"},
      {"{\"format\": 01}", "expected ','"},
      {"{\"format\": -}", "invalid number"},
      {"{\"format\": tru}", "invalid literal"},
      {deep, "nesting"},
      {veryDeep, "nesting"},
  };
  for (const Case &c : cases) {
    cascade_model *m = reinterpret_cast<cascade_model *>(&m);
    EXPECT_EQ(cascade_model_from_symbols(c.json.c_str(), noopEntry, &m),
              CASCADE_ERROR)
        << c.json;
    EXPECT_EQ(m, nullptr);
    std::string msg = cascade_last_error();
    EXPECT_EQ(msg.rfind("invalid manifest: ", 0), 0u) << msg;
    EXPECT_NE(msg.find(c.mention), std::string::npos) << c.json << ": " << msg;
  }
  cascade_model *m = nullptr;
  EXPECT_EQ(cascade_model_from_symbols(nullptr, noopEntry, &m), CASCADE_ERROR);
  EXPECT_EQ(cascade_model_from_symbols(kExampleManifest, nullptr, &m),
            CASCADE_ERROR);
}

// C = A + B * W (elementwise); A, B: inputs, W: weight, C: output.
const char *kAddManifest =
    "{\"format\": 1, \"model\": \"add\", \"function\": \"add\", \"target\": "
    "\"x86_64\", \"inputs\": [{\"name\": \"A\", \"shape\": [2, 3], \"dtype\": "
    "\"f32\"}, {\"name\": \"B\", \"shape\": [2, 3], \"dtype\": \"f32\"}], "
    "\"weights\": [{\"name\": \"W\", \"shape\": [2, 3], \"dtype\": \"f32\", "
    "\"key\": \"layer.w\"}], \"outputs\": [{\"name\": \"C\", \"shape\": [2, "
    "3], \"dtype\": \"f32\"}]}";

int addCalls = 0;
int addMisaligned = 0; // buffers not on a 64-byte boundary, over all calls

void addEntry(void **buffers) {
  const float *a = static_cast<const float *>(buffers[0]);
  const float *b = static_cast<const float *>(buffers[1]);
  const float *w = static_cast<const float *>(buffers[2]);
  float *c = static_cast<float *>(buffers[3]);
  for (int i = 0; i < 6; ++i)
    c[i] = a[i] + b[i] * w[i];
  ++addCalls;
  for (int i = 0; i < 4; ++i)
    addMisaligned += reinterpret_cast<uintptr_t>(buffers[i]) % 64 != 0;
}

TEST_F(RuntimeTest, ModelRun) {
  cascade_model *m = nullptr;
  ASSERT_EQ(cascade_model_from_symbols(kAddManifest, addEntry, &m), CASCADE_OK)
      << cascade_last_error();
  EXPECT_EQ(cascade_model_count(m, CASCADE_INPUT), 2);
  EXPECT_EQ(cascade_model_find(m, CASCADE_INPUT, "B"), 1);
  cascade_tensor_info info;
  ASSERT_EQ(cascade_model_info(m, CASCADE_WEIGHT, 0, &info), CASCADE_OK);
  EXPECT_STREQ(info.weight_key, "layer.w");

  float a[6] = {1, 2, 3, 4, 5, 6};
  float b[6] = {10, 20, 30, 40, 50, 60};
  float w[6] = {1, 1, 1, 2, 2, 0.5f};
  float c[6] = {0};
  void *buffers[] = {a, b, w, c};
  ASSERT_EQ(cascade_model_run(m, buffers), CASCADE_OK);
  float expected[6] = {11, 22, 33, 84, 105, 36};
  for (int i = 0; i < 6; ++i)
    EXPECT_EQ(c[i], expected[i]);

  void *missing[] = {a, nullptr, w, c};
  int calls = addCalls;
  EXPECT_EQ(cascade_model_run(m, missing), CASCADE_ERROR);
  EXPECT_NE(std::string(cascade_last_error()).find("'B'"), std::string::npos);
  EXPECT_EQ(addCalls, calls);
  EXPECT_EQ(cascade_model_run(m, nullptr), CASCADE_ERROR);
  EXPECT_EQ(cascade_model_run(nullptr, buffers), CASCADE_ERROR);
  cascade_model_free(m);
}

TEST_F(RuntimeTest, ModelLoadErrors) {
  cascade_model *m = nullptr;
  std::string missing = path("nope.so");
  EXPECT_EQ(cascade_model_load(missing.c_str(), &m), CASCADE_ERROR);
  EXPECT_EQ(m, nullptr);
  EXPECT_NE(std::string(cascade_last_error()).find(missing), std::string::npos);
  // A real shared library that is not a model.
  EXPECT_EQ(cascade_model_load("libm.so.6", &m), CASCADE_ERROR);
  EXPECT_NE(std::string(cascade_last_error()).find("not a Cascade model"),
            std::string::npos)
      << cascade_last_error();
  EXPECT_EQ(cascade_model_load(nullptr, &m), CASCADE_ERROR);
}

TEST_F(RuntimeTest, ModelLoadAndRun) {
#ifndef CASCADE_TEST_MODEL
  GTEST_SKIP() << "built without CASCADE_TEST_MODEL (path of TestModel.c "
                  "built as a shared library)";
#else
  cascade_model *m = nullptr;
  ASSERT_EQ(cascade_model_load(CASCADE_TEST_MODEL, &m), CASCADE_OK)
      << cascade_last_error();
  EXPECT_STREQ(cascade_model_name(m), "axpy");
  EXPECT_EQ(cascade_model_count(m, CASCADE_INPUT), 2);
  EXPECT_EQ(cascade_model_count(m, CASCADE_WEIGHT), 0);
  EXPECT_EQ(cascade_model_count(m, CASCADE_OUTPUT), 1);
  float a[6] = {1, 2, 3, 4, 5, 6}, b[6] = {1, 1, 1, -1, -1, 0.25f}, c[6];
  void *buffers[] = {a, b, c};
  ASSERT_EQ(cascade_model_run(m, buffers), CASCADE_OK);
  float expected[6] = {3, 4, 5, 2, 3, 6.5f};
  for (int i = 0; i < 6; ++i)
    EXPECT_EQ(c[i], expected[i]);
  cascade_model_free(m);
#endif
}

//===--- Profiles ---------------------------------------------------------===//

// The add model as a --profile build: two steps, the second in an outlined
// layer that runs twice per call. Its entry adds fixed times to the
// counters, as the generated code adds measured ones.
const char *kProfiledManifest =
    "{\"format\": 1, \"model\": \"add\", \"function\": \"add\", \"target\": "
    "\"x86_64\", \"inputs\": [{\"name\": \"A\", \"shape\": [2, 3], \"dtype\": "
    "\"f32\"}, {\"name\": \"B\", \"shape\": [2, 3], \"dtype\": \"f32\"}], "
    "\"weights\": [{\"name\": \"W\", \"shape\": [2, 3], \"dtype\": \"f32\", "
    "\"key\": \"layer.w\"}], \"outputs\": [{\"name\": \"C\", \"shape\": [2, "
    "3], \"dtype\": \"f32\"}], \"profile\": [{\"name\": \"C\", \"function\": "
    "\"add\", \"equations\": [\"C\"], \"flops\": 12000000}, {\"name\": \"D\", "
    "\"function\": \"layer\", \"equations\": [\"X\", \"D\"], \"flops\": 0}]}";

int64_t profileCounters[4];

void profiledAddEntry(void **buffers) {
  addEntry(buffers);
  profileCounters[0] += 2000000; // 2 ms
  profileCounters[1] += 1;
  profileCounters[2] += 2 * 500000; // two calls of 0.5 ms
  profileCounters[3] += 2;
}

TEST_F(RuntimeTest, ProfileCountsAndTable) {
  cascade_model *m = nullptr;
  ASSERT_EQ(cascade_model_from_symbols(kProfiledManifest, profiledAddEntry, &m),
            CASCADE_OK)
      << cascade_last_error();
  EXPECT_EQ(cascade_model_profile_size(m), 0); // no counters yet
  profileCounters[0] = 77;                     // attaching resets them
  ASSERT_EQ(cascade_model_attach_profile(m, profileCounters), CASCADE_OK);
  EXPECT_EQ(profileCounters[0], 0);
  EXPECT_EQ(cascade_model_profile_size(m), 2);
  EXPECT_EQ(cascade_model_profile_format(m, nullptr, 0), 0u); // no run yet

  float a[6] = {0}, b[6] = {0}, w[6] = {0}, c[6];
  void *buffers[] = {a, b, w, c};
  for (int i = 0; i < 3; ++i)
    ASSERT_EQ(cascade_model_run(m, buffers), CASCADE_OK);
  cascade_model_profile_reset(m); // as after a warm-up
  for (int i = 0; i < 2; ++i)
    ASSERT_EQ(cascade_model_run(m, buffers), CASCADE_OK);

  cascade_profile_step s;
  ASSERT_EQ(cascade_model_profile_step(m, 0, &s), CASCADE_OK);
  EXPECT_STREQ(s.name, "C");
  EXPECT_STREQ(s.function, "add");
  EXPECT_EQ(s.flops, 12000000);
  EXPECT_EQ(s.calls, 2);
  EXPECT_DOUBLE_EQ(s.seconds, 0.004);
  ASSERT_EQ(cascade_model_profile_step(m, 1, &s), CASCADE_OK);
  EXPECT_STREQ(s.equations, "X D");
  EXPECT_EQ(s.calls, 4);
  EXPECT_DOUBLE_EQ(s.seconds, 0.002);
  EXPECT_EQ(cascade_model_profile_step(m, 2, &s), CASCADE_ERROR);

  // Per run: C 2 ms at 12 MFLOP / 2 ms = 6 GFLOP/s; the layer's D twice,
  // 1 ms, no FLOPs. The run's own time is measured, so "%" is not checked.
  std::string text(cascade_model_profile_format(m, nullptr, 0), '\0');
  ASSERT_EQ(cascade_model_profile_format(m, text.data(), text.size() + 1),
            text.size());
  EXPECT_EQ(text.rfind("profile of add: 2 runs, ", 0), 0u) << text;
  EXPECT_NE(
      text.find("  step        ms/run      %  GFLOP/s  calls  equations\n"),
      std::string::npos)
      << text;
  EXPECT_NE(text.find("\n  C            2.000 "), std::string::npos) << text;
  EXPECT_NE(text.find("      6.0    1.0  C\n"), std::string::npos) << text;
  EXPECT_NE(text.find("\n  layer:D      1.000 "), std::string::npos) << text;
  EXPECT_NE(text.find("        -    2.0  X D\n"), std::string::npos) << text;
  // A short buffer gets a NUL-terminated prefix.
  char small[8];
  EXPECT_EQ(cascade_model_profile_format(m, small, sizeof small), text.size());
  EXPECT_STREQ(small, "profile");
  cascade_model_free(m);

  // A model built without --profile cannot take counters.
  ASSERT_EQ(cascade_model_from_symbols(kAddManifest, addEntry, &m), CASCADE_OK);
  EXPECT_EQ(cascade_model_attach_profile(m, profileCounters), CASCADE_ERROR);
  EXPECT_NE(std::string(cascade_last_error()).find("without --profile"),
            std::string::npos);
  cascade_model_free(m);
}

//===--- Random values ----------------------------------------------------===//

TEST_F(RuntimeTest, FillNormalMatchesReference) {
  // From a direct Python transcription of the algorithm in Random.cpp using
  // math.log/cos/sin (so only the last float bit may differ).
  struct Case {
    uint64_t seed, stream;
    float values[6];
  } cases[] = {
      {0,
       0,
       {-0.18828292f, 0.037215464f, -0.38524660f, 1.8608612f, 1.7347400f,
        0.73019201f}},
      {42,
       3,
       {-0.85491055f, -1.3786484f, 0.15832314f, 1.5119729f, 0.69952869f,
        2.0459557f}},
      {UINT64_MAX,
       7,
       {0.19635144f, -0.86501324f, -0.42937893f, 0.050510116f, 0.31431267f,
        0.66262245f}},
  };
  for (const Case &c : cases) {
    float out[6];
    cascade_fill_normal(out, 6, c.seed, c.stream);
    for (int i = 0; i < 6; ++i)
      EXPECT_NEAR(out[i], c.values[i], 1e-6f * (1 + std::fabs(c.values[i])))
          << c.seed << "/" << c.stream << "[" << i << "]";
  }
}

TEST_F(RuntimeTest, FillNormalDeterminismAndMoments) {
  const int64_t n = 100000;
  std::vector<float> a(n), b(n), c(n), prefix(n - 1);
  cascade_fill_normal(a.data(), n, 1234, 0);
  cascade_fill_normal(b.data(), n, 1234, 0);
  cascade_fill_normal(c.data(), n, 1234, 1);
  cascade_fill_normal(prefix.data(), n - 1, 1234, 0);
  EXPECT_EQ(std::memcmp(a.data(), b.data(), n * sizeof(float)), 0);
  EXPECT_EQ(std::memcmp(a.data(), prefix.data(), (n - 1) * sizeof(float)), 0);
  EXPECT_NE(std::memcmp(a.data(), c.data(), n * sizeof(float)), 0);

  for (const std::vector<float> *v : {&a, &c}) {
    double sum = 0, sumSq = 0;
    for (float x : *v) {
      ASSERT_TRUE(std::isfinite(x));
      sum += x;
      sumSq += double(x) * x;
    }
    double mean = sum / n;
    double var = sumSq / n - mean * mean;
    EXPECT_NEAR(mean, 0.0, 0.05);
    EXPECT_NEAR(var, 1.0, 0.1);
  }
  cascade_fill_normal(nullptr, 10, 0, 0); // no-op
  cascade_fill_normal(a.data(), -1, 0, 0);
}

TEST_F(RuntimeTest, NowMsIsMonotonic) {
  double t0 = cascade_now_ms();
  double t1 = cascade_now_ms();
  EXPECT_GE(t1, t0);
}

#ifdef __GLIBC__
/// In a child process: rounds of allocating three 6 MiB buffers (a model's
/// scratch), touching them and freeing them. Exits with bit 0 set when a
/// buffer of the last round was a fresh mmap (its pages mapped again, one
/// fault per page or huge page), bit 1 when freeing them gave the memory
/// back to the system (the next round maps it again).
[[noreturn]] void scratchRoundsChild(bool reuse) {
  // glibc's initial thresholds (128 KiB), fixed: this process may have
  // called cascade_reuse_scratch_memory already (cascade_exe_main does).
  mallopt(M_MMAP_THRESHOLD, 128 << 10);
  mallopt(M_TRIM_THRESHOLD, 128 << 10);
  if (reuse)
    cascade_reuse_scratch_memory();
  constexpr size_t kBytes = 6 << 20;
  int result = 0;
  for (int round = 0; round < 4; ++round) {
    // Counted against this round's start: the forked process inherits the
    // test process's heap, with whatever chunks and mappings it holds.
    struct mallinfo2 start = mallinfo2();
    // Volatile: the compiler may not drop an allocation nobody reads.
    char *volatile buffers[3];
    for (int i = 0; i < 3; ++i) {
      char *b = static_cast<char *>(std::malloc(kBytes));
      if (!b)
        _exit(255);
      std::memset(b, 1, kBytes);
      buffers[i] = b;
    }
    struct mallinfo2 full = mallinfo2();
    for (int i = 0; i < 3; ++i)
      std::free(buffers[i]);
    struct mallinfo2 freed = mallinfo2();
    // From the system: the heap (arena) plus the mapped chunks (hblkhd).
    size_t held = full.arena + full.hblkhd, kept = freed.arena + freed.hblkhd;
    bool mapped = full.hblks > start.hblks;
    bool returned = kept + kBytes <= held;
    result = (mapped ? 1 : 0) | (returned ? 2 : 0);
  }
  _exit(result);
}

int scratchRounds(bool reuse) {
  pid_t pid = fork();
  if (pid == 0)
    scratchRoundsChild(reuse);
  int status = 0;
  if (pid < 0 || waitpid(pid, &status, 0) != pid || !WIFEXITED(status))
    return -1;
  return WEXITSTATUS(status);
}
#endif

TEST_F(RuntimeTest, ReuseScratchMemoryKeepsFreedBuffers) {
#ifndef __GLIBC__
  GTEST_SKIP() << "cascade_reuse_scratch_memory tunes glibc's malloc only";
#else
  // The control shows what the call prevents: with glibc's initial
  // thresholds each round's buffers are fresh mmaps, unmapped by free.
  EXPECT_EQ(scratchRounds(false), 3);
  // After the call the fourth round reuses heap memory the earlier rounds
  // freed, and keeps it after freeing.
  EXPECT_EQ(scratchRounds(true), 0);
#endif
}

//===--- Standalone executable --------------------------------------------===//

/// Runs cascade_exe_main on the add model with `args`; captures stdout and
/// stderr.
int runExe(const std::vector<std::string> &args, std::string *out,
           std::string *err, const char *manifest = kAddManifest) {
  std::vector<std::string> storage = {"/path/to/add-model"};
  storage.insert(storage.end(), args.begin(), args.end());
  std::vector<char *> argv;
  for (std::string &s : storage)
    argv.push_back(&s[0]);
  argv.push_back(nullptr);
  ::testing::internal::CaptureStdout();
  ::testing::internal::CaptureStderr();
  int rc = cascade_exe_main(static_cast<int>(storage.size()), argv.data(),
                            manifest, addEntry, nullptr);
  *out = ::testing::internal::GetCapturedStdout();
  *err = ::testing::internal::GetCapturedStderr();
  return rc;
}

std::vector<float> readNpy(const std::string &file) {
  float *data = nullptr;
  int64_t shape[CASCADE_MAX_RANK];
  int rank = 0;
  std::vector<float> v;
  if (cascade_npy_read_f32(file.c_str(), &data, shape, &rank) != CASCADE_OK)
    return v;
  int64_t n = 1;
  for (int i = 0; i < rank; ++i)
    n *= shape[i];
  v.assign(data, data + n);
  cascade_free(data);
  return v;
}

TEST_F(RuntimeTest, ExeRandomInputsAndReproduce) {
  std::string out, err;
  std::string outDir = path("out/nested");
  addMisaligned = 0;
  ASSERT_EQ(runExe({"--random-inputs", "--seed=7", "--output-dir", outDir},
                   &out, &err),
            0)
      << err;
  EXPECT_EQ(out, "wrote " + outDir + "/C.npy\n");
  EXPECT_EQ(err, "");
  std::vector<float> a = readNpy(outDir + "/A.npy");
  std::vector<float> b = readNpy(outDir + "/B.npy");
  std::vector<float> w = readNpy(outDir + "/W.npy");
  std::vector<float> c = readNpy(outDir + "/C.npy");
  ASSERT_EQ(a.size(), 6u);
  ASSERT_EQ(w.size(), 6u);
  ASSERT_EQ(c.size(), 6u);
  // Each tensor uses its buffer index as the stream.
  float expectedW[6];
  cascade_fill_normal(expectedW, 6, 7, 2);
  for (int i = 0; i < 6; ++i) {
    EXPECT_EQ(w[i], expectedW[i]);
    EXPECT_EQ(c[i], a[i] + b[i] * w[i]);
  }

  // Reproduce from the written files; the weight may be named by its key.
  std::string again = path("again");
  ASSERT_EQ(
      runExe({"--input", "A=" + outDir + "/A.npy",
              "--input=B=" + outDir + "/B.npy", "--input",
              "layer.w=" + outDir + "/W.npy", "--output-dir=" + again + "/"},
             &out, &err),
      0)
      << err;
  EXPECT_EQ(out, "wrote " + again + "/C.npy\n");
  EXPECT_EQ(readNpy(again + "/C.npy"), c);
  // Drawn, read and output buffers all start on a cache line.
  EXPECT_EQ(addMisaligned, 0);
}

TEST_F(RuntimeTest, ExeBenchAndHelp) {
  std::string out, err;
  int calls = addCalls;
  ASSERT_EQ(
      runExe({"--random-inputs", "--bench=3", "--output-dir", dir}, &out, &err),
      0)
      << err;
  EXPECT_EQ(addCalls - calls, 4); // warm-up + 3
  EXPECT_EQ(out.rfind("median_ms=", 0), 0u) << out;
  EXPECT_NE(out.find("\nwrote " + dir + "/C.npy\n"), std::string::npos) << out;

  ASSERT_EQ(runExe({"--help"}, &out, &err), 0);
  EXPECT_NE(out.find("usage: add-model"), std::string::npos) << out;
}

TEST_F(RuntimeTest, ExeProfile) {
  std::vector<std::string> storage = {"/path/to/add-model", "--random-inputs",
                                      "--profile",          "--bench=2",
                                      "--output-dir",       dir};
  std::vector<char *> argv;
  for (std::string &s : storage)
    argv.push_back(&s[0]);
  ::testing::internal::CaptureStdout();
  ::testing::internal::CaptureStderr();
  int rc =
      cascade_exe_main(static_cast<int>(argv.size()), argv.data(),
                       kProfiledManifest, profiledAddEntry, profileCounters);
  std::string out = ::testing::internal::GetCapturedStdout();
  std::string err = ::testing::internal::GetCapturedStderr();
  ASSERT_EQ(rc, 0) << err;
  // median_ms, the outputs, then the table over the two timed runs.
  size_t wrote = out.find("wrote " + dir + "/C.npy\n");
  size_t table = out.find("profile of add: 2 runs");
  ASSERT_NE(wrote, std::string::npos) << out;
  ASSERT_NE(table, std::string::npos) << out;
  EXPECT_LT(wrote, table);
  EXPECT_NE(out.find("\n  C            2.000 "), std::string::npos) << out;

  // Without counters, --profile is a usage error.
  ASSERT_EQ(runExe({"--random-inputs", "--profile"}, &out, &err), 2);
  EXPECT_NE(err.find("compiled without profiling"), std::string::npos) << err;
}

TEST_F(RuntimeTest, ExeErrors) {
  std::string out, err;
  std::vector<float> five = {1, 2, 3, 4, 5};
  int64_t shape5[] = {5};
  std::string bad = path("bad.npy");
  ASSERT_EQ(cascade_npy_write_f32(bad.c_str(), five.data(), shape5, 1),
            CASCADE_OK);
  std::vector<float> six(6, 1.0f);
  int64_t shape23[] = {2, 3}, shape6[] = {6};
  std::string good = path("good.npy"), flat = path("flat.npy");
  ASSERT_EQ(cascade_npy_write_f32(good.c_str(), six.data(), shape23, 2),
            CASCADE_OK);
  ASSERT_EQ(cascade_npy_write_f32(flat.c_str(), six.data(), shape6, 1),
            CASCADE_OK);

  struct Case {
    std::vector<std::string> args;
    int rc;
    std::string message; // the stderr line after "add-model: error: "
  } cases[] = {
      {{"--frobnicate"}, 2, "unknown option '--frobnicate' (see --help)"},
      {{"stray"}, 2, "unexpected argument 'stray' (see --help)"},
      {{"--input"}, 2, "--input needs NAME=FILE.npy"},
      {{"--input", "A"}, 2, "--input needs NAME=FILE.npy, got 'A'"},
      {{"--bench=0"}, 2, "--bench needs a positive integer, got '0'"},
      {{"--seed=-1"}, 2, "--seed needs a non-negative integer, got '-1'"},
      {{"--input", "Z=" + good}, 2, "unknown input 'Z' (see --help)"},
      {{"--input", "C=" + good}, 2, "'C' is an output, not an input"},
      {{"--input", "A=" + good, "--input", "A=" + good},
       2,
       "input 'A' given twice"},
      {{"--input", "A=" + good},
       2,
       "missing input 'B' (give --input B=FILE.npy or --random-inputs)"},
      {{"--input", "A=" + good, "--input", "B=" + good},
       2,
       "missing weight 'W', key 'layer.w': give --weights FILE.safetensors, "
       "--input W=FILE.npy or --random-inputs"},
      {{"--input", "A=" + bad, "--random-inputs", "--output-dir", dir},
       1,
       "input 'A': expected shape [2, 3], got [5]"},
      {{"--input", "A=" + flat, "--random-inputs", "--output-dir", dir},
       1,
       "input 'A': expected shape [2, 3], got [6]"},
      {{"--input", "W=" + bad, "--random-inputs", "--output-dir", dir},
       1,
       "weight 'W': expected shape [2, 3], got [5]"},
      {{"--input", "A=" + path("none.npy"), "--random-inputs", "--output-dir",
        dir},
       1,
       ("input 'A': " + path("none.npy") +
        ": cannot open: No such file or directory")},
      {{"--random-inputs", "--output-dir", bad},
       1,
       "cannot create output directory '" + bad + "': Not a directory"},
  };
  for (const Case &c : cases) {
    EXPECT_EQ(runExe(c.args, &out, &err), c.rc) << err;
    EXPECT_EQ(err, "add-model: error: " + c.message + "\n");
    EXPECT_EQ(out, "");
  }

  EXPECT_EQ(runExe({"--random-inputs"}, &out, &err, "{}"), 1);
  EXPECT_EQ(err, "add-model: error: invalid manifest: missing \"format\"\n");
}

} // namespace

// ---- safetensors ----------------------------------------------------------

namespace {
/// A safetensors file image: header JSON (padded to 8 bytes), then `data`.
std::string safetensorsImage(const std::string &header,
                             const std::string &data) {
  std::string h = header;
  while (h.size() % 8)
    h += ' ';
  std::string out(8, '\0');
  uint64_t n = h.size();
  for (int i = 0; i < 8; ++i)
    out[i] = static_cast<char>((n >> (8 * i)) & 0xFF);
  return out + h + data;
}

std::string bytesOf(const void *p, size_t n) {
  return std::string(static_cast<const char *>(p), n);
}
} // namespace

TEST_F(RuntimeTest, SafetensorsConvertsEveryFloatType) {
  // F16: 1, -2.5, 65504 (largest), 2^-24 (smallest subnormal), -0, inf.
  const uint16_t half[6] = {0x3C00, 0xC100, 0x7BFF, 0x0001, 0x8000, 0x7C00};
  // BF16: 1, -0.5; F32 and F64 values.
  const uint16_t bf[2] = {0x3F80, 0xBF00};
  const float f32[2] = {0.25f, -7.0f};
  const double f64[4] = {1.5, -2.0, 3.25, 1e300};
  std::string data =
      bytesOf(half, 12) + bytesOf(bf, 4) + bytesOf(f32, 8) + bytesOf(f64, 32);
  std::string file =
      safetensorsImage("{\"__metadata__\": {\"format\": \"pt\"}, "
                       "\"h\": {\"dtype\": \"F16\", \"shape\": [2, 3], "
                       "\"data_offsets\": [0, 12]}, "
                       "\"b\": {\"dtype\": \"BF16\", \"shape\": [2], "
                       "\"data_offsets\": [12, 16]}, "
                       "\"f\": {\"dtype\": \"F32\", \"shape\": [2], "
                       "\"data_offsets\": [16, 24]}, "
                       "\"d\": {\"dtype\": \"F64\", \"shape\": [4], "
                       "\"data_offsets\": [24, 56]}}",
                       data);
  cascade_weights *w = nullptr;
  ASSERT_EQ(cascade_weights_open_memory(file.data(), file.size(), "t", &w),
            CASCADE_OK)
      << cascade_last_error();
  EXPECT_EQ(cascade_weights_count(w), 4);
  int64_t shape[CASCADE_MAX_RANK];
  int rank = 0;
  const char *dtype = nullptr;
  ASSERT_EQ(cascade_weights_info(w, "h", shape, &rank, &dtype), CASCADE_OK);
  EXPECT_EQ(rank, 2);
  EXPECT_EQ(shape[0], 2);
  EXPECT_EQ(shape[1], 3);
  EXPECT_STREQ(dtype, "F16");

  float h[6];
  // A re-view: 6 elements stored as [2, 3], read as 6.
  ASSERT_EQ(cascade_weights_read_f32(w, "h", h, 6), CASCADE_OK);
  EXPECT_EQ(h[0], 1.0f);
  EXPECT_EQ(h[1], -2.5f);
  EXPECT_EQ(h[2], 65504.0f);
  EXPECT_EQ(h[3], 5.9604644775390625e-8f); // 2^-24
  EXPECT_TRUE(std::signbit(h[4]) && h[4] == 0.0f);
  EXPECT_TRUE(std::isinf(h[5]) && h[5] > 0);
  float b[2], f[2], d[4];
  ASSERT_EQ(cascade_weights_read_f32(w, "b", b, 2), CASCADE_OK);
  EXPECT_EQ(b[0], 1.0f);
  EXPECT_EQ(b[1], -0.5f);
  ASSERT_EQ(cascade_weights_read_f32(w, "f", f, 2), CASCADE_OK);
  EXPECT_EQ(f[0], 0.25f);
  EXPECT_EQ(f[1], -7.0f);
  ASSERT_EQ(cascade_weights_read_f32(w, "d", d, 4), CASCADE_OK);
  EXPECT_EQ(d[2], 3.25f);
  EXPECT_TRUE(std::isinf(d[3])); // beyond f32: +inf

  EXPECT_EQ(cascade_weights_read_f32(w, "h", h, 5), CASCADE_ERROR);
  EXPECT_STREQ(cascade_last_error(),
               "t: tensor 'h' has shape [2, 3] (6 elements); 5 were expected");
  EXPECT_EQ(cascade_weights_read_f32(w, "nope", h, 1), CASCADE_ERROR);
  EXPECT_STREQ(cascade_last_error(), "t: no tensor 'nope'");
  EXPECT_EQ(cascade_weights_read_f32(w, "__metadata__", h, 1), CASCADE_ERROR);
  cascade_weights_close(w);
  cascade_weights_close(nullptr);
  EXPECT_EQ(cascade_weights_count(nullptr), -1);
}

TEST_F(RuntimeTest, SafetensorsRejectsBrokenHeaders) {
  struct Case {
    std::string file, message;
  } cases[] = {
      {std::string("\x01\x00", 2), "not a safetensors file: 2 bytes"},
      {safetensorsImage("{}", "").substr(0, 9),
       "runs past the end of the file"},
      {safetensorsImage("[1]", ""), "the header is not a JSON object"},
      {safetensorsImage("{\"a\": 1,}", ""), "invalid header JSON"},
      {safetensorsImage("{\"a\": {\"dtype\": \"F32\", \"shape\": [1], "
                        "\"data_offsets\": [0, 4]}, \"a\": {}}",
                        "xxxx"),
       "invalid header JSON"},
      {safetensorsImage("{\"a\": {\"shape\": [1], \"data_offsets\": [0, 4]}}",
                        "xxxx"),
       "tensor 'a': missing string \"dtype\""},
      {safetensorsImage("{\"a\": {\"dtype\": \"F32\", \"shape\": [1.5], "
                        "\"data_offsets\": [0, 4]}}",
                        "xxxx"),
       "shape entries must be non-negative integers"},
      {safetensorsImage("{\"a\": {\"dtype\": \"F32\", \"shape\": "
                        "[4294967296, 4294967296], \"data_offsets\": [0, 4]}}",
                        "xxxx"),
       "absurd shape"},
      {safetensorsImage("{\"a\": {\"dtype\": \"F32\", \"shape\": [1], "
                        "\"data_offsets\": [0, 9223372036854775807]}}",
                        "xxxx"),
       "run past the end of the data"},
      {safetensorsImage("{\"a\": {\"dtype\": \"F32\", \"shape\": [1], "
                        "\"data_offsets\": [4]}}",
                        "xxxx"),
       "\"data_offsets\" must be [begin, end]"},
      {safetensorsImage("{\"a\": {\"dtype\": \"F32\", \"shape\": [2], "
                        "\"data_offsets\": [0, 4]}}",
                        "xxxx"),
       "4 bytes of data for shape [2] of F32 (8 expected)"},
      {safetensorsImage(
           "{\"a\": {\"dtype\": \"F16\", \"shape\": [2], "
           "\"data_offsets\": [0, 4]}, \"b\": {\"dtype\": \"F16\", "
           "\"shape\": [1], \"data_offsets\": [2, 4]}}",
           "xxxx"),
       "tensors 'a' and 'b' overlap"},
  };
  for (const Case &c : cases) {
    cascade_weights *w = nullptr;
    EXPECT_EQ(
        cascade_weights_open_memory(c.file.data(), c.file.size(), "bad", &w),
        CASCADE_ERROR)
        << c.message;
    EXPECT_EQ(w, nullptr);
    std::string msg = cascade_last_error();
    EXPECT_NE(msg.find(c.message), std::string::npos)
        << "got: " << msg << "\nexpected: " << c.message;
    EXPECT_EQ(msg.rfind("bad: ", 0), 0u) << msg;
  }
  // Empty tensors may share an offset; an empty header is a valid file.
  std::string ok = safetensorsImage(
      "{\"a\": {\"dtype\": \"F32\", \"shape\": [0], \"data_offsets\": [0, 0]}, "
      "\"b\": {\"dtype\": \"F32\", \"shape\": [1], \"data_offsets\": [0, 4]}}",
      "xxxx");
  cascade_weights *w = nullptr;
  EXPECT_EQ(cascade_weights_open_memory(ok.data(), ok.size(), "ok", &w),
            CASCADE_OK)
      << cascade_last_error();
  // An empty tensor reads into no buffer at all (found by the fuzzer: a
  // memcpy from NULL).
  EXPECT_EQ(cascade_weights_read_f32(w, "a", nullptr, 0), CASCADE_OK)
      << cascade_last_error();
  cascade_weights_close(w);
  // The same image through a real, memory-mapped file.
  writeBytes(path("ok.safetensors"), ok);
  ASSERT_EQ(cascade_weights_open(path("ok.safetensors").c_str(), &w),
            CASCADE_OK)
      << cascade_last_error();
  float one = 0;
  EXPECT_EQ(cascade_weights_read_f32(w, "b", &one, 1), CASCADE_OK);
  cascade_weights_close(w);
  writeBytes(path("empty.safetensors"), "");
  EXPECT_EQ(cascade_weights_open(path("empty.safetensors").c_str(), &w),
            CASCADE_ERROR);
  EXPECT_EQ(cascade_weights_open(dir.c_str(), &w), CASCADE_ERROR);
  EXPECT_EQ(cascade_weights_open(path("missing.safetensors").c_str(), &w),
            CASCADE_ERROR);
  EXPECT_NE(std::string(cascade_last_error()).find("cannot open"),
            std::string::npos);
}
