//===- Safetensors.cpp - Memory-mapped, validated safetensors files -------===//
//
// A safetensors file is an 8-byte little-endian header length N, N bytes of
// JSON ({"name": {"dtype": "F32", "shape": [..], "data_offsets": [b, e]},
// ..., "__metadata__": {...}}), then the data; offsets are relative to the
// data. Everything in the header is checked against the file before any
// tensor is read, so a truncated or hostile file is an error, never an
// out-of-bounds read.
//
//===----------------------------------------------------------------------===//

#include "Internal.h"
#include "Json.h"

#include <algorithm>
#include <cstring>
#include <fcntl.h>
#include <new>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

using namespace cascade::rt;

namespace {

/// Headers above this are refused (the reference implementation's limit).
constexpr uint64_t kMaxHeader = 100u << 20;

struct StoredTensor {
  std::string key, dtype;
  std::vector<int64_t> shape;
  int64_t count = 1;
  uint64_t begin = 0, end = 0; // in the data section
};

int elementBytes(const std::string &dtype) {
  static const struct {
    const char *name;
    int bytes;
  } kTypes[] = {{"F64", 8},  {"F32", 4},     {"F16", 2},    {"BF16", 2},
                {"I64", 8},  {"I32", 4},     {"I16", 2},    {"I8", 1},
                {"U64", 8},  {"U32", 4},     {"U16", 2},    {"U8", 1},
                {"BOOL", 1}, {"F8_E4M3", 1}, {"F8_E5M2", 1}};
  for (const auto &t : kTypes)
    if (dtype == t.name)
      return t.bytes;
  return 0;
}

float halfToFloat(uint16_t h) {
  uint32_t sign = (h & 0x8000u) << 16, exp = (h >> 10) & 0x1F, mant = h & 0x3FF,
           bits;
  if (exp == 0x1F) {
    bits = sign | 0x7F800000u | (mant << 13); // inf, NaN
  } else if (exp != 0) {
    bits = sign | ((exp + 112) << 23) | (mant << 13);
  } else if (mant == 0) {
    bits = sign; // +-0
  } else {       // subnormal: normalize
    int e = -1;
    do {
      ++e;
      mant <<= 1;
    } while (!(mant & 0x400));
    bits = sign | ((uint32_t)(112 - e) << 23) | ((mant & 0x3FF) << 13);
  }
  float f;
  std::memcpy(&f, &bits, 4);
  return f;
}

} // namespace

struct cascade_weights {
  std::string name;
  const unsigned char *data = nullptr; // the data section
  uint64_t dataSize = 0;
  void *mapping = nullptr; // munmap on close, if mapped here
  size_t mappingSize = 0;
  std::vector<StoredTensor> tensors; // sorted by key

  const StoredTensor *find(const char *key) const {
    auto it = std::lower_bound(
        tensors.begin(), tensors.end(), key,
        [](const StoredTensor &t, const char *k) { return t.key < k; });
    return it != tensors.end() && it->key == key ? &*it : nullptr;
  }
};

