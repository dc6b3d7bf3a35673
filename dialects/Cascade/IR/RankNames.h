//===- RankNames.h - Names of the parts of a split rank ---------*- C++ -*-===//
#ifndef CASCADE_DIALECT_IR_RANKNAMES_H
#define CASCADE_DIALECT_IR_RANKNAMES_H

#include "llvm/ADT/StringExtras.h"
#include "llvm/ADT/StringRef.h"
#include <string>

namespace cascade {

/// The name of part `part` of a rank split by `rewrite one_pass(R)` ("1":
/// the tile numbers, "0": the index within a tile): M gives M1 and M0. A
/// name that ends in a digit takes a separator, N2 giving N2_1 and N2_0, so
/// that a part never reads as another rank (N21).
inline std::string splitPartName(llvm::StringRef rank, llvm::StringRef part) {
  bool digit = !rank.empty() && llvm::isDigit(rank.back());
  return (rank + (digit ? "_" : "") + part).str();
}

} // namespace cascade

#endif
