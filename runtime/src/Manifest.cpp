//===- Manifest.cpp - Manifest validation ---------------------------------===//
//
// Validates a manifest's JSON tree (Json.h) and turns it into a Manifest.
//
//===----------------------------------------------------------------------===//

#include "Internal.h"
#include "Json.h"

#include <algorithm>
#include <cerrno>
#include <cstdlib>
#include <cstring>

namespace cascade {
namespace rt {
namespace {

bool validName(const std::string &name) {
  if (name.empty() || name[0] == '.')
    return false;
  for (unsigned char c : name)
    if (c < 0x20 || c == 0x7F || c == '/' || c == '\\' || c == '=')
      return false;
  return true;
}

/// Reads an optional string member; false if present with another type.
bool optionalString(const JsonValue &obj, const char *key, std::string &out,
                    bool *present = nullptr) {
  const JsonValue *v = obj.get(key);
  if (present)
    *present = v && v->kind == JsonValue::String;
  if (!v || v->kind == JsonValue::Null)
    return true;
  if (v->kind != JsonValue::String)
    return false;
  out = v->text;
  return true;
}

cascade_status parseTensor(const JsonValue &v, const char *where, bool isWeight,
                           TensorDesc &t) {
  if (v.kind != JsonValue::Object)
    return fail("invalid manifest: %s: expected an object", where);
  const JsonValue *name = v.get("name");
  if (!name || name->kind != JsonValue::String)
    return fail("invalid manifest: %s: missing string \"name\"", where);
  t.name = name->text;
  if (!validName(t.name))
    return fail("invalid manifest: %s: invalid tensor name \"%s\"", where,
                t.name.c_str());

  const JsonValue *shape = v.get("shape");
  if (!shape || shape->kind != JsonValue::Array)
    return fail("invalid manifest: %s ('%s'): missing array \"shape\"", where,
                t.name.c_str());
  if (shape->items.size() > CASCADE_MAX_RANK)
    return fail("invalid manifest: %s ('%s'): rank %zu exceeds the maximum %d",
                where, t.name.c_str(), shape->items.size(), CASCADE_MAX_RANK);
  for (const JsonValue &d : shape->items) {
    int64_t x;
    if (!toInt64(d, x) || x < 0)
      return fail("invalid manifest: %s ('%s'): shape entries must be "
                  "non-negative integers",
                  where, t.name.c_str());
    t.shape.push_back(x);
  }
  // Every buffer's byte size (4 bytes per element) must fit in int64_t.
  if (!checkedElementCount(t.shape.data(), static_cast<int>(t.shape.size()),
                           INT64_MAX / 8, &t.numElements))
    return fail(
        "invalid manifest: %s ('%s'): element count of shape %s "
        "overflows",
        where, t.name.c_str(),
        shapeString(t.shape.data(), static_cast<int>(t.shape.size())).c_str());

  const JsonValue *dtype = v.get("dtype");
  if (!dtype || dtype->kind != JsonValue::String)
    return fail("invalid manifest: %s ('%s'): missing string \"dtype\"", where,
                t.name.c_str());
  t.dtype = dtype->text;
  if (t.dtype != "f32" && t.dtype != "f16" && t.dtype != "bf16")
    return fail("invalid manifest: %s ('%s'): unsupported dtype \"%s\" "
                "(expected f32, f16 or bf16)",
                where, t.name.c_str(), t.dtype.c_str());

  if (isWeight) {
    t.key = t.name;
    if (!optionalString(v, "key", t.key) ||
        !optionalString(v, "file", t.file, &t.hasFile))
      return fail("invalid manifest: %s ('%s'): \"key\" and \"file\" must be "
                  "strings",
                  where, t.name.c_str());
  }
  return CASCADE_OK;
}

} // namespace

cascade_status parseManifest(const char *json, Manifest &out) {
  if (!json)
    return fail("invalid manifest: NULL text");
  JsonValue root;
  JsonParser parser(json);
  if (!parser.parse(root))
    return fail("invalid manifest: %s", parser.message().c_str());
  if (root.kind != JsonValue::Object)
    return fail("invalid manifest: top level is not an object");

  int64_t version;
  const JsonValue *fmt = root.get("format");
  if (!fmt)
    return fail("invalid manifest: missing \"format\"");
  if (!toInt64(*fmt, version) || version != 1)
    return fail("invalid manifest: unsupported format %s (expected 1)",
                fmt->kind == JsonValue::Number ? fmt->text.c_str() : "value");

  const JsonValue *model = root.get("model");
  if (!model || model->kind != JsonValue::String)
    return fail("invalid manifest: missing string \"model\"");
  out.model = model->text;
  if (!optionalString(root, "function", out.function) ||
      !optionalString(root, "target", out.target) ||
      !optionalString(root, "cpu", out.cpu) ||
      !optionalString(root, "features", out.features))
    return fail("invalid manifest: \"function\", \"target\", \"cpu\" and "
                "\"features\" must be strings");

  static const char *const kLists[3] = {"inputs", "weights", "outputs"};
  for (int role = 0; role < 3; ++role) {
    out.tensors[role].clear();
    const JsonValue *list = root.get(kLists[role]);
    if (!list || list->kind == JsonValue::Null) {
      if (role == CASCADE_WEIGHT)
        continue;
      return fail("invalid manifest: missing array \"%s\"", kLists[role]);
    }
    if (list->kind != JsonValue::Array)
      return fail("invalid manifest: \"%s\" is not an array", kLists[role]);
    for (size_t i = 0; i < list->items.size(); ++i) {
      std::string where = format("%s[%zu]", kLists[role], i);
      TensorDesc t;
      if (parseTensor(list->items[i], where.c_str(), role == CASCADE_WEIGHT,
                      t) != CASCADE_OK)
        return CASCADE_ERROR;
      out.tensors[role].push_back(std::move(t));
    }
  }

  out.profile.clear();
  if (const JsonValue *steps = root.get("profile")) {
    if (steps->kind != JsonValue::Array)
      return fail("invalid manifest: \"profile\" is not an array");
    for (size_t i = 0; i < steps->items.size(); ++i) {
      const JsonValue &v = steps->items[i];
      ProfileStep step;
      const JsonValue *equations = v.get("equations");
      const JsonValue *flops = v.get("flops");
      if (v.kind != JsonValue::Object ||
          !optionalString(v, "name", step.name) ||
          !optionalString(v, "function", step.function) || !equations ||
          equations->kind != JsonValue::Array || !flops ||
          !toInt64(*flops, step.flops))
        return fail("invalid manifest: profile[%zu]: expected \"name\", "
                    "\"function\", \"equations\" and \"flops\"",
                    i);
      for (const JsonValue &e : equations->items) {
        if (e.kind != JsonValue::String)
          return fail("invalid manifest: profile[%zu]: equations must be "
                      "strings",
                      i);
        step.equations += (step.equations.empty() ? "" : " ") + e.text;
      }
      out.profile.push_back(std::move(step));
    }
  }

  // Names double as --input keys and file names: they must be unique.
  std::vector<std::string> names;
  for (const auto &list : out.tensors)
    for (const TensorDesc &t : list)
      names.push_back(t.name);
  // The buffer array is indexed by int.
  if (names.size() > 1000000)
    return fail("invalid manifest: too many tensors");
  std::sort(names.begin(), names.end());
  for (size_t i = 1; i < names.size(); ++i)
    if (names[i] == names[i - 1])
      return fail("invalid manifest: duplicate tensor name \"%s\"",
                  names[i].c_str());
  return CASCADE_OK;
}

} // namespace rt
} // namespace cascade
