//===- EinPrinter.cpp - Print a cascade back as a .ein file ---------------===//
#include "compiler/Frontend/EinPrinter.h"
#include "dialects/Cascade/IR/Access.h"
#include "dialects/Cascade/IR/CascadeOps.h"
#include "llvm/ADT/MapVector.h"
#include "llvm/ADT/StringMap.h"
#include "llvm/ADT/StringSet.h"
#include <cmath>
#include <cstdio>
#include <cstdlib>

using namespace mlir;
using namespace cascade;

std::string cascade::formatNumber(double v) {
  if (std::isinf(v))
    return v > 0 ? "inf" : "(-inf)";
  char buf[64];
  if (v == std::floor(v) && std::fabs(v) < 1e15) {
    // Integers as integers (`10`, not `1e+01`): extents and index-like
    // constants read back as integers.
    std::snprintf(buf, sizeof buf, "%.0f", std::fabs(v));
    return v < 0 ? "(-" + std::string(buf) + ")" : std::string(buf);
  }
  for (int prec = 1; prec <= 17; ++prec) {
    std::snprintf(buf, sizeof buf, "%.*g", prec, v);
    if (std::strtod(buf, nullptr) == v)
      break;
  }
  std::string s = buf;
  return v < 0 ? "(" + s + ")" : s;
}

namespace {

/// The .ein operator of a `where` or select predicate (lt le gt ge eq ne).
const char *comparison(StringRef pred) {
  return pred == "lt"   ? " < "
         : pred == "le" ? " <= "
         : pred == "gt" ? " > "
         : pred == "ge" ? " >= "
         : pred == "eq" ? " == "
                        : " != ";
}

class EinPrinter {
public:
  EinPrinter(llvm::raw_ostream &os) : os(os) {}

  LogicalResult print(func::FuncOp f) {
    // Ranks: from declared dimensions and from einsum indices.
    llvm::MapVector<std::string, int64_t, llvm::StringMap<unsigned>> ranks;
    for (unsigned i = 0; i < f.getNumArguments(); ++i) {
      auto dims = f.getArgAttrOfType<ArrayAttr>(i, attrs::kDims);
      auto type = dyn_cast<RankedTensorType>(f.getArgumentTypes()[i]);
      if (!dims || !type)
        return f.emitError("--emit=ein needs the cascade-level IR (before "
                           "lowering)");
      for (auto [d, name] : llvm::enumerate(dims.getAsValueRange<StringAttr>()))
        ranks.insert({name.str(), type.getDimSize(d)});
    }
    for (EinsumOp op : f.getOps<EinsumOp>())
      for (unsigned d = 0; d < op.getNumLoops(); ++d)
        ranks.insert({op.getIndexName(d).upper(), op.getExtents()[d]});

    os << "model " << f.getSymName() << "\n";
    // The declarations as written (aliases `M=P`, named constants), so that
    // `--set` works on the printed model as on the source; then the ranks
    // that rewrites added, by value.
    llvm::StringSet<> declared;
    if (auto decls = f->getAttrOfType<ArrayAttr>("cascade.declarations")) {
      // Consecutive ranks share a line, as they are usually written.
      std::vector<std::string> line;
      auto flush = [&] {
        if (!line.empty())
          os << "ranks " << llvm::join(line, ", ") << "\n";
        line.clear();
      };
      for (StringRef d : decls.getAsValueRange<StringAttr>()) {
        if (d.consume_front("ranks ")) {
          declared.insert(d.split('=').first);
          line.push_back(d.str());
          continue;
        }
        flush();
        os << d << "\n";
      }
      flush();
    }
    // Index expressions keep only values: say which names they inlined.
    if (auto inlined = f->getAttrOfType<ArrayAttr>("cascade.index_constants"))
      os << "# index expressions below hold the values of "
         << llvm::join(inlined.getAsValueRange<StringAttr>(), ", ")
         << ": --set on this file does not change them\n";
    std::vector<std::string> added;
    for (auto &[name, extent] : ranks)
      if (!declared.contains(name))
        added.push_back(name + "=" + std::to_string(extent));
    if (!added.empty())
      os << "ranks " << llvm::join(added, ", ") << "\n";
    if (auto w = f->getAttrOfType<StringAttr>("cascade.weights_file"))
      os << "weights \"" << w.getValue() << "\"\n";
    for (unsigned i = 0; i < f.getNumArguments(); ++i) {
      StringRef role = f.getArgAttrOfType<StringAttr>(i, attrs::kRole);
      os << role << " "
         << f.getArgAttrOfType<StringAttr>(i, attrs::kName).getValue() << "[";
      llvm::interleave(f.getArgAttrOfType<ArrayAttr>(i, attrs::kDims)
                           .getAsValueRange<StringAttr>(),
                       os, ", ");
      os << "] : "
         << f.getArgAttrOfType<StringAttr>(i, attrs::kDtype).getValue();
      if (role == "weight") {
        os << " = ";
        if (auto file = f.getArgAttrOfType<StringAttr>(i, attrs::kFile))
          os << "\"" << file.getValue() << "\" : ";
        os << "\"" << f.getArgAttrOfType<StringAttr>(i, attrs::kKey).getValue()
           << "\"";
      }
      os << "\n";
    }
    for (EinsumOp op : f.getOps<EinsumOp>())
      printEquation(op);
    os << "output ";
    for (unsigned i = 0; i < f.getNumResults(); ++i)
      os << (i ? ", " : "")
         << f.getResultAttrOfType<StringAttr>(i, attrs::kName).getValue();
    os << "\n";
    return success();
  }

private:
  /// The recurrence an einsum is the init of, if any.
  static EinsumOp initUser(EinsumOp op) {
    for (Operation *user : op.getResult().getUsers())
      if (auto e = dyn_cast<EinsumOp>(user))
        if (e.getInit() == op.getResult())
          return e;
    return {};
  }

