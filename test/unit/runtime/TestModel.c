/*===- TestModel.c - A hand-written "compiled model" for the tests --------===*\
 *
 * Built as a loadable module; defines the two symbols of a compiled model.
 * C = A + 2 * B, shapes [2, 3].
 *
\*===----------------------------------------------------------------------===*/

const char cascade_manifest[] =
    "{\"format\": 1, \"model\": \"axpy\", \"function\": \"axpy\", "
    "\"target\": \"x86_64\", "
    "\"inputs\": [{\"name\": \"A\", \"shape\": [2, 3], \"dtype\": \"f32\"}, "
    "{\"name\": \"B\", \"shape\": [2, 3], \"dtype\": \"f32\"}], "
    "\"weights\": [], "
    "\"outputs\": [{\"name\": \"C\", \"shape\": [2, 3], \"dtype\": \"f32\"}]}";

void cascade_entry(void **buffers) {
  const float *a = (const float *)buffers[0];
  const float *b = (const float *)buffers[1];
  float *c = (float *)buffers[2];
  for (int i = 0; i < 6; ++i)
    c[i] = a[i] + 2 * b[i];
}
