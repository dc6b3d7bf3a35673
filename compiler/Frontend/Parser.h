//===- Parser.h - Parser of .ein files --------------------------*- C++ -*-===//
#ifndef CASCADE_COMPILER_FRONTEND_PARSER_H
#define CASCADE_COMPILER_FRONTEND_PARSER_H

#include "compiler/Frontend/AST.h"
#include "compiler/Frontend/Lexer.h"
#include "llvm/ADT/Twine.h"
#include <functional>

namespace cascade {

/// Receives located diagnostics.
using DiagFn =
    std::function<void(llvm::SMLoc, const llvm::Twine &, bool isWarning)>;

/// Parses one buffer into `module`. Reports every syntax error it can
/// (resynchronizing at the next line) and returns false if there was one.
bool parseModule(llvm::StringRef buffer, ast::Module &module,
                 const DiagFn &diag);

} // namespace cascade

#endif
