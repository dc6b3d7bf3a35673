//===- Npy.cpp - Reading and writing NumPy .npy files ---------------------===//
//
// The .npy format: the magic "\x93NUMPY", a major and minor version byte, the
// header length (uint16 LE in version 1, uint32 LE in versions 2 and 3), then
// an ASCII (UTF-8 in version 3) Python dict literal such as
//   {'descr': '<f4', 'fortran_order': False, 'shape': (2, 3), }
// padded with spaces and a final '\n', then the raw data in C order.
// Values are decoded byte by byte, so the code does not depend on the host's
// byte order.
//
//===----------------------------------------------------------------------===//

#include "Internal.h"

#include <cerrno>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <sys/stat.h>

namespace cascade {
namespace rt {
namespace {

constexpr uint32_t kMaxHeaderBytes = 1u << 20;
constexpr int64_t kMaxDataBytes = int64_t(1) << 40;
constexpr size_t kChunkElements = 1 << 14;

/// The parsed header dict.
struct NpyHeader {
  std::string descr;
  bool fortranOrder = false;
  std::vector<int64_t> shape;
};

/// Parses the header dict: a Python literal with exactly the keys 'descr'
/// (a string), 'fortran_order' (True/False) and 'shape' (a tuple of ints).
class HeaderParser {
public:
  explicit HeaderParser(const std::string &text) : h(text) {}

  bool parse(NpyHeader &out) {
    bool haveDescr = false, haveOrder = false, haveShape = false;
    skipSpace();
    if (!eat('{'))
      return error("header is not a dict");
    for (;;) {
      skipSpace();
      if (eat('}'))
        break;
      std::string key;
      if (!parseString(key))
        return false;
      skipSpace();
      if (!eat(':'))
        return error("expected ':' in header");
      skipSpace();
      if (key != "descr" && key != "fortran_order" && key != "shape")
        return error("unexpected key '" + key + "' in header");
      bool &seen = key == "descr"           ? haveDescr
                   : key == "fortran_order" ? haveOrder
                                            : haveShape;
      if (seen)
        return error("duplicate key '" + key + "' in header");
      seen = true;
      if (key == "descr") {
        if (peek() == '[')
          return error("structured dtypes are not supported");
        if (!parseString(out.descr))
          return false;
      } else if (key == "fortran_order") {
        if (!parseBool(out.fortranOrder))
          return error("bad 'fortran_order' in header");
      } else if (!parseShape(out.shape)) {
        return err.empty() ? error("bad 'shape' in header") : false;
      }
      skipSpace();
      if (eat(','))
        continue;
      skipSpace();
      if (eat('}'))
        break;
      return error("expected ',' or '}' in header");
    }
    skipSpace();
    if (pos != h.size())
      return error("unexpected text after the header dict");
    if (!haveDescr || !haveOrder || !haveShape)
      return error("header lacks one of 'descr', 'fortran_order', 'shape'");
    return true;
  }

  const std::string &message() const { return err; }

private:
  const std::string &h;
  size_t pos = 0;
  std::string err;

  bool error(const std::string &what) {
    err = what;
    return false;
  }
  char peek() const { return pos < h.size() ? h[pos] : '\0'; }
  bool eat(char c) {
    if (peek() != c)
      return false;
    ++pos;
    return true;
  }
  void skipSpace() {
    while (pos < h.size() && (h[pos] == ' ' || h[pos] == '\t' ||
                              h[pos] == '\n' || h[pos] == '\r'))
      ++pos;
  }
  bool word(const char *w) {
    size_t n = std::strlen(w);
    if (h.compare(pos, n, w) != 0)
      return false;
    pos += n;
    return true;
  }

  // 'text' or "text", without escapes.
  bool parseString(std::string &out) {
    char quote = peek();
    if (quote != '\'' && quote != '"')
      return error("expected a quoted string in header");
    size_t end = h.find(quote, pos + 1);
    if (end == std::string::npos)
      return error("unterminated string in header");
    out = h.substr(pos + 1, end - pos - 1);
    if (out.find('\\') != std::string::npos)
      return error("escape sequence in header string");
    pos = end + 1;
    return true;
  }

  bool parseBool(bool &out) {
    if (word("True"))
      out = true;
    else if (word("False"))
      out = false;
    else
      return false;
    return true;
  }

