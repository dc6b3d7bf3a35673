//===- Lexer.cpp - Tokens of the .ein language ----------------------------===//
#include "compiler/Frontend/Lexer.h"
#include <cctype>
#include <cerrno>
#include <cstdlib>

using namespace cascade;

const char *cascade::tokSpelling(Tok kind) {
  switch (kind) {
  case Tok::Eof:
    return "end of file";
  case Tok::Newline:
    return "end of line";
  case Tok::Ident:
    return "identifier";
  case Tok::Number:
    return "number";
  case Tok::String:
    return "string";
  case Tok::LBracket:
    return "'['";
  case Tok::RBracket:
    return "']'";
  case Tok::LParen:
    return "'('";
  case Tok::RParen:
    return "')'";
  case Tok::LBrace:
    return "'{'";
  case Tok::RBrace:
    return "'}'";
  case Tok::Comma:
    return "','";
  case Tok::Colon:
    return "':'";
  case Tok::ColonColon:
    return "'::'";
  case Tok::Assign:
    return "'='";
  case Tok::Arrow:
    return "'->'";
  case Tok::DotDot:
    return "'..'";
  case Tok::Plus:
    return "'+'";
  case Tok::Minus:
    return "'-'";
  case Tok::Star:
    return "'*'";
  case Tok::Slash:
    return "'/'";
  case Tok::Lt:
    return "'<'";
  case Tok::Le:
    return "'<='";
  case Tok::Gt:
    return "'>'";
  case Tok::Ge:
    return "'>='";
  case Tok::EqEq:
    return "'=='";
  case Tok::Ne:
    return "'!='";
  case Tok::Question:
    return "'?'";
  case Tok::Error:
    return "invalid character";
  }
  return "token";
}

Token Lexer::make(Tok kind, const char *start) {
  Token t;
  t.kind = kind;
  t.text = llvm::StringRef(start, cur - start);
  t.loc = llvm::SMLoc::getFromPointer(start);
  return t;
}

Token Lexer::next() {
  const char *end = buf.end();
  for (;;) {
    while (cur < end && (*cur == ' ' || *cur == '\t' || *cur == '\r'))
      ++cur;
    if (cur < end && *cur == '#') {
      while (cur < end && *cur != '\n')
        ++cur;
      continue;
    }
    break;
  }
  const char *start = cur;
  if (cur >= end)
    return make(Tok::Eof, start);
  char c = *cur++;
  auto peekIs = [&](char want) {
    if (cur < end && *cur == want) {
      ++cur;
      return true;
    }
    return false;
  };
  switch (c) {
  case '\n':
  case ';':
    return make(Tok::Newline, start);
  case '[':
    return make(Tok::LBracket, start);
  case ']':
    return make(Tok::RBracket, start);
  case '(':
    return make(Tok::LParen, start);
  case ')':
    return make(Tok::RParen, start);
  case '{':
    return make(Tok::LBrace, start);
  case '}':
    return make(Tok::RBrace, start);
  case ',':
    return make(Tok::Comma, start);
  case '?':
    return make(Tok::Question, start);
  case '+':
    return make(Tok::Plus, start);
  case '*':
    return make(Tok::Star, start);
  case '/':
    return make(Tok::Slash, start);
  case ':':
    return make(peekIs(':') ? Tok::ColonColon : Tok::Colon, start);
  case '=':
    return make(peekIs('=') ? Tok::EqEq : Tok::Assign, start);
  case '-':
    return make(peekIs('>') ? Tok::Arrow : Tok::Minus, start);
  case '<':
    return make(peekIs('=') ? Tok::Le : Tok::Lt, start);
  case '>':
    return make(peekIs('=') ? Tok::Ge : Tok::Gt, start);
  case '!':
    if (peekIs('='))
      return make(Tok::Ne, start);
    error = "unexpected character '!' (did you mean '!='?)";
    return make(Tok::Error, start);
  case '"':
    return lexString(start);
  case '.':
    if (peekIs('.'))
      return make(Tok::DotDot, start);
    break;
  default:
    break;
  }
  if (std::isdigit((unsigned char)c) ||
      (c == '.' && cur < end && std::isdigit((unsigned char)*cur)))
    return lexNumber(start);
  if (std::isalpha((unsigned char)c) || c == '_') {
    while (cur < end && (std::isalnum((unsigned char)*cur) || *cur == '_'))
      ++cur;
    return make(Tok::Ident, start);
  }
  if ((unsigned char)c >= 0x20 && (unsigned char)c < 0x7f)
    error = std::string("unexpected character '") + c + "'";
  else
    error = "unexpected byte in source (only ASCII is allowed outside "
            "comments and strings)";
  return make(Tok::Error, start);
}

Token Lexer::lexNumber(const char *start) {
  const char *end = buf.end();
  bool isInt = true;
  while (cur < end && std::isdigit((unsigned char)*cur))
    ++cur;
  if (cur < end && *cur == '.') {
    isInt = false;
    ++cur;
    while (cur < end && std::isdigit((unsigned char)*cur))
      ++cur;
  }
  if (cur < end && (*cur == 'e' || *cur == 'E')) {
    const char *save = cur++;
    if (cur < end && (*cur == '+' || *cur == '-'))
      ++cur;
    if (cur < end && std::isdigit((unsigned char)*cur)) {
      isInt = false;
      while (cur < end && std::isdigit((unsigned char)*cur))
        ++cur;
    } else {
      cur = save; // not an exponent: `2e` is 2 followed by identifier e
    }
  }
  if (cur < end && (std::isalpha((unsigned char)*cur) || *cur == '_')) {
    while (cur < end && (std::isalnum((unsigned char)*cur) || *cur == '_'))
      ++cur;
    error = "malformed number '" + std::string(start, cur) + "'";
    return make(Tok::Error, start);
  }
  Token t = make(Tok::Number, start);
  std::string text(start, cur);
  errno = 0;
  t.number = std::strtod(text.c_str(), nullptr);
  t.isInteger = isInt;
  if (errno == ERANGE && t.number != 0) {
    error = "number '" + text + "' is out of range";
    t.kind = Tok::Error;
  }
  return t;
}

Token Lexer::lexString(const char *start) {
  const char *end = buf.end();
  std::string value;
  while (cur < end && *cur != '"' && *cur != '\n') {
    if (*cur == '\\' && cur + 1 < end && (cur[1] == '"' || cur[1] == '\\'))
      ++cur;
    value += *cur++;
  }
  if (cur >= end || *cur != '"') {
    error = "unterminated string";
    return make(Tok::Error, start);
  }
  ++cur;
  Token t = make(Tok::String, start);
  t.str = std::move(value);
  return t;
}
