//===- Manifest.cpp - Minimal JSON parser and manifest validation ---------===//
//
// A small strict JSON (RFC 8259) parser building a tree, then a validator
// that turns the tree into a Manifest. Nesting is capped at 64 levels so a
// hostile manifest cannot exhaust the stack.
//
//===----------------------------------------------------------------------===//

#include "Internal.h"

#include <algorithm>
#include <cerrno>
#include <cstdlib>
#include <cstring>

namespace cascade {
namespace rt {
namespace {

constexpr int kMaxDepth = 64;

struct JsonValue {
  enum Kind { Null, Bool, Number, String, Array, Object } kind = Null;
  bool boolean = false;
  std::string text;              // string contents, or the number's token
  std::vector<JsonValue> items;  // array elements or object values
  std::vector<std::string> keys; // object keys, parallel to items

  const JsonValue *get(const char *key) const {
    for (size_t i = 0; i < keys.size(); ++i)
      if (keys[i] == key)
        return &items[i];
    return nullptr;
  }
};

class JsonParser {
public:
  explicit JsonParser(const char *text) : s(text) {}

  bool parse(JsonValue &out) {
    if (!parseValue(out, 0))
      return false;
    skipSpace();
    if (s[pos] != '\0')
      return error("unexpected text after the top-level value");
    return true;
  }

  const std::string &message() const { return err; }

private:
  const char *s;
  size_t pos = 0;
  std::string err;

  bool error(const char *what) {
    // Report a 1-based line and column.
    size_t line = 1, col = 1;
    for (size_t i = 0; i < pos && s[i]; ++i) {
      if (s[i] == '\n') {
        ++line;
        col = 1;
      } else {
        ++col;
      }
    }
    err = format("%s at line %zu, column %zu", what, line, col);
    return false;
  }

  void skipSpace() {
    while (s[pos] == ' ' || s[pos] == '\t' || s[pos] == '\n' || s[pos] == '\r')
      ++pos;
  }

  bool literal(const char *word) {
    size_t n = std::strlen(word);
    if (std::strncmp(s + pos, word, n) != 0)
      return error("invalid literal");
    pos += n;
    return true;
  }

  bool parseValue(JsonValue &v, int depth) {
    skipSpace();
    switch (s[pos]) {
    case '{':
    case '[':
      if (depth >= kMaxDepth)
        return error("nesting deeper than 64 levels");
      return s[pos] == '{' ? parseObject(v, depth + 1)
                           : parseArray(v, depth + 1);
    case '"':
      v.kind = JsonValue::String;
      return parseString(v.text);
    case 't':
      v.kind = JsonValue::Bool;
      v.boolean = true;
      return literal("true");
    case 'f':
      v.kind = JsonValue::Bool;
      return literal("false");
    case 'n':
      v.kind = JsonValue::Null;
      return literal("null");
    case '\0':
      return error("unexpected end of text");
    default:
      if (s[pos] == '-' || (s[pos] >= '0' && s[pos] <= '9'))
        return parseNumber(v);
      return error("unexpected character");
    }
  }

  static bool isDigit(char c) { return c >= '0' && c <= '9'; }

  bool parseNumber(JsonValue &v) {
    size_t start = pos;
    if (s[pos] == '-')
      ++pos;
    if (s[pos] == '0') {
      ++pos;
    } else if (isDigit(s[pos])) {
      while (isDigit(s[pos]))
        ++pos;
    } else {
      return error("invalid number");
    }
    if (s[pos] == '.') {
      ++pos;
      if (!isDigit(s[pos]))
        return error("invalid number");
      while (isDigit(s[pos]))
        ++pos;
    }
    if (s[pos] == 'e' || s[pos] == 'E') {
      ++pos;
      if (s[pos] == '+' || s[pos] == '-')
        ++pos;
      if (!isDigit(s[pos]))
        return error("invalid number");
      while (isDigit(s[pos]))
        ++pos;
    }
    v.kind = JsonValue::Number;
    v.text.assign(s + start, pos - start);
    return true;
  }

  bool hex4(unsigned &out) {
    out = 0;
    for (int i = 0; i < 4; ++i) {
      char c = s[pos++];
      unsigned d;
      if (c >= '0' && c <= '9')
        d = c - '0';
      else if (c >= 'a' && c <= 'f')
        d = c - 'a' + 10;
      else if (c >= 'A' && c <= 'F')
        d = c - 'A' + 10;
      else
        return error("invalid \\u escape");
      out = out * 16 + d;
    }
    return true;
  }