static cascade_status parseHeader(cascade_weights &w,
                                  const unsigned char *bytes, uint64_t size) {
  const char *name = w.name.c_str();
  if (size < 8)
    return fail("%s: not a safetensors file: %llu bytes, shorter than the "
                "8-byte header length",
                name, (unsigned long long)size);
  uint64_t n = 0;
  for (int i = 7; i >= 0; --i)
    n = (n << 8) | bytes[i];
  if (n > size - 8)
    return fail("%s: header length %llu runs past the end of the file "
                "(%llu bytes): truncated or not a safetensors file",
                name, (unsigned long long)n, (unsigned long long)size);
  if (n > kMaxHeader)
    return fail("%s: header length %llu is larger than the %llu-byte limit",
                name, (unsigned long long)n, (unsigned long long)kMaxHeader);
  std::string text(reinterpret_cast<const char *>(bytes + 8), n);
  if (text.find('\0') != std::string::npos)
    return fail("%s: the header holds a NUL byte", name);
  JsonValue root;
  JsonParser parser(text.c_str());
  if (!parser.parse(root))
    return fail("%s: invalid header JSON: %s", name, parser.message().c_str());
  if (root.kind != JsonValue::Object)
    return fail("%s: the header is not a JSON object", name);
  w.data = bytes + 8 + n;
  w.dataSize = size - 8 - n;

  for (size_t i = 0; i < root.keys.size(); ++i) {
    const std::string &key = root.keys[i];
    const JsonValue &v = root.items[i];
    const char *k = key.c_str();
    if (key == "__metadata__") {
      if (v.kind != JsonValue::Object)
        return fail("%s: __metadata__ is not an object", name);
      continue;
    }
    if (v.kind != JsonValue::Object)
      return fail("%s: tensor '%s': not an object", name, k);
    StoredTensor t;
    t.key = key;
    const JsonValue *dtype = v.get("dtype"), *shape = v.get("shape"),
                    *offsets = v.get("data_offsets");
    if (!dtype || dtype->kind != JsonValue::String)
      return fail("%s: tensor '%s': missing string \"dtype\"", name, k);
    t.dtype = dtype->text;
    int bytesPer = elementBytes(t.dtype);
    if (bytesPer == 0)
      return fail("%s: tensor '%s': unknown dtype '%s'", name, k,
                  t.dtype.c_str());
    if (!shape || shape->kind != JsonValue::Array)
      return fail("%s: tensor '%s': missing array \"shape\"", name, k);
    if (shape->items.size() > CASCADE_MAX_RANK)
      return fail("%s: tensor '%s': rank %zu is above %d", name, k,
                  shape->items.size(), CASCADE_MAX_RANK);
    for (const JsonValue &d : shape->items) {
      int64_t x;
      if (!toInt64(d, x) || x < 0)
        return fail("%s: tensor '%s': shape entries must be non-negative "
                    "integers",
                    name, k);
      t.shape.push_back(x);
    }
    if (!checkedElementCount(t.shape.data(), (int)t.shape.size(), INT64_MAX / 8,
                             &t.count))
      return fail("%s: tensor '%s': absurd shape %s", name, k,
                  shapeString(t.shape.data(), (int)t.shape.size()).c_str());
    int64_t b, e;
    if (!offsets || offsets->kind != JsonValue::Array ||
        offsets->items.size() != 2 || !toInt64(offsets->items[0], b) ||
        !toInt64(offsets->items[1], e) || b < 0 || e < b)
      return fail("%s: tensor '%s': \"data_offsets\" must be [begin, end] "
                  "with 0 <= begin <= end",
                  name, k);
    if ((uint64_t)e > w.dataSize)
      return fail("%s: tensor '%s': data_offsets [%lld, %lld] run past the "
                  "end of the data (%llu bytes): truncated file?",
                  name, k, (long long)b, (long long)e,
                  (unsigned long long)w.dataSize);
    if ((uint64_t)(e - b) != (uint64_t)t.count * (uint64_t)bytesPer)
      return fail("%s: tensor '%s': %lld bytes of data for shape %s of %s "
                  "(%lld expected)",
                  name, k, (long long)(e - b),
                  shapeString(t.shape.data(), (int)t.shape.size()).c_str(),
                  t.dtype.c_str(), (long long)(t.count * bytesPer));
    t.begin = (uint64_t)b;
    t.end = (uint64_t)e;
    w.tensors.push_back(std::move(t));
  }

  // No two tensors may share bytes.
  std::vector<const StoredTensor *> byOffset;
  for (const StoredTensor &t : w.tensors)
    byOffset.push_back(&t);
  std::sort(byOffset.begin(), byOffset.end(),
            [](const StoredTensor *a, const StoredTensor *b) {
              return a->begin < b->begin;
            });
  for (size_t i = 1; i < byOffset.size(); ++i)
    if (byOffset[i]->begin < byOffset[i - 1]->end &&
        byOffset[i]->begin != byOffset[i]->end)
      return fail("%s: tensors '%s' and '%s' overlap in the data", name,
                  byOffset[i - 1]->key.c_str(), byOffset[i]->key.c_str());
  std::sort(w.tensors.begin(), w.tensors.end(),
            [](const StoredTensor &a, const StoredTensor &b) {
              return a.key < b.key;
            });
  return CASCADE_OK;
}

extern "C" cascade_status cascade_weights_open_memory(const void *data,
                                                      uint64_t size,
                                                      const char *name,
                                                      cascade_weights **out) {
  if (!out)
    return fail("cascade_weights_open_memory: NULL output pointer");
  *out = nullptr;
  if (!data && size)
    return fail("cascade_weights_open_memory: NULL data");
  cascade_weights *w = new (std::nothrow) cascade_weights;
  if (!w)
    return fail("out of memory");
  w->name = name ? name : "<memory>";
  static const unsigned char kEmpty[1] = {0};
  if (parseHeader(*w, data ? static_cast<const unsigned char *>(data) : kEmpty,
                  size) != CASCADE_OK) {
    delete w;
    return CASCADE_ERROR;
  }
  *out = w;
  return CASCADE_OK;
}

extern "C" cascade_status cascade_weights_open(const char *path,
                                               cascade_weights **out) {
  if (!out)
    return fail("cascade_weights_open: NULL output pointer");
  *out = nullptr;
  if (!path)
    return fail("cascade_weights_open: NULL path");
  int fd = ::open(path, O_RDONLY | O_CLOEXEC);
  if (fd < 0)
    return fail("%s: cannot open: %s", path, std::strerror(errno));
  struct stat st;
  if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
    ::close(fd);
    return fail("%s: not a regular file", path);
  }
  size_t size = (size_t)st.st_size;
  void *map = nullptr;
  if (size > 0) {
    map = mmap(nullptr, size, PROT_READ, MAP_PRIVATE, fd, 0);
    if (map == MAP_FAILED) {
      ::close(fd);
      return fail("%s: cannot map: %s", path, std::strerror(errno));
    }
  }
  ::close(fd);
  if (cascade_weights_open_memory(map, size, path, out) != CASCADE_OK) {
    if (map)
      munmap(map, size);
    return CASCADE_ERROR;
  }
  (*out)->mapping = map;
  (*out)->mappingSize = size;
  return CASCADE_OK;
}