  void printEquation(EinsumOp op) {
    names.clear();
    for (unsigned d = 0; d < op.getNumLoops(); ++d)
      names.push_back(op.getIndexName(d).str());
    std::optional<int64_t> iter = op.getIterative();
    std::vector<std::string> lhs;
    for (unsigned d = 0; d < op.getNumOutputDims(); ++d)
      lhs.push_back(iter && *iter == (int64_t)d ? names[d] + "+1" : names[d]);
    if (EinsumOp rec = initUser(op)) {
      lhs.insert(lhs.begin() + *rec.getIterative(), "0");
      os << "init ";
    }
    os << op.getName() << "[";
    llvm::interleave(lhs, os, ", ");
    os << "] = ";
    current = op;
    printValue(op.getYieldedValue());
    if (op.hasReduction() && op.getReduction() != "add") {
      StringRef kind = op.getReduction();
      os << " :: " << (kind == "mul" ? "*" : kind) << "(";
      for (unsigned d = op.getNumOutputDims(); d < op.getNumLoops(); ++d)
        os << (d > op.getNumOutputDims() ? ", " : "") << names[d];
      os << ")";
    }
    os << "\n";
  }

  void printIndex(AffineExpr e) {
    auto lin = toLinear(e, names.size());
    std::string s;
    for (unsigned d = 0; d < names.size(); ++d) {
      int64_t c = lin->coeffs[d];
      if (c == 0)
        continue;
      if (!s.empty())
        s += c < 0 ? " - " : " + ";
      else if (c < 0)
        s += "-";
      int64_t a = std::abs(c);
      s += (a == 1 ? "" : std::to_string(a) + "*") + names[d];
    }
    if (lin->constant != 0 || s.empty()) {
      if (s.empty())
        s = std::to_string(lin->constant);
      else
        s += (lin->constant < 0 ? " - " : " + ") +
             std::to_string(std::abs(lin->constant));
    }
    os << s;
  }

  void printValue(Value v) {
    Operation *def = v.getDefiningOp();
    if (auto read = dyn_cast<ReadOp>(def)) {
      auto arg = cast<BlockArgument>(read.getTensor());
      os << (current.getOperandForArg(arg) ? getTensorName(read.getTensor())
                                           : current.getName().str());
      os << "[";
      llvm::interleave(
          read.getMap().getResults(), os, [&](AffineExpr e) { printIndex(e); },
          ", ");
      os << "]";
    } else if (auto c = dyn_cast<ConstOp>(def)) {
      if (auto symbol = c.getSymbol())
        os << *symbol;
      else
        os << formatNumber(c.getValue().convertToDouble());
    } else if (auto u = dyn_cast<UnaryOp>(def)) {
      if (u.getFn() == "neg") {
        os << "(-";
        printValue(u.getOperand());
        os << ")";
      } else {
        os << u.getFn() << "(";
        printValue(u.getOperand());
        os << ")";
      }
    } else if (auto b = dyn_cast<BinaryOp>(def)) {
      StringRef fn = b.getFn();
      const char *infix = fn == "add"   ? " + "
                          : fn == "sub" ? " - "
                          : fn == "mul" ? " * "
                          : fn == "div" ? " / "
                                        : nullptr;
      if (infix) {
        os << "(";
        printValue(b.getLhs());
        os << infix;
        printValue(b.getRhs());
        os << ")";
      } else {
        os << fn << "(";
        printValue(b.getLhs());
        os << ", ";
        printValue(b.getRhs());
        os << ")";
      }
    } else if (auto s = dyn_cast<SelectOp>(def)) {
      os << "where(";
      printValue(s.getLhs());
      os << comparison(s.getPred());
      printValue(s.getRhs());
      os << ", ";
      printValue(s.getOnTrue());
      os << ", ";
      printValue(s.getOnFalse());
      os << ")";
    } else if (auto w = dyn_cast<WhereOp>(def)) {
      os << "where(";
      printIndex(w.getLhs().getResult(0));
      os << comparison(w.getPred());
      printIndex(w.getRhs().getResult(0));
      os << ", ";
      printValue(
          cast<YieldOp>(w.getThenRegion().front().getTerminator()).getValue());
      os << ", ";
      printValue(
          cast<YieldOp>(w.getElseRegion().front().getTerminator()).getValue());
      os << ")";
    }
  }

  llvm::raw_ostream &os;
  std::vector<std::string> names;
  EinsumOp current;
};

} // namespace

LogicalResult cascade::printAsEin(ModuleOp module, llvm::raw_ostream &os) {
  EinPrinter printer(os);
  for (auto f : module.getOps<func::FuncOp>())
    if (f->hasAttr(attrs::kModel) && failed(printer.print(f)))
      return failure();
  return success();
}
