//===- Lexer.h - Tokens of the .ein language --------------------*- C++ -*-===//
#ifndef CASCADE_COMPILER_FRONTEND_LEXER_H
#define CASCADE_COMPILER_FRONTEND_LEXER_H

#include "llvm/ADT/StringRef.h"
#include "llvm/Support/SMLoc.h"
#include <string>

namespace cascade {

enum class Tok {
  Eof,
  Newline, // statement separator: end of line or ';'
  Ident,   // names, keywords and function names
  Number,
  String,
  LBracket,
  RBracket,
  LParen,
  RParen,
  LBrace,
  RBrace,
  Comma,
  Colon,
  ColonColon,
  Assign,
  Arrow,
  DotDot,
  Plus,
  Minus,
  Star,
  Slash,
  Lt,
  Le,
  Gt,
  Ge,
  EqEq,
  Ne,
  Question,
  Error, // a character the language does not have
};

const char *tokSpelling(Tok kind);

struct Token {
  Tok kind = Tok::Eof;
  llvm::StringRef text; // the token's characters in the buffer
  llvm::SMLoc loc;
  double number = 0;
  bool isInteger = false;
  std::string str; // unescaped contents of a string literal
};

/// Splits a buffer into tokens. Comments (`#` to end of line) are skipped;
/// ends of lines and `;` become Newline tokens.
class Lexer {
public:
  explicit Lexer(llvm::StringRef buffer) : buf(buffer), cur(buffer.begin()) {}
  Token next();
  /// Message describing the last Error token (e.g. an unterminated string).
  const std::string &errorMessage() const { return error; }

private:
  Token make(Tok kind, const char *start);
  Token lexNumber(const char *start);
  Token lexString(const char *start);

  llvm::StringRef buf;
  const char *cur;
  std::string error;
};

} // namespace cascade

#endif