  static void appendUtf8(std::string &out, unsigned cp) {
    if (cp < 0x80) {
      out += static_cast<char>(cp);
    } else if (cp < 0x800) {
      out += static_cast<char>(0xC0 | (cp >> 6));
      out += static_cast<char>(0x80 | (cp & 0x3F));
    } else if (cp < 0x10000) {
      out += static_cast<char>(0xE0 | (cp >> 12));
      out += static_cast<char>(0x80 | ((cp >> 6) & 0x3F));
      out += static_cast<char>(0x80 | (cp & 0x3F));
    } else {
      out += static_cast<char>(0xF0 | (cp >> 18));
      out += static_cast<char>(0x80 | ((cp >> 12) & 0x3F));
      out += static_cast<char>(0x80 | ((cp >> 6) & 0x3F));
      out += static_cast<char>(0x80 | (cp & 0x3F));
    }
  }

  bool parseString(std::string &out) {
    ++pos; // opening quote
    out.clear();
    for (;;) {
      unsigned char c = static_cast<unsigned char>(s[pos]);
      if (c == '\0')
        return error("unterminated string");
      if (c < 0x20)
        return error("control character in string");
      ++pos;
      if (c == '"')
        return true;
      if (c != '\\') {
        out += static_cast<char>(c);
        continue;
      }
      char e = s[pos++];
      switch (e) {
      case '"':
      case '\\':
      case '/':
        out += e;
        break;
      case 'b':
        out += '\b';
        break;
      case 'f':
        out += '\f';
        break;
      case 'n':
        out += '\n';
        break;
      case 'r':
        out += '\r';
        break;
      case 't':
        out += '\t';
        break;
      case 'u': {
        unsigned cp;
        if (!hex4(cp))
          return false;
        if (cp >= 0xD800 && cp < 0xDC00) {
          unsigned lo;
          if (s[pos] != '\\' || s[pos + 1] != 'u')
            return error("unpaired surrogate in \\u escape");
          pos += 2;
          if (!hex4(lo))
            return false;
          if (lo < 0xDC00 || lo >= 0xE000)
            return error("unpaired surrogate in \\u escape");
          cp = 0x10000 + ((cp - 0xD800) << 10) + (lo - 0xDC00);
        } else if (cp >= 0xDC00 && cp < 0xE000) {
          return error("unpaired surrogate in \\u escape");
        }
        if (cp == 0)
          return error("\\u0000 in string");
        appendUtf8(out, cp);
        break;
      }
      default:
        --pos;
        return error("invalid escape in string");
      }
    }
  }

  bool parseArray(JsonValue &v, int depth) {
    v.kind = JsonValue::Array;
    ++pos; // '['
    skipSpace();
    if (s[pos] == ']') {
      ++pos;
      return true;
    }
    for (;;) {
      v.items.emplace_back();
      if (!parseValue(v.items.back(), depth))
        return false;
      skipSpace();
      if (s[pos] == ',') {
        ++pos;
        continue;
      }
      if (s[pos] == ']') {
        ++pos;
        return true;
      }
      return error("expected ',' or ']' in array");
    }
  }

  bool parseObject(JsonValue &v, int depth) {
    v.kind = JsonValue::Object;
    ++pos; // '{'
    skipSpace();
    if (s[pos] == '}') {
      ++pos;
      return true;
    }
    for (;;) {
      skipSpace();
      if (s[pos] != '"')
        return error("expected a string key in object");
      std::string key;
      if (!parseString(key))
        return false;
      if (v.get(key.c_str()))
        return error(format("duplicate key \"%s\"", key.c_str()).c_str());
      skipSpace();
      if (s[pos] != ':')
        return error("expected ':' after object key");
      ++pos;
      v.keys.push_back(key);
      v.items.emplace_back();
      if (!parseValue(v.items.back(), depth))
        return false;
      skipSpace();
      if (s[pos] == ',') {
        ++pos;
        continue;
      }
      if (s[pos] == '}') {
        ++pos;
        return true;
      }
      return error("expected ',' or '}' in object");
    }
  }
};

/// Parses a JSON number token holding a plain integer (no fraction or
/// exponent) that fits in int64_t.
bool toInt64(const JsonValue &v, int64_t &out) {
  if (v.kind != JsonValue::Number)
    return false;
  for (char c : v.text)
    if (c == '.' || c == 'e' || c == 'E')
      return false;
  errno = 0;
  char *end = nullptr;
  long long x = std::strtoll(v.text.c_str(), &end, 10);
  if (errno != 0 || *end != '\0')
    return false;
  out = x;
  return true;
}

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
