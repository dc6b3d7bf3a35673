/*===- exe_stub.c - main() of standalone model executables ----------------===*\
 *
 * `cascade compile --emit=exe` links this stub, the compiled model object
 * (which defines cascade_manifest and cascade_entry, and cascade_profile
 * when compiled with --profile) and the static runtime
 * (libcascade_runtime.a) into one executable.
 *
\*===----------------------------------------------------------------------===*/

#include "cascade/runtime.h"

int main(int argc, char **argv) {
  extern const char cascade_manifest[];
  extern void cascade_entry(void **);
  /* Weak: NULL unless the model was compiled with --profile. */
  extern int64_t cascade_profile[] __attribute__((weak));
  return cascade_exe_main(argc, argv, cascade_manifest, cascade_entry,
                          cascade_profile);
}