  // (), (5,), (2, 3) or (2, 3,); Python 2 files may write 3L.
  bool parseShape(std::vector<int64_t> &out) {
    if (!eat('('))
      return false;
    bool sawComma = false;
    for (;;) {
      skipSpace();
      if (eat(')'))
        break;
      if (peek() == '-')
        return error("negative dimension in 'shape'");
      if (peek() < '0' || peek() > '9')
        return false;
      int64_t v = 0;
      while (peek() >= '0' && peek() <= '9') {
        int d = h[pos++] - '0';
        if (v > (INT64_MAX - d) / 10)
          return error("dimension too large in 'shape'");
        v = v * 10 + d;
      }
      if (peek() == 'L' || peek() == 'l')
        ++pos;
      if (out.size() == CASCADE_MAX_RANK)
        return error("rank exceeds the maximum of 16");
      out.push_back(v);
      skipSpace();
      if (eat(',')) {
        sawComma = true;
        continue;
      }
      skipSpace();
      if (eat(')'))
        break;
      return false;
    }
    // "(5)" is the int 5 in Python, not a tuple.
    if (out.size() == 1 && !sawComma)
      return error("'shape' is not a tuple");
    return true;
  }
};

uint32_t le32(const unsigned char *p) {
  return uint32_t(p[0]) | uint32_t(p[1]) << 8 | uint32_t(p[2]) << 16 |
         uint32_t(p[3]) << 24;
}

uint64_t le64(const unsigned char *p) {
  return uint64_t(le32(p)) | uint64_t(le32(p + 4)) << 32;
}

float bitsToFloat(uint32_t bits) {
  float f;
  std::memcpy(&f, &bits, 4);
  return f;
}

/// IEEE 754 binary16 to binary32 (exact, including subnormals, inf, NaN).
float halfToFloat(uint16_t h) {
  uint32_t sign = uint32_t(h & 0x8000) << 16;
  uint32_t exp = (h >> 10) & 0x1F;
  uint32_t mant = h & 0x3FF;
  if (exp == 0x1F) // inf or NaN
    return bitsToFloat(sign | 0x7F800000 | (mant << 13));
  if (exp == 0) {
    if (mant == 0)
      return bitsToFloat(sign);
    // Subnormal: renormalize.
    exp = 1;
    while (!(mant & 0x400)) {
      mant <<= 1;
      --exp;
    }
    mant &= 0x3FF;
  }
  return bitsToFloat(sign | ((exp + 112) << 23) | (mant << 13));
}

/// Elements to handle in the next chunk when `left` remain.
size_t chunkSize(int64_t left) {
  return left < int64_t(kChunkElements) ? static_cast<size_t>(left)
                                        : kChunkElements;
}

/// Decodes `n` little-endian elements of kind `kind` ('f' float, 'i'
/// signed, 'u' unsigned integer, 'b' bool) into `T` (float or double).
/// For f32, false at an integer beyond 2^24 (not exact), with its index in
/// `bad`; f64 rounds integers beyond 2^53 to the nearest, as NumPy does.
template <typename T>
bool decode(const unsigned char *in, size_t n, char kind, int itemSize, T *out,
            size_t &bad) {
  for (size_t i = 0; i < n; ++i) {
    const unsigned char *p = in + i * itemSize;
    if (kind == 'f') {
      if (itemSize == 4) {
        out[i] = bitsToFloat(le32(p));
      } else if (itemSize == 2) {
        out[i] = halfToFloat(uint16_t(p[0] | p[1] << 8));
      } else {
        uint64_t bits = le64(p);
        double d;
        std::memcpy(&d, &bits, 8);
        out[i] = static_cast<T>(d);
      }
      continue;
    }
    uint64_t bits = 0;
    for (int b = 0; b < itemSize; ++b)
      bits |= uint64_t(p[b]) << (8 * b);
    bool negative = kind == 'i' && (bits >> (8 * itemSize - 1)) & 1;
    if (negative && itemSize < 8)
      bits |= ~uint64_t(0) << (8 * itemSize); // sign-extend
    uint64_t magnitude = negative ? uint64_t(0) - bits : bits;
    if (sizeof(T) == 4 && magnitude > (uint64_t(1) << 24)) {
      bad = i;
      return false;
    }
    out[i] = negative ? -static_cast<T>(magnitude) : static_cast<T>(magnitude);
  }
  return true;
}

/// Closes a FILE on scope exit.
struct FileCloser {
  FILE *f;
  ~FileCloser() {
    if (f)
      std::fclose(f);
  }
};

template <typename T>
cascade_status readNpy(const char *path, T **data, int64_t *shape, int *rank) {
  FILE *f = std::fopen(path, "rb");
  if (!f)
    return fail("%s: cannot open: %s", path, std::strerror(errno));
  FileCloser closer{f};
  struct stat st;
  // Only regular files have a trustworthy size; -1 means unknown.
  int64_t fileSize = -1;
  if (fstat(fileno(f), &st) == 0 && S_ISREG(st.st_mode))
    fileSize = static_cast<int64_t>(st.st_size);

  unsigned char prelude[12];
  if (std::fread(prelude, 1, 10, f) != 10)
    return fail("%s: not a .npy file (too short)", path);
  if (std::memcmp(prelude, "\x93NUMPY", 6) != 0)
    return fail("%s: not a .npy file (bad magic string)", path);
  int major = prelude[6], minor = prelude[7];
  if (major < 1 || major > 3 || minor != 0)
    return fail("%s: unsupported .npy format version %d.%d", path, major,
                minor);
  uint32_t headerLen;
  int64_t dataOffset;
  if (major == 1) {
    headerLen = prelude[8] | uint32_t(prelude[9]) << 8;
    dataOffset = 10 + int64_t(headerLen);
  } else {
    if (std::fread(prelude + 10, 1, 2, f) != 2)
      return fail("%s: truncated .npy header", path);
    headerLen = le32(prelude + 8);
    dataOffset = 12 + int64_t(headerLen);
  }
  if (headerLen > kMaxHeaderBytes)
    return fail("%s: .npy header too long (%u bytes)", path,
                static_cast<unsigned>(headerLen));
  if (fileSize >= 0 && dataOffset > fileSize)
    return fail("%s: truncated .npy header", path);
  std::string header(headerLen, '\0');
  if (headerLen && std::fread(&header[0], 1, headerLen, f) != headerLen)
    return fail("%s: truncated .npy header", path);

  NpyHeader hdr;
  HeaderParser parser(header);
  if (!parser.parse(hdr))
    return fail("%s: malformed .npy header: %s", path,
                parser.message().c_str());
  // Floats ('<f2', '<f4', '<f8'), integers ('<i8', '|u1', ...) and bools
  // ('|b1'), little-endian ('<') or byte-sized ('|'), all read as f32.
  const std::string &d = hdr.descr;
  char kind = d.size() >= 3 ? d[1] : 0;
  int itemSize = d.size() == 3 ? d[2] - '0' : 0;
  bool known =
      (kind == 'f' && (itemSize == 2 || itemSize == 4 || itemSize == 8)) ||
      ((kind == 'i' || kind == 'u') &&
       (itemSize == 1 || itemSize == 2 || itemSize == 4 || itemSize == 8)) ||
      (kind == 'b' && itemSize == 1);
  bool order =
      d.size() == 3 && (d[0] == '<' || (d[0] == '|' && itemSize == 1) ||
                        (d[0] == '=' && itemSize == 1));
  if (known && d[0] == '>' && itemSize > 1)
    return fail("%s: big-endian dtype '%s' is not supported (save it "
                "little-endian, e.g. with arr.astype('<f4'))",
                path, d.c_str());
  if (!known || !order)
    return fail("%s: unsupported dtype '%s' (expected a float '<f2', '<f4', "
                "'<f8', an integer such as '<i8' or '|u1', or a bool '|b1')",
                path, d.c_str());
  if (hdr.fortranOrder)
    return fail("%s: Fortran-order arrays are not supported (save the "
                "array in C order, e.g. with np.ascontiguousarray)",
                path);

  int r = static_cast<int>(hdr.shape.size());
  int64_t count;
  if (!checkedElementCount(hdr.shape.data(), r, kMaxDataBytes / itemSize,
                           &count))
    return fail("%s: shape %s is too large (more than 2^40 bytes)", path,
                shapeString(hdr.shape.data(), r).c_str());
  int64_t dataBytes = count * itemSize;
  if (fileSize >= 0 && fileSize - dataOffset < dataBytes)
    return fail("%s: truncated data: shape %s needs %lld bytes, the file "
                "has %lld",
                path, shapeString(hdr.shape.data(), r).c_str(),
                static_cast<long long>(dataBytes),
                static_cast<long long>(fileSize - dataOffset));

  size_t outBytes = static_cast<size_t>(count) * sizeof(T);
  T *out = static_cast<T *>(cascade_alloc(outBytes));
  if (!out)
    return fail("%s: out of memory (%zu bytes)", path, outBytes);
  std::vector<unsigned char> chunk(kChunkElements * itemSize);
  for (int64_t done = 0; done < count;) {
    size_t n = chunkSize(count - done);
    if (std::fread(chunk.data(), itemSize, n, f) != n) {
      std::free(out);
      return fail("%s: truncated data: shape %s needs %lld bytes", path,
                  shapeString(hdr.shape.data(), r).c_str(),
                  static_cast<long long>(dataBytes));
    }
    size_t bad = 0;
    if (!decode(chunk.data(), n, kind, itemSize, out + done, bad)) {
      std::free(out);
      return fail("%s: element %lld is an integer beyond 2^24, which f32 "
                  "(Cascade's arithmetic) cannot hold exactly",
                  path, static_cast<long long>(done + bad));
    }
    done += static_cast<int64_t>(n);
  }
  for (int i = 0; i < r; ++i)
    shape[i] = hdr.shape[i];
  *rank = r;
  *data = out;
  return CASCADE_OK;
}

/// The header of a '<f4' version 1.0 file, padded so that the data starts at
/// a multiple of 64 bytes (as NumPy does).
std::string makeHeader(const int64_t *shape, int rank) {
  std::string dict = "{'descr': '<f4', 'fortran_order': False, 'shape': (";
  for (int i = 0; i < rank; ++i) {
    if (i)
      dict += ", ";
    dict += std::to_string(shape[i]);
  }
  dict += rank == 1 ? ",), }" : "), }";
  size_t total = 10 + dict.size() + 1; // prelude + dict + '\n'
  dict.append((64 - total % 64) % 64, ' ');
  dict += '\n';
  std::string out = "\x93NUMPY\x01";
  out += '\0';
  out += static_cast<char>(dict.size() & 0xFF);
  out += static_cast<char>(dict.size() >> 8);
  return out + dict;
}

cascade_status writeNpy(const char *path, const float *data,
                        const int64_t *shape, int rank) {
  if (rank < 0 || rank > CASCADE_MAX_RANK)
    return fail("%s: cannot write rank %d (maximum %d)", path, rank,
                CASCADE_MAX_RANK);
  if (rank > 0 && !shape)
    return fail("%s: NULL shape", path);
  int64_t count;
  if (!checkedElementCount(shape, rank, INT64_MAX / 4, &count))
    return fail("%s: invalid shape %s", path, shapeString(shape, rank).c_str());
  if (count > 0 && !data)
    return fail("%s: NULL data", path);

  std::string tmp = std::string(path) + ".tmp";
  FILE *f = std::fopen(tmp.c_str(), "wb");
  if (!f)
    return fail("%s: cannot create the temporary file '%s': %s", path,
                tmp.c_str(), std::strerror(errno));
  std::string header = makeHeader(shape, rank);
  bool ok = std::fwrite(header.data(), 1, header.size(), f) == header.size();
  std::vector<unsigned char> chunk(kChunkElements * 4);
  for (int64_t done = 0; ok && done < count;) {
    size_t n = chunkSize(count - done);
    for (size_t i = 0; i < n; ++i) {
      uint32_t bits;
      std::memcpy(&bits, data + done + i, 4);
      for (int b = 0; b < 4; ++b)
        chunk[i * 4 + b] = static_cast<unsigned char>(bits >> (8 * b));
    }
    ok = std::fwrite(chunk.data(), 4, n, f) == n;
    done += static_cast<int64_t>(n);
  }
  int savedErrno = errno;
  if (std::fclose(f) != 0 && ok) {
    ok = false;
    savedErrno = errno;
  }
  if (!ok) {
    std::remove(tmp.c_str());
    return fail("%s: cannot write: %s", path, std::strerror(savedErrno));
  }
  if (std::rename(tmp.c_str(), path) != 0) {
    savedErrno = errno;
    std::remove(tmp.c_str());
    return fail("%s: cannot rename '%s' into place: %s", path, tmp.c_str(),
                std::strerror(savedErrno));
  }
  return CASCADE_OK;
}

} // namespace
} // namespace rt
} // namespace cascade

using namespace cascade::rt;

extern "C" cascade_status cascade_npy_read_f32(const char *path, float **data,
                                               int64_t *shape, int *rank) {
  if (data)
    *data = nullptr;
  if (rank)
    *rank = 0;
  if (!path || !data || !shape || !rank)
    return fail("cascade_npy_read_f32: NULL argument");
  return readNpy(path, data, shape, rank);
}

extern "C" cascade_status cascade_npy_read_f64(const char *path, double **data,
                                               int64_t *shape, int *rank) {
  if (data)
    *data = nullptr;
  if (rank)
    *rank = 0;
  if (!path || !data || !shape || !rank)
    return fail("cascade_npy_read_f64: NULL argument");
  return readNpy(path, data, shape, rank);
}

extern "C" cascade_status cascade_npy_write_f32(const char *path,
                                                const float *data,
                                                const int64_t *shape,
                                                int rank) {
  if (!path)
    return fail("cascade_npy_write_f32: NULL path");
  return writeNpy(path, data, shape, rank);
}