extern "C" int cascade_weights_count(const cascade_weights *w) {
  return w ? (int)w->tensors.size() : -1;
}

extern "C" cascade_status cascade_weights_info(const cascade_weights *w,
                                               const char *key, int64_t *shape,
                                               int *rank, const char **dtype) {
  if (!w || !key)
    return fail("cascade_weights_info: NULL argument");
  const StoredTensor *t = w->find(key);
  if (!t)
    return fail("%s: no tensor '%s'", w->name.c_str(), key);
  if (shape)
    std::copy(t->shape.begin(), t->shape.end(), shape);
  if (rank)
    *rank = (int)t->shape.size();
  if (dtype)
    *dtype = t->dtype.c_str();
  return CASCADE_OK;
}

extern "C" cascade_status cascade_weights_read_f32(const cascade_weights *w,
                                                   const char *key, float *dst,
                                                   int64_t count) {
  if (!w || !key || (!dst && count > 0))
    return fail("cascade_weights_read_f32: NULL argument");
  const StoredTensor *t = w->find(key);
  if (!t)
    return fail("%s: no tensor '%s'", w->name.c_str(), key);
  if (t->count != count)
    return fail("%s: tensor '%s' has shape %s (%lld elements); %lld were "
                "expected",
                w->name.c_str(), key,
                shapeString(t->shape.data(), (int)t->shape.size()).c_str(),
                (long long)t->count, (long long)count);
  const unsigned char *src = w->data + t->begin;
  if (t->dtype == "F32") {
    if (count > 0) // an empty tensor may come with a NULL dst
      std::memcpy(dst, src, (size_t)count * 4);
  } else if (t->dtype == "F16" || t->dtype == "BF16") {
    bool bf16 = t->dtype == "BF16";
    for (int64_t i = 0; i < count; ++i) {
      uint16_t h = (uint16_t)(src[2 * i] | (src[2 * i + 1] << 8));
      if (bf16) {
        uint32_t bits = (uint32_t)h << 16;
        std::memcpy(&dst[i], &bits, 4);
      } else {
        dst[i] = halfToFloat(h);
      }
    }
  } else if (t->dtype == "F64") {
    for (int64_t i = 0; i < count; ++i) {
      double d;
      std::memcpy(&d, src + 8 * i, 8);
      dst[i] = (float)d;
    }
  } else {
    return fail("%s: tensor '%s' is %s; weights must be F32, F16, BF16 or "
                "F64",
                w->name.c_str(), key, t->dtype.c_str());
  }
  return CASCADE_OK;
}

extern "C" void cascade_weights_close(cascade_weights *w) {
  if (!w)
    return;
  if (w->mapping)
    munmap(w->mapping, w->mappingSize);
  delete w;
}

extern "C" int cascade_shape_is_refinement(const int64_t *stored,
                                           int stored_rank,
                                           const int64_t *declared,
                                           int declared_rank) {
  std::vector<int64_t> x, y;
  for (int i = 0; i < stored_rank; ++i)
    if (stored[i] != 1)
      x.push_back(stored[i]);
  for (int i = 0; i < declared_rank; ++i)
    if (declared[i] != 1)
      y.push_back(declared[i]);
  auto hasZero = [](const std::vector<int64_t> &v) {
    return std::find(v.begin(), v.end(), 0) != v.end();
  };
  if (hasZero(x) || hasZero(y))
    return 1; // no elements: nothing to misread
  size_t i = 0, j = 0;
  while (i < x.size() && j < y.size()) {
    // The shortest runs of dimensions on each side with equal products.
    int64_t p = x[i], q = y[j];
    size_t ni = 1, nj = 1;
    while (p != q) {
      if (p < q) {
        if (i + ni >= x.size())
          return 0;
        p *= x[i + ni++];
      } else {
        if (j + nj >= y.size())
          return 0;
        q *= y[j + nj++];
      }
    }
    if (ni > 1 && nj > 1)
      return 0; // merged and split again: another layout
    i += ni;
    j += nj;
  }
  return i == x.size() && j == y.size();
}

extern "C" cascade_status cascade_weights_check_layout(const cascade_weights *w,
                                                       const char *key,
                                                       const int64_t *shape,
                                                       int rank) {
  if (!w || !key || (!shape && rank > 0))
    return fail("cascade_weights_check_layout: NULL argument");
  const StoredTensor *t = w->find(key);
  if (!t || cascade_shape_is_refinement(t->shape.data(), (int)t->shape.size(),
                                        shape, rank))
    return CASCADE_OK;
  return fail("declared %s but stored as %s ('%s' in %s): not a split or "
              "merge of adjacent stored dimensions, so the data is read in "
              "another layout (an [in,out] weight declared [out,in]?)",
              shapeString(shape, rank).c_str(),
              shapeString(t->shape.data(), (int)t->shape.size()).c_str(), key,
              w->name.c_str());
}
