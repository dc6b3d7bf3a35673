//===- AST.h - Syntax tree of a .ein file -----------------------*- C++ -*-===//
//
// The parser produces this tree without resolving names; the model builder
// (ModelBuilder.cpp) resolves it, checks it and emits the cascade dialect.
//
//===----------------------------------------------------------------------===//
#ifndef CASCADE_COMPILER_FRONTEND_AST_H
#define CASCADE_COMPILER_FRONTEND_AST_H

#include "llvm/Support/SMLoc.h"
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

namespace cascade::ast {

struct Name {
  std::string text;
  llvm::SMLoc loc;
};

struct Expr;
using ExprPtr = std::unique_ptr<Expr>;

/// One node of an expression: values, index expressions and conditions
/// share this shape.
struct Expr {
  enum Kind { Number, Ident, Access, Neg, Binary, Call, Compare } kind;
  llvm::SMLoc loc;
  double number = 0;         // Number
  bool isInteger = false;    // Number
  std::string name;          // Ident, Access (tensor), Call (function)
  std::string op;            // Binary: + - * /; Compare: < <= > >= == !=
  std::vector<ExprPtr> args; // Access indices, Call args, Binary/Compare sides
  bool hasBrackets = true;   // Access: false for a bare `X` (a scalar)

  ExprPtr clone() const;
};

struct RankDecl {
  Name name;
  ExprPtr value; // null for `?`
};

struct ConstDecl {
  Name name;
  ExprPtr value;
};

struct TensorDecl {
  enum Role { Input, Weight } role;
  Name name;
  std::vector<Name> dims;
  Name dtype;
  std::string key;  // weights: key in the file
  std::string file; // weights: file, empty for the default
};

struct Equation {
  llvm::SMLoc loc;
  bool isInit = false;
  Name name;
  std::vector<ExprPtr> lhs;
  ExprPtr rhs;
  bool hasReduceSpec = false;
  Name reduceOp; // + max min * (as written)
  std::vector<Name> reduced;

  Equation clone() const;
};

struct Call {
  llvm::SMLoc loc;
  std::vector<Name> results;
  Name callee;
  std::vector<Name> args;
  std::optional<std::string> prefix;
};

/// Statements that may appear both at the top level and in a `def`.
struct Body {
  std::vector<TensorDecl> weights;
  std::vector<Equation> equations;
  std::vector<Call> calls;
};

struct Param {
  Name name;
  std::vector<Name> dims;
};

struct Def {
  Name name;
  std::vector<Param> params, results;
  Body body;
};

/// One line of a `schedule` block (LANGUAGE.md section 6):
///   rewrite defer_division | rewrite one_pass(M) [tile 64]
///   split P -> P1, P0 = 32 | fuse QK..AV as attn | order attn: P1, M1, ...
///   parallel P1 | vectorize F | unroll M0 = 4 | bind P1 -> block, ...
struct Directive {
  Name kind;               // rewrite split fuse order parallel vectorize ...
  std::vector<Name> names; // the names the directive mentions, in order
  std::vector<int64_t> numbers;
  llvm::SMLoc numberLoc;
};

struct Module {
  std::optional<Name> modelName;
  /// Ranks and constants in file order: extents may use earlier names.
  std::vector<RankDecl> ranks;
  std::vector<ConstDecl> consts;
  std::vector<std::pair<bool, size_t>> declOrder; // (isRank, index)
  std::optional<Name> weightsFile;
  std::vector<TensorDecl> inputs;
  std::vector<Name> outputs;
  Body body;
  std::vector<Def> defs;
  std::optional<llvm::SMLoc> scheduleLoc;
  std::vector<Directive> schedule;
};

} // namespace cascade::ast

#endif
