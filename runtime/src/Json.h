//===- Json.h - A small strict JSON parser for the runtime ------*- C++ -*-===//
//
// A strict JSON (RFC 8259) parser building a tree, used for manifests and
// safetensors headers. Nesting is capped at 64 levels so a hostile file
// cannot exhaust the stack. Not installed.
//
//===----------------------------------------------------------------------===//

#ifndef CASCADE_RUNTIME_JSON_H
#define CASCADE_RUNTIME_JSON_H

#include <cerrno>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <string>
#include <vector>

namespace cascade {
namespace rt {

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
inline bool toInt64(const JsonValue &v, int64_t &out) {
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

} // namespace rt
} // namespace cascade

#endif // CASCADE_RUNTIME_JSON_H
