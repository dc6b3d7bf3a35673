//===- SafetensorsFuzzer.cpp - libFuzzer target for the weights loader ----===//
//
// Feeds arbitrary bytes to the safetensors loader as a whole file, then
// reads every tensor it accepted: AddressSanitizer catches any read outside
// the buffer, UBSan any overflow in the offset and size arithmetic.
//
//===----------------------------------------------------------------------===//

#include "cascade/runtime.h"

#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string>
#include <vector>

// The loader's header is JSON; try the keys a real file would have.
static const char *const kKeys[] = {"w", "w1", "w2", "w3", "a", "__metadata__"};

extern "C" int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  // A private copy, exactly `size` bytes long, so ASan sees overreads.
  std::vector<uint8_t> copy(data, data + size);
  cascade_weights *w = nullptr;
  if (cascade_weights_open_memory(copy.data(), copy.size(), "fuzz", &w) !=
      CASCADE_OK)
    return 0;
  for (const char *key : kKeys) {
    int64_t shape[CASCADE_MAX_RANK];
    int rank = 0;
    const char *dtype = nullptr;
    if (cascade_weights_info(w, key, shape, &rank, &dtype) != CASCADE_OK)
      continue;
    int64_t count = 1;
    for (int i = 0; i < rank; ++i)
      count *= shape[i];
    if (count > (1 << 20))
      continue;
    std::vector<float> out((size_t)count);
    cascade_weights_read_f32(w, key, out.data(), count);
  }
  cascade_weights_close(w);
  return 0;
}
