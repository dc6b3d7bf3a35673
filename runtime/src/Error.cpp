//===- Error.cpp - Error messages and small helpers -----------------------===//
//
// The thread-local last error, formatting helpers shared by the other files,
// cascade_free and cascade_now_ms.
//
//===----------------------------------------------------------------------===//

#include "Internal.h"
#ifdef __GLIBC__
#include <malloc.h>
#endif

#include <algorithm>
#include <cstdarg>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <time.h>

namespace cascade {
namespace rt {

static thread_local std::string lastError;

static std::string vformat(const char *fmt, va_list args) {
  va_list copy;
  va_copy(copy, args);
  int n = std::vsnprintf(nullptr, 0, fmt, copy);
  va_end(copy);
  if (n <= 0)
    return std::string();
  std::string s(static_cast<size_t>(n) + 1, '\0');
  std::vsnprintf(&s[0], s.size(), fmt, args);
  s.resize(static_cast<size_t>(n));
  return s;
}

std::string format(const char *fmt, ...) {
  va_list args;
  va_start(args, fmt);
  std::string s = vformat(fmt, args);
  va_end(args);
  return s;
}

cascade_status fail(const char *fmt, ...) {
  va_list args;
  va_start(args, fmt);
  lastError = vformat(fmt, args);
  va_end(args);
  return CASCADE_ERROR;
}

std::string shapeString(const int64_t *shape, int rank) {
  std::string s = "[";
  for (int i = 0; i < rank; ++i) {
    if (i)
      s += ", ";
    s += std::to_string(shape[i]);
  }
  return s + "]";
}

bool checkedElementCount(const int64_t *shape, int rank, int64_t limit,
                         int64_t *count) {
  int64_t n = 1;
  bool zero = false;
  for (int i = 0; i < rank; ++i) {
    if (shape[i] < 0)
      return false;
    if (shape[i] == 0)
      zero = true;
    // Keep checking later dims for overflow even after a zero: a shape like
    // (0, 2^62, 2^62) is still absurd.
    else if (n > limit / shape[i])
      return false;
    else
      n *= shape[i];
  }
  *count = zero ? 0 : n;
  return true;
}

} // namespace rt
} // namespace cascade

using namespace cascade::rt;

extern "C" const char *cascade_last_error(void) { return lastError.c_str(); }

extern "C" void *cascade_alloc(size_t bytes) {
  // aligned_alloc wants a multiple of the alignment; never 0 bytes.
  constexpr size_t kLine = 64;
  if (bytes > SIZE_MAX - kLine)
    return nullptr;
  size_t rounded = (std::max<size_t>(bytes, 1) + kLine - 1) / kLine * kLine;
  return std::aligned_alloc(kLine, rounded);
}

extern "C" void cascade_free(void *p) { std::free(p); }

extern "C" void cascade_reuse_scratch_memory(void) {
#ifdef __GLIBC__
  mallopt(M_MMAP_THRESHOLD, 32 << 20);
  mallopt(M_TRIM_THRESHOLD, 512 << 20);
#endif
}

extern "C" double cascade_now_ms(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return static_cast<double>(ts.tv_sec) * 1e3 +
         static_cast<double>(ts.tv_nsec) * 1e-6;
}
