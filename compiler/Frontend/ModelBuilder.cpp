//===- ModelBuilder.cpp - .ein source to the cascade dialect --------------===//
//
// Resolves names, expands layer calls, orders equations by dependence and
// emits one `cascade.einsum` per equation. Errors in one equation poison
// only the tensors that depend on it, so one run reports every independent
// mistake.
//
//===----------------------------------------------------------------------===//
#include "compiler/Frontend/ModelBuilder.h"
#include "compiler/Frontend/EinPrinter.h"
#include "compiler/Frontend/Parser.h"
#include "dialects/Cascade/IR/CascadeOps.h"
#include "dialects/Cascade/IR/RankNames.h"
#include "mlir/IR/Builders.h"
#include "mlir/IR/Diagnostics.h"
#include "mlir/IR/Verifier.h"
#include "llvm/ADT/STLExtras.h"
#include "llvm/ADT/StringSwitch.h"
#include "llvm/Support/FormatVariadic.h"
#include "llvm/Support/MemoryBuffer.h"
#include <cctype>
#include <cmath>
#include <map>
#include <set>

using namespace mlir;
using namespace cascade;
using namespace cascade::ast;

namespace {

bool startsUpper(llvm::StringRef s) {
  return !s.empty() && std::isupper((unsigned char)s[0]);
}
std::string upper(llvm::StringRef s) { return s.upper(); }

struct TensorInfo {
  enum Kind { Input, Weight, Computed } kind;
  llvm::SMLoc loc;
  std::vector<int64_t> shape;
  std::vector<std::string> dimRanks;
  int iterDim = -1;
  const Equation *def = nullptr;
  const Equation *init = nullptr;
  Value value, initValue;
  bool poisoned = false;
};

struct BuiltinFn {
  unsigned arity;
  llvm::StringRef op; // cascade.unary / cascade.binary function name
};

std::optional<BuiltinFn> lookupBuiltin(llvm::StringRef name) {
  return llvm::StringSwitch<std::optional<BuiltinFn>>(name)
      .Cases({"exp", "log", "sqrt", "rsqrt", "tanh", "erf", "sigmoid", "relu",
              "silu", "gelu", "gelu_tanh", "abs", "recip", "trunc", "round_f16",
              "round_bf16"},
             BuiltinFn{1, name})
      .Case("pow", BuiltinFn{2, "pow"})
      .Case("max", BuiltinFn{2, "max"})
      .Case("min", BuiltinFn{2, "min"})
      .Case("where", BuiltinFn{3, "where"})
      .Default(std::nullopt);
}

class ModelBuilder {
public:
  ModelBuilder(llvm::SourceMgr &sm, MLIRContext *ctx,
               std::optional<unsigned> scheduleBuffer,
               const ModelOverrides &overrides)
      : sm(sm), ctx(ctx), builder(ctx), scheduleBuffer(scheduleBuffer),
        overrides(overrides) {
    bufferName = sm.getMemoryBuffer(sm.getMainFileID())->getBufferIdentifier();
  }

  OwningOpRef<ModuleOp> build(llvm::StringRef defaultName) {
    llvm::StringRef buffer =
        sm.getMemoryBuffer(sm.getMainFileID())->getBuffer();
    DiagFn diag = [&](llvm::SMLoc loc, const llvm::Twine &msg, bool warn) {
      if (warn)
        emitWarning(toLoc(loc), msg);
      else
        error(loc, msg);
    };
    bool parsed = parseModule(buffer, m, diag);
    // A schedule file replaces the model's own schedule block.
    if (scheduleBuffer) {
      Module file;
      parsed &= parseModule(sm.getMemoryBuffer(*scheduleBuffer)->getBuffer(),
                            file, diag);
      if (!file.scheduleLoc && parsed)
        error(llvm::SMLoc::getFromPointer(
                  sm.getMemoryBuffer(*scheduleBuffer)->getBufferStart()),
              "a schedule file holds a 'schedule { ... }' block");
      if (!file.inputs.empty() || !file.outputs.empty() ||
          !file.body.equations.empty() || !file.body.weights.empty() ||
          !file.defs.empty() || !file.ranks.empty())
        error(llvm::SMLoc::getFromPointer(
                  sm.getMemoryBuffer(*scheduleBuffer)->getBufferStart()),
              "a schedule file holds only a schedule block");
      m.schedule = std::move(file.schedule);
      m.scheduleLoc = file.scheduleLoc;
    }
    if (!parsed || hadError)
      return nullptr; // syntax errors make name resolution meaningless
    addCommandLineBuffer();
    declareRanksAndConsts();
    for (auto &[name, value] : overrides)
      if (!extents.count(name) && !consts.count(name))
        error(overrideLoc.at(name),
              "--set " + name + "=...: the model has no rank or constant '" +
                  name + "'");
    declareTensors();
    if (hadError)
      return nullptr;
    expandBody(m.body, /*rename=*/{}, /*prefix=*/"", /*depth=*/0);
    registerEquations();
    if (hadError)
      return nullptr;
    std::vector<const Equation *> order = topologicalOrder();
    if (hadError)
      return nullptr;
    OwningOpRef<ModuleOp> module =
        ModuleOp::create(toLoc(llvm::SMLoc::getFromPointer(buffer.begin())));
    buildFunction(*module, defaultName, order);
    if (func::FuncOp f = getModel(*module); f && !inlinedInIndices.empty())
      f->setAttr(
          "cascade.index_constants",
          builder.getStrArrayAttr(llvm::to_vector_of<StringRef>(llvm::map_range(
              inlinedInIndices, [](const auto &n) { return StringRef(n); }))));
    if (hadError)
      return nullptr;
    checkSchedule(getModel(*module));
    if (hadError)
      return nullptr;
    return module;
  }

private:
  /// A constant expression as written (parentheses where needed), for the
  /// declarations `--emit=ein` prints back.
  static std::string printConstExpr(const Expr &e) {
    auto operand = [](const Expr &x) {
      std::string t = printConstExpr(x);
      return x.kind == Expr::Binary || x.kind == Expr::Neg ? "(" + t + ")" : t;
    };
    switch (e.kind) {
    case Expr::Number:
      return formatNumber(e.number);
    case Expr::Ident:
      return e.name;
    case Expr::Neg:
      return "-" + operand(*e.args[0]);
    case Expr::Binary:
      return operand(*e.args[0]) + " " + e.op + " " + operand(*e.args[1]);
    case Expr::Call: {
      std::string t = e.name + "(";
      for (size_t i = 0; i < e.args.size(); ++i)
        t += (i ? ", " : "") + printConstExpr(*e.args[i]);
      return t + ")";
    }
    default:
      return "?";
    }
  }

  /// The `--set` flags as a source buffer named `<command line>`, so that a
  /// diagnostic about an overridden value points at the flag, not at the
  /// declaration it replaced.
  void addCommandLineBuffer() {
    if (overrides.empty())
      return;
    std::string text;
    std::map<std::string, size_t> offsets;
    for (auto &[name, value] : overrides) {
      text += (text.empty() ? "--set " : " --set ") + name + "=";
      offsets[name] = text.size();
      std::string v = formatNumber(value); // negatives come in parentheses
      text += v.front() == '(' ? v.substr(1, v.size() - 2) : v;
    }
    unsigned id = sm.AddNewSourceBuffer(
        llvm::MemoryBuffer::getMemBufferCopy(text, "<command line>"),
        llvm::SMLoc());
    const char *start = sm.getMemoryBuffer(id)->getBufferStart();
    for (auto &[name, offset] : offsets)
      overrideLoc[name] = llvm::SMLoc::getFromPointer(start + offset);
  }

  // --- diagnostics --------------------------------------------------------
  Location toLoc(llvm::SMLoc loc) {
    if (!loc.isValid())
      return FileLineColLoc::get(ctx, bufferName, 1, 1);
    unsigned id = sm.FindBufferContainingLoc(loc);
    if (id == 0)
      id = sm.getMainFileID();
    auto [line, col] = sm.getLineAndColumn(loc, id);
    return FileLineColLoc::get(
        ctx, sm.getMemoryBuffer(id)->getBufferIdentifier(), line, col);
  }

  static func::FuncOp getModel(ModuleOp module) {
    for (auto f : module.getOps<func::FuncOp>())
      return f;
    return {};
  }

  // --- schedules ----------------------------------------------------------
  /// Checks every directive against the model (LANGUAGE.md section 6) and
  /// records the schedule on the function as `cascade.schedule` (each
  /// directive with its location, for the lowering's diagnostics). The
  /// rewrites are applied by the driver, the loop directives by
  /// cascade-lower-to-loops; the equations of a `fuse` group are marked with
  /// `cascade.fuse` (rewrites pass the mark on to the equations they make).
  void checkSchedule(func::FuncOp func) {
    if (m.schedule.empty())
      return;
    std::set<std::string> ranks, groups, equationNames;
    std::map<std::string, std::string> splitOuter; // inner part -> outer part
    std::map<std::string, std::string> fuseMark;   // equation -> group
    for (auto &[name, ext] : extents)
      ranks.insert(name);
    for (const Equation &eq : flatEquations)
      equationNames.insert(eq.name.text);
    auto isNew = [&](const Name &n) {
      bool clash = ranks.count(n.text) || tensors.count(n.text) ||
                   consts.count(n.text) || groups.count(n.text);
      if (clash)
        error(n.loc, "'" + n.text +
                         "' already names a rank, tensor, "
                         "constant or group");
      return !clash;
    };
    auto knownRank = [&](const Name &n) {
      if (!ranks.count(n.text)) {
        error(n.loc, "unknown rank '" + n.text + "' in the schedule");
        return false;
      }
      return true;
    };
    auto sourceIndex = [&](const std::string &tensor) {
      for (size_t i = 0; i < flatEquations.size(); ++i)
        if (flatEquations[i].name.text == tensor)
          return (int)i;
      return -1;
    };
    Builder b(ctx);
    SmallVector<Attribute> records;
    // Rewrites and splits name new ranks: check them first, so the other
    // directives may use those names wherever they are written.
    std::vector<const Directive *> ordered;
    for (bool first : {true, false})
      for (const Directive &d : m.schedule)
        if ((d.kind.text == "rewrite" || d.kind.text == "split") == first)
          ordered.push_back(&d);
    for (const Directive *dp : ordered) {
      const Directive &d = *dp;
      llvm::StringRef k = d.kind.text;
      bool hadErrorBefore = hadError;
      hadError = false;
      if (k == "rewrite") {
        const Name &what = d.names[0];
        if (what.text == "one_pass") {
          if (knownRank(d.names[1])) {
            // The rewrite names the two parts of the split rank.
            ranks.insert(splitPartName(d.names[1].text, "1"));
            ranks.insert(splitPartName(d.names[1].text, "0"));
          }
        } else if (what.text != "defer_division") {
          error(what.loc, "unknown rewrite '" + what.text +
                              "' (expected defer_division or one_pass(RANK))");
        }
      } else if (k == "split") {
        if (knownRank(d.names[0]) && isNew(d.names[1]) && isNew(d.names[2])) {
          if (d.names[1].text == d.names[2].text)
            error(d.names[2].loc, "the two parts of a split need two names");
          else if (!startsUpper(d.names[1].text) ||
                   !startsUpper(d.names[2].text))
            error(d.names[1].loc, "rank names start with an upper-case letter");
          else if (d.numbers[0] > extents[d.names[0].text])
            error(d.numberLoc,
                  "the inner extent " + std::to_string(d.numbers[0]) +
                      " exceeds the extent of rank '" + d.names[0].text +
                      "' (" + std::to_string(extents[d.names[0].text]) + ")");
          ranks.insert(d.names[1].text);
          ranks.insert(d.names[2].text);
          splitOuter[d.names[2].text] = d.names[1].text;
        }
      } else if (k == "fuse") {
        int first = sourceIndex(d.names[0].text);
        int last = sourceIndex(d.names[1].text);
        if (first < 0)
          error(d.names[0].loc,
                "'" + d.names[0].text + "' is not defined by an equation");
        else if (last < 0)
          error(d.names[1].loc,
                "'" + d.names[1].text + "' is not defined by an equation");
        else if (first > last)
          error(d.names[1].loc, "'" + d.names[1].text + "' comes before '" +
                                    d.names[0].text + "' in the model");
        else if (isNew(d.names[2])) {
          groups.insert(d.names[2].text);
          for (int i = first; i <= last; ++i) {
            const std::string &eq = flatEquations[i].name.text;
            auto [it, fresh] = fuseMark.emplace(eq, d.names[2].text);
            if (!fresh && it->second != d.names[2].text)
              error(d.names[0].loc,
                    "'" + eq + "' is already in group '" + it->second + "'");
          }
        }
      } else if (k == "order") {
        const Name &target = d.names[0];
        if (!equationNames.count(target.text) && !groups.count(target.text))
          error(target.loc, "'" + target.text +
                                "' is neither an equation nor a fused group");
        std::set<std::string> seen;
        for (size_t i = 1; i < d.names.size(); ++i) {
          const Name &n = d.names[i];
          if (!knownRank(n))
            continue;
          if (!seen.insert(n.text).second)
            error(n.loc, "rank '" + n.text + "' appears twice in the order");
          auto outer = splitOuter.find(n.text);
          if (outer != splitOuter.end() &&
              llvm::any_of(
                  llvm::ArrayRef(d.names).drop_front(i + 1),
                  [&](const Name &m) { return m.text == outer->second; }))
            error(n.loc, "'" + n.text +
                             "' is the inner part of a split: it "
                             "must come after its outer part '" +
                             outer->second + "'");
        }
      } else if (k == "bind") {
        for (size_t i = 0; i < d.names.size(); i += 2)
          knownRank(d.names[i]);
      } else {
        for (const Name &n : d.names)
          knownRank(n);
      }
      bool directiveFailed = hadError;
      hadError = hadErrorBefore || directiveFailed;
      SmallVector<Attribute> names;
      for (const Name &n : d.names)
        names.push_back(b.getStringAttr(n.text));
      records.push_back(b.getDictionaryAttr(
          {b.getNamedAttr("kind", b.getStringAttr(k)),
           b.getNamedAttr("names", b.getArrayAttr(names)),
           b.getNamedAttr("numbers", b.getI64ArrayAttr(d.numbers)),
           b.getNamedAttr("loc", LocationAttr(toLoc(d.kind.loc)))}));
    }
    func->setAttr("cascade.schedule", b.getArrayAttr(records));
    func.walk([&](EinsumOp op) {
      auto it = fuseMark.find(op.getName().str());
      if (it != fuseMark.end())
        op->setAttr("cascade.fuse", b.getStringAttr(it->second));
    });
  }
  InFlightDiagnostic error(llvm::SMLoc loc, const llvm::Twine &msg) {
    hadError = true;
    return emitError(toLoc(loc), msg);
  }

  // --- constants and ranks ------------------------------------------------
  /// Evaluates a constant expression (numbers, constants, extents, + - * /
  /// and, in declarations, sqrt/exp/log of one argument). With `report`
  /// false it only tells constants from other expressions: no diagnostic,
  /// and no function calls (a call in an equation stays an op).
  std::optional<double> evalConst(const Expr &e, bool report = true) {
    switch (e.kind) {
    case Expr::Number:
      return e.number;
    case Expr::Ident: {
      if (e.name == "inf")
        return INFINITY;
      if (auto it = extents.find(e.name); it != extents.end())
        return (double)it->second;
      if (auto it = consts.find(e.name); it != consts.end())
        return it->second;
      if (report)
        error(e.loc, "unknown name '" + e.name +
                         "' in a constant expression (only numbers, "
                         "constants and rank extents)");
      return std::nullopt;
    }
    case Expr::Neg: {
      auto v = evalConst(*e.args[0], report);
      return v ? std::optional<double>(-*v) : std::nullopt;
    }
    case Expr::Binary: {
      auto a = evalConst(*e.args[0], report);
      auto b = a ? evalConst(*e.args[1], report) : std::nullopt;
      if (!b)
        return std::nullopt;
      if (e.op == "+")
        return *a + *b;
      if (e.op == "-")
        return *a - *b;
      if (e.op == "*")
        return *a * *b;
      return *a / *b;
    }
    case Expr::Call: {
      if (!report)
        return std::nullopt;
      if (e.args.size() == 1 &&
          (e.name == "sqrt" || e.name == "exp" || e.name == "log")) {
        auto v = evalConst(*e.args[0]);
        if (!v)
          return std::nullopt;
        return e.name == "sqrt"  ? std::sqrt(*v)
               : e.name == "exp" ? std::exp(*v)
                                 : std::log(*v);
      }
      error(e.loc, "'" + e.name +
                       "(...)' is not allowed in a constant "
                       "expression");
      return std::nullopt;
    }
    default:
      if (report)
        error(e.loc, "not a constant expression");
      return std::nullopt;
    }
  }

  std::optional<double> evalConstSilently(const Expr &e) {
    return evalConst(e, /*report=*/false);
  }

  void declareRanksAndConsts() {
    std::map<std::string, llvm::SMLoc> seen;
    auto declare = [&](const Name &n) {
      auto [it, fresh] = seen.insert({n.text, n.loc});
      if (!fresh)
        error(n.loc, "'" + n.text + "' is declared twice")
                .attachNote(toLoc(it->second))
            << "previous declaration is here";
      return fresh;
    };
    for (auto [isRank, index] : m.declOrder) {
      if (isRank) {
        const RankDecl &r = m.ranks[index];
        if (!startsUpper(r.name.text)) {
          error(r.name.loc, "rank name '" + r.name.text +
                                "' must start with an upper-case letter");
          continue;
        }
        if (!declare(r.name))
          continue;
        std::optional<double> v;
        if (auto it = overrides.find(r.name.text); it != overrides.end())
          v = it->second;
        else if (!r.value) {
          error(r.name.loc, "dynamic extents ('" + r.name.text +
                                "=?') are not yet supported; give a number");
          extents[r.name.text] = 1;
          continue;
        } else
          v = evalConst(*r.value);
        if (!v)
          continue;
        llvm::SMLoc valueLoc = overrides.count(r.name.text)
                                   ? overrideLoc.at(r.name.text)
                               : r.value ? r.value->loc
                                         : r.name.loc;
        if (*v != std::floor(*v) || std::fabs(*v) > 1e15) {
          error(valueLoc, "extent of rank '" + r.name.text +
                              "' must be an integer, got " +
                              llvm::formatv("{0}", *v).str());
          continue;
        }
        if (*v <= 0) {
          error(valueLoc, "rank '" + r.name.text +
                              "' must have a positive extent, got " +
                              std::to_string((int64_t)*v));
          extents[r.name.text] = 1;
          continue;
        }
        extents[r.name.text] = (int64_t)*v;
        rankLoc[r.name.text] = r.name.loc;
        declarations.push_back("ranks " + r.name.text + "=" +
                               (overrides.count(r.name.text) || !r.value
                                    ? std::to_string((int64_t)*v)
                                    : printConstExpr(*r.value)));
      } else {
        const ConstDecl &c = m.consts[index];
        if (!declare(c.name))
          continue;
        if (auto it = overrides.find(c.name.text); it != overrides.end()) {
          consts[c.name.text] = it->second;
          declarations.push_back("const " + c.name.text + " = " +
                                 formatNumber(it->second));
        } else if (auto v = evalConst(*c.value)) {
          consts[c.name.text] = *v;
          declarations.push_back("const " + c.name.text + " = " +
                                 printConstExpr(*c.value));
        }
      }
    }
    // A constant may not hide the index of a rank (declared before or after).
    for (const ConstDecl &c : m.consts)
      if (extents.count(upper(c.name.text)) &&
          c.name.text != upper(c.name.text))
        error(c.name.loc, "constant '" + c.name.text +
                              "' has the name of the index of rank '" +
                              upper(c.name.text) + "'");
  }

  // --- tensors ------------------------------------------------------------
  bool checkTensorName(const Name &n) {
    if (!startsUpper(n.text))
      return error(n.loc, "tensor name '" + n.text +
                              "' must start with an upper-case letter"),
             false;
    if (extents.count(n.text))
      return error(n.loc, "'" + n.text +
                              "' is a rank; a name is a rank or "
                              "a tensor, never both"),
             false;
    if (consts.count(n.text))
      return error(n.loc, "'" + n.text + "' is a constant, not a tensor"),
             false;
    return true;
  }

  bool resolveDims(const std::vector<Name> &dims, std::vector<int64_t> &shape,
                   std::vector<std::string> &ranks) {
    bool ok = true;
    for (const Name &d : dims) {
      auto it = extents.find(d.text);
      if (it == extents.end()) {
        error(d.loc, "unknown rank '" + d.text + "'");
        ok = false;
        continue;
      }
      shape.push_back(it->second);
      ranks.push_back(d.text);
    }
    return ok;
  }

  void declareTensor(const TensorDecl &d) {
    if (!checkTensorName(d.name))
      return;
    if (auto it = tensors.find(d.name.text); it != tensors.end()) {
      error(d.name.loc, "tensor '" + d.name.text + "' is declared twice")
              .attachNote(toLoc(it->second.loc))
          << "previous declaration is here";
      return;
    }
    llvm::StringRef t = d.dtype.text;
    if (t == "i32" || t == "i8" || t == "i16" || t == "i64") {
      error(d.dtype.loc, "element type '" + t.str() +
                             "' is not yet supported (use f32, f16 or bf16)");
      return;
    }
    if (t != "f32" && t != "f16" && t != "bf16") {
      error(d.dtype.loc, "unknown element type '" + t.str() +
                             "' (expected f32, f16 or bf16)");
      return;
    }
    TensorInfo info;
    info.kind =
        d.role == TensorDecl::Input ? TensorInfo::Input : TensorInfo::Weight;
    info.loc = d.name.loc;
    if (!resolveDims(d.dims, info.shape, info.dimRanks))
      return;
    tensors[d.name.text] = info;
    (d.role == TensorDecl::Input ? inputOrder : weightOrder).push_back(&d);
  }

  void declareTensors() {
    for (const TensorDecl &d : m.inputs)
      declareTensor(d);
    for (const TensorDecl &d : m.body.weights)
      declareTensor(d);
  }

  // --- layer calls --------------------------------------------------------
  using Rename = std::map<std::string, std::string>;

  static void renameExpr(Expr &e, const Rename &rename) {
    if (e.kind == Expr::Access ||
        (e.kind == Expr::Ident && startsUpper(e.name)))
      if (auto it = rename.find(e.name); it != rename.end())
        e.name = it->second;
    for (ExprPtr &a : e.args)
      renameExpr(*a, rename);
  }

  std::string freshName(llvm::StringRef layer, unsigned call,
                        llvm::StringRef local) {
    std::string base = upper(layer.substr(0, 1)) + layer.substr(1).str() +
                       std::to_string(call) + "_" + local.str();
    std::string name = base;
    for (unsigned i = 1;
         tensors.count(name) || extents.count(name) || usedNames.count(name);
         ++i)
      name = base + "_" + std::to_string(i);
    usedNames.insert(name);
    return name;
  }

  /// Appends the equations of `body` (renamed by `rename`) to the flat
  /// model, expanding calls recursively.
  void expandBody(const Body &body, const Rename &rename,
                  const std::string &prefix, unsigned depth) {
    for (const Equation &eq : body.equations) {
      Equation copy = eq.clone();
      if (auto it = rename.find(copy.name.text); it != rename.end())
        copy.name.text = it->second;
      for (ExprPtr &x : copy.lhs)
        renameExpr(*x, rename);
      renameExpr(*copy.rhs, rename);
      if (!currentCallSite.empty())
        callSite[copy.name.text] = currentCallSite;
      flatEquations.push_back(std::move(copy));
    }
    if (depth > 0)
      for (const TensorDecl &w : body.weights) {
        TensorDecl copy = w;
        copy.name.text = rename.at(w.name.text);
        if (!prefix.empty())
          copy.key = prefix + "." + copy.key;
        flatWeights.push_back(std::make_unique<TensorDecl>(copy));
        declareTensor(*flatWeights.back());
      }
    for (const Call &call : body.calls)
      expandCall(call, rename, prefix, depth);
  }

  void expandCall(const Call &call, const Rename &outer,
                  const std::string &outerPrefix, unsigned depth) {
    auto mapped = [&](const std::string &n) {
      auto it = outer.find(n);
      return it == outer.end() ? n : it->second;
    };
    // If the call cannot be expanded, its results are known to be missing:
    // later uses should not report them again.
    for (const Name &r : call.results)
      brokenTensors.insert(mapped(r.text));
    const Def *def = nullptr;
    for (const Def &d : m.defs)
      if (d.name.text == call.callee.text)
        def = &d;
    if (!def) {
      if (lookupBuiltin(call.callee.text))
        error(call.callee.loc, "'" + call.callee.text +
                                   "' is a function: write an equation with "
                                   "indices, e.g. Y[i] = " +
                                   call.callee.text + "(X[i])");
      else
        error(call.callee.loc, "unknown layer '" + call.callee.text + "'");
      return;
    }
    if (depth >= kMaxCallDepth) {
      error(call.loc, "layer calls nest deeper than " +
                          std::to_string(kMaxCallDepth) + " (is layer '" +
                          def->name.text + "' recursive?)");
      return;
    }
    if (call.args.size() != def->params.size()) {
      error(call.loc,
            llvm::formatv("layer '{0}' takes {1} argument(s), got {2}",
                          def->name.text, def->params.size(),
                          call.args.size()));
      return;
    }
    if (call.results.size() != def->results.size()) {
      error(call.loc, llvm::formatv("layer '{0}' returns {1} result(s), but "
                                    "{2} are assigned",
                                    def->name.text, def->results.size(),
                                    call.results.size()));
      return;
    }
    unsigned id = callCount[def->name.text]++;
    Rename rename;
    for (size_t i = 0; i < def->params.size(); ++i) {
      rename[def->params[i].name.text] = mapped(call.args[i].text);
      paramChecks.push_back(
          {mapped(call.args[i].text), call.args[i].loc, &def->params[i]});
    }
    for (size_t i = 0; i < def->results.size(); ++i) {
      rename[def->results[i].name.text] = mapped(call.results[i].text);
      paramChecks.push_back({mapped(call.results[i].text), call.results[i].loc,
                             &def->results[i]});
    }
    auto addLocal = [&](const std::string &n) {
      if (!rename.count(n))
        rename[n] = freshName(def->name.text, id, n);
    };
    for (const TensorDecl &w : def->body.weights)
      addLocal(w.name.text);
    for (const Equation &eq : def->body.equations)
      addLocal(eq.name.text);
    for (const Call &c : def->body.calls)
      for (const Name &r : c.results)
        addLocal(r.text);
    std::string prefix = outerPrefix;
    if (call.prefix && !call.prefix->empty())
      prefix = prefix.empty() ? *call.prefix : prefix + "." + *call.prefix;
    for (const Name &r : call.results)
      brokenTensors.erase(mapped(r.text));
    // Equations of a top-level call are marked with the call ("layer#0"), so
    // cascade-outline-layers can compile identical calls once.
    bool topLevel = currentCallSite.empty();
    if (topLevel)
      currentCallSite = def->name.text + "#" + std::to_string(id);
    expandBody(def->body, rename, prefix, depth + 1);
    if (topLevel)
      currentCallSite.clear();
  }

  // --- equations ----------------------------------------------------------
  /// Registers each flat equation as the definition (or init) of its tensor
  /// and derives the tensor's shape from the left-hand side.
  void registerEquations() {
    for (const Equation &eq : flatEquations) {
      const std::string &name = eq.name.text;
      if (!checkTensorName(eq.name))
        continue;
      auto it = tensors.find(name);
      if (it != tensors.end() && it->second.kind != TensorInfo::Computed) {
        error(eq.name.loc,
              "'" + name + "' is " +
                  (it->second.kind == TensorInfo::Input ? "an input"
                                                        : "a weight") +
                  " and cannot be defined by an equation");
        continue;
      }
      TensorInfo &info = tensors[name];
      info.kind = TensorInfo::Computed;
      const Equation *&slot = eq.isInit ? info.init : info.def;
      if (slot) {
        error(eq.name.loc, "tensor '" + name + "' is defined twice" +
                               (eq.isInit ? " (two init equations)" : ""))
                .attachNote(toLoc(slot->name.loc))
            << "previous definition is here";
        continue;
      }
      slot = &eq;
    }
    for (auto &[name, info] : tensors) {
      if (info.kind != TensorInfo::Computed)
        continue;
      if (!info.def) {
        error(info.init->name.loc,
              "init for '" + name + "' but no recurrence defines it (write " +
                  name + "[..., i+1, ...] = ...)");
        continue;
      }
      info.loc = info.def->name.loc;
      deriveShape(name, info);
    }
    for (const ParamCheck &pc : paramChecks)
      checkParam(pc);
  }

  void deriveShape(const std::string &name, TensorInfo &info) {
    const Equation &eq = *info.def;
    std::set<std::string> seen;
    for (size_t i = 0; i < eq.lhs.size(); ++i) {
      const Expr &x = *eq.lhs[i];
      std::string index;
      bool step = false;
      if (x.kind == Expr::Ident) {
        index = x.name;
      } else if (x.kind == Expr::Binary && x.args[0]->kind == Expr::Ident &&
                 x.args[1]->kind == Expr::Number &&
                 (x.op == "+" || x.op == "-")) {
        index = x.args[0]->name;
        if (x.op != "+" || x.args[1]->number != 1) {
          error(x.loc, "a recurrence must step by +1 ('" + index + "+1')");
          info.poisoned = true;
          return;
        }
        step = true;
      } else if (x.kind == Expr::Number) {
        error(x.loc, "a constant index on the left is only allowed in an "
                     "'init' equation");
        info.poisoned = true;
        return;
      } else {
        error(x.loc, "left-hand side indices must be plain indices (or "
                     "'i+1' for a recurrence)");
        info.poisoned = true;
        return;
      }
      std::optional<int64_t> ext = indexExtent(index, x.loc);
      if (!ext) {
        info.poisoned = true;
        return;
      }
      if (!seen.insert(index).second) {
        error(x.loc, "index '" + index + "' appears twice on the left");
        info.poisoned = true;
        return;
      }
      if (step) {
        if (info.iterDim >= 0) {
          error(x.loc, "a tensor may have only one iterative index");
          info.poisoned = true;
          return;
        }
        info.iterDim = (int)i;
      }
      info.shape.push_back(*ext + (step ? 1 : 0));
      info.dimRanks.push_back(upper(index));
    }
    if (info.iterDim >= 0 && !info.init) {
      error(eq.loc, "recurrence '" + name +
                        "' has no init equation (write "
                        "'init " +
                        name + "[..., 0, ...] = ...')");
      info.poisoned = true;
    }
    if (info.iterDim < 0 && info.init) {
      error(info.init->loc,
            "init for '" + name + "', but its equation is not a recurrence");
      info.poisoned = true;
    }
    if (info.init && info.iterDim >= 0)
      checkInitLhs(name, info);
  }

  void checkInitLhs(const std::string &name, TensorInfo &info) {
    const Equation &init = *info.init;
    if (init.lhs.size() != info.shape.size()) {
      error(init.name.loc,
            llvm::formatv("init of '{0}' has {1} indices, the "
                          "recurrence has {2}",
                          name, init.lhs.size(), info.shape.size()));
      info.poisoned = true;
      return;
    }
    for (size_t i = 0; i < init.lhs.size(); ++i) {
      const Expr &x = *init.lhs[i];
      if ((int)i == info.iterDim) {
        if (x.kind != Expr::Number || x.number != 0) {
          error(x.loc, "init must set position 0 of the iterative index");
          info.poisoned = true;
          return;
        }
        continue;
      }
      if (x.kind != Expr::Ident || upper(x.name) != info.dimRanks[i]) {
        error(x.loc, "init index must be a plain index of rank " +
                         info.dimRanks[i] + ", as in the recurrence");
        info.poisoned = true;
        return;
      }
    }
  }

  struct ParamCheck {
    std::string tensor;
    llvm::SMLoc loc;
    const Param *param;
  };

  void checkParam(const ParamCheck &pc) {
    auto it = tensors.find(pc.tensor);
    if (it == tensors.end()) {
      if (!brokenTensors.count(pc.tensor))
        error(pc.loc, "unknown tensor '" + pc.tensor + "'");
      return;
    }
    std::vector<int64_t> want;
    std::vector<std::string> ranks;
    if (!resolveDims(pc.param->dims, want, ranks))
      return;
    const TensorInfo &info = it->second;
    if (info.poisoned || (info.kind == TensorInfo::Computed && !info.def))
      return;
    if (info.shape != want)
      error(pc.loc, "shape of '" + pc.tensor + "' " + shapeStr(info.shape) +
                        " does not match layer parameter '" +
                        pc.param->name.text + "' " + shapeStr(want));
  }

  static std::string shapeStr(llvm::ArrayRef<int64_t> shape) {
    std::string s = "[";
    for (size_t i = 0; i < shape.size(); ++i)
      s += (i ? ", " : "") + std::to_string(shape[i]);
    return s + "]";
  }

  std::optional<int64_t> indexExtent(const std::string &index,
                                     llvm::SMLoc loc) {
    if (index.empty() || !std::islower((unsigned char)index[0])) {
      error(loc, "'" + index +
                     "' is not an index (indices are lower-case "
                     "rank names)");
      return std::nullopt;
    }
    auto it = extents.find(upper(index));
    if (it == extents.end()) {
      error(loc, "unknown index '" + index + "': no rank '" + upper(index) +
                     "' is declared");
      return std::nullopt;
    }
    return it->second;
  }

  /// Tensors an expression reads.
  /// The tensors `e` reads: indexed accesses, and bare names that resolve
  /// to a tensor (a scalar read as `B`, buildValue's order: `inf`, ranks
  /// and constants first).
  void collectReads(const Expr &e, std::vector<std::string> &out) const {
    if (e.kind == Expr::Access ||
        (e.kind == Expr::Ident && e.name != "inf" && !extents.count(e.name) &&
         !consts.count(e.name) && tensors.count(e.name)))
      out.push_back(e.name);
    for (const ExprPtr &a : e.args)
      collectReads(*a, out);
  }

  std::vector<const Equation *> topologicalOrder() {
    std::vector<const Equation *> nodes;
    std::map<const Equation *, std::vector<const Equation *>> deps;
    for (auto &[name, info] : tensors)
      if (info.kind == TensorInfo::Computed && info.def && !info.poisoned) {
        nodes.push_back(info.def);
        if (info.init)
          nodes.push_back(info.init);
      }
    llvm::sort(nodes, [](const Equation *a, const Equation *b) {
      return a->loc.getPointer() < b->loc.getPointer() ||
             (a->loc.getPointer() == b->loc.getPointer() && a < b);
    });
    for (const Equation *eq : nodes) {
      std::vector<std::string> reads;
      collectReads(*eq->rhs, reads);
      const TensorInfo &self = tensors[eq->name.text];
      if (eq == self.def && self.init)
        deps[eq].push_back(self.init);
      for (const std::string &r : reads) {
        auto it = tensors.find(r);
        if (it == tensors.end() || it->second.kind != TensorInfo::Computed ||
            !it->second.def || it->second.poisoned)
          continue;
        if (r == eq->name.text && eq == self.def && self.iterDim >= 0)
          continue; // a recurrence reads its previous step
        deps[eq].push_back(it->second.def);
        if (it->second.init && it->second.init != eq)
          deps[eq].push_back(it->second.init);
      }
    }
    // Depth-first order with cycle detection (0 new, 1 on stack, 2 done).
    std::map<const Equation *, int> state;
    std::vector<const Equation *> order, stack;
    std::function<bool(const Equation *)> visit = [&](const Equation *eq) {
      int &s = state[eq];
      if (s == 2)
        return true;
      if (s == 1) {
        std::string path;
        auto start = llvm::find(stack, eq);
        for (auto it = start; it != stack.end(); ++it)
          path += (*it)->name.text + " -> ";
        error(eq->name.loc, "dependence cycle: " + path + eq->name.text);
        return false;
      }
      s = 1;
      stack.push_back(eq);
      for (const Equation *d : deps[eq])
        if (!visit(d))
          return false;
      stack.pop_back();
      s = 2;
      order.push_back(eq);
      return true;
    };
    for (const Equation *eq : nodes)
      if (!visit(eq))
        break;
    return order;
  }

  // --- IR -----------------------------------------------------------------
  void buildFunction(ModuleOp module, llvm::StringRef defaultName,
                     const std::vector<const Equation *> &order) {
    std::string name = m.modelName ? m.modelName->text : defaultName.str();
    for (char &c : name)
      if (!std::isalnum((unsigned char)c))
        c = '_';
    if (name.empty() || std::isdigit((unsigned char)name[0]))
      name = "model_" + name;

    SmallVector<Type> argTypes;
    SmallVector<const TensorDecl *> args(inputOrder.begin(), inputOrder.end());
    args.append(weightOrder.begin(), weightOrder.end());
    for (const TensorDecl *d : args)
      argTypes.push_back(tensorType(tensors[d->name.text].shape));

    if (m.outputs.empty())
      error(m.modelName ? m.modelName->loc : llvm::SMLoc(),
            "model has no outputs (add 'output NAME')");
    SmallVector<Type> resultTypes;
    std::vector<std::string> outputNames;
    std::set<std::string> seenOutputs;
    for (const Name &o : m.outputs) {
      auto it = tensors.find(o.text);
      if (it == tensors.end()) {
        if (!brokenTensors.count(o.text))
          error(o.loc, "output '" + o.text + "' is never defined");
        continue;
      }
      if (it->second.kind != TensorInfo::Computed) {
        error(o.loc, "output '" + o.text +
                         "' must be computed by an "
                         "equation, not an input or weight");
        continue;
      }
      if (!seenOutputs.insert(o.text).second) {
        error(o.loc, "output '" + o.text + "' is listed twice");
        continue;
      }
      resultTypes.push_back(tensorType(it->second.shape));
      outputNames.push_back(o.text);
    }

    builder.setInsertionPointToEnd(module.getBody());
    auto func = func::FuncOp::create(
        builder, toLoc(m.modelName ? m.modelName->loc : llvm::SMLoc()), name,
        builder.getFunctionType(argTypes, resultTypes));
    func->setAttr(attrs::kModel, builder.getUnitAttr());
    if (m.weightsFile)
      func->setAttr("cascade.weights_file",
                    builder.getStringAttr(m.weightsFile->text));
    if (!declarations.empty())
      func->setAttr("cascade.declarations",
                    builder.getStrArrayAttr(llvm::to_vector_of<StringRef>(
                        llvm::ArrayRef<std::string>(declarations))));
    Block *entry = func.addEntryBlock();
    for (auto [i, d] : llvm::enumerate(args)) {
      TensorInfo &info = tensors[d->name.text];
      info.value = entry->getArgument(i);
      info.value.setLoc(toLoc(d->name.loc)); // where a weight's file is checked
      SmallVector<NamedAttribute> as;
      as.push_back(builder.getNamedAttr(attrs::kName,
                                        builder.getStringAttr(d->name.text)));
      as.push_back(builder.getNamedAttr(
          attrs::kRole,
          builder.getStringAttr(d->role == TensorDecl::Input ? "input"
                                                             : "weight")));
      SmallVector<StringRef> dimNames;
      for (const Name &n : d->dims)
        dimNames.push_back(n.text);
      as.push_back(builder.getNamedAttr(attrs::kDims,
                                        builder.getStrArrayAttr(dimNames)));
      as.push_back(builder.getNamedAttr(attrs::kDtype,
                                        builder.getStringAttr(d->dtype.text)));
      if (d->role == TensorDecl::Weight) {
        as.push_back(
            builder.getNamedAttr(attrs::kKey, builder.getStringAttr(d->key)));
        if (!d->file.empty())
          as.push_back(builder.getNamedAttr(attrs::kFile,
                                            builder.getStringAttr(d->file)));
      }
      func.setArgAttrs(i, as);
    }
    builder.setInsertionPointToEnd(entry);
    for (const Equation *eq : order)
      buildEquation(*eq);

    SmallVector<Value> results;
    for (auto [i, o] : llvm::enumerate(outputNames)) {
      TensorInfo &info = tensors[o];
      if (!info.value) {
        hadError = true; // the defining equation already reported an error
        continue;
      }
      results.push_back(info.value);
      func.setResultAttr(i, attrs::kName, builder.getStringAttr(o));
    }
    func::ReturnOp::create(builder, func.getLoc(), results);
    if (!hadError)
      warnUnused(func, args);
  }

  /// Declared inputs and computed tensors that nothing reads are legal but
  /// almost always a mistake (a typo in a name, a forgotten output).
  void warnUnused(func::FuncOp func, ArrayRef<const TensorDecl *> args) {
    for (auto [i, d] : llvm::enumerate(args))
      if (func.getArgument(i).use_empty())
        emitWarning(toLoc(d->name.loc))
            << (d->role == TensorDecl::Input ? "input" : "weight") << " '"
            << d->name.text << "' is never used";
    for (auto &[name, info] : tensors)
      if (info.kind == TensorInfo::Computed && info.value &&
          info.value.use_empty())
        emitWarning(toLoc(info.def->name.loc))
            << "tensor '" << name
            << "' is computed but never used (it is not an output)";
  }

  RankedTensorType tensorType(llvm::ArrayRef<int64_t> shape) {
    return RankedTensorType::get(shape, builder.getF32Type());
  }

  /// Per-equation state while building its body.
  struct EqContext {
    const Equation *eq;
    std::vector<std::string> indices;
    std::map<std::string, unsigned> dimOf;
    std::vector<int64_t> extents;
    std::vector<std::string> inputs; // tensor names, operand order
    std::string self;                // recurrence: own name
    Block *block = nullptr;
    bool ok = true;
  };

  /// Collects the index variables used in index positions of `e`, in order.
  void collectIndices(const Expr &e, bool inIndex, EqContext &c) {
    if (inIndex && e.kind == Expr::Ident && !extents.count(e.name) &&
        !consts.count(e.name)) {
      if (!c.dimOf.count(e.name)) {
        std::optional<int64_t> ext = indexExtent(e.name, e.loc);
        if (!ext) {
          c.ok = false;
          return;
        }
        c.dimOf[e.name] = c.indices.size();
        c.indices.push_back(e.name);
        c.extents.push_back(*ext);
      }
      return;
    }
    bool childIndex =
        inIndex || e.kind == Expr::Access || e.kind == Expr::Compare;
    for (const ExprPtr &a : e.args)
      collectIndices(*a, childIndex, c);
  }

  void buildEquation(const Equation &eq) {
    TensorInfo &info = tensors[eq.name.text];
    bool isInit = eq.isInit;
    EqContext c;
    c.eq = &eq;
    // Output indices in order (the init drops the iterative position).
    for (size_t i = 0; i < eq.lhs.size(); ++i) {
      if (isInit && (int)i == info.iterDim)
        continue;
      const Expr &x = *eq.lhs[i];
      const std::string &idx = x.kind == Expr::Ident ? x.name : x.args[0]->name;
      if (c.dimOf.count(idx)) {
        error(x.loc, "index '" + idx + "' appears twice on the left");
        return poison(info);
      }
      c.dimOf[idx] = c.indices.size();
      c.indices.push_back(idx);
      c.extents.push_back(extents[upper(idx)]);
    }
    unsigned numOutputs = c.indices.size();
    collectIndices(*eq.rhs, false, c);
    if (!c.ok)
      return poison(info);

    // Reduction operator and the listed indices.
    std::string kind = "add";
    if (eq.hasReduceSpec) {
      kind = llvm::StringSwitch<std::string>(eq.reduceOp.text)
                 .Case("+", "add")
                 .Case("max", "max")
                 .Case("min", "min")
                 .Case("*", "mul")
                 .Default("");
      if (kind.empty()) {
        error(eq.reduceOp.loc, "unknown reduction operator '" +
                                   eq.reduceOp.text +
                                   "' (expected + max min *)");
        return poison(info);
      }
      std::set<std::string> listed;
      bool bad = false;
      for (const Name &r : eq.reduced) {
        auto it = c.dimOf.find(r.text);
        if (it == c.dimOf.end() || it->second < numOutputs) {
          error(r.loc,
                "index '" + r.text +
                    "' is listed in the reduction but is not reduced" +
                    (it == c.dimOf.end() ? " (it does not appear on the right)"
                                         : " (it is on the left)"));
          bad = true;
        }
        listed.insert(r.text);
      }
      for (unsigned d = numOutputs; d < c.indices.size(); ++d)
        if (!listed.count(c.indices[d])) {
          error(eq.reduceOp.loc, "index '" + c.indices[d] +
                                     "' is reduced but not listed in ':: " +
                                     eq.reduceOp.text + "(...)'");
          bad = true;
        }
      if (bad)
        return poison(info);
    }

    // Operands: the tensors read, in order of first read.
    std::vector<std::string> reads;
    collectReads(*eq.rhs, reads);
    bool recurrence = !isInit && info.iterDim >= 0;
    if (recurrence)
      c.self = eq.name.text;
    SmallVector<Value> operands;
    for (const std::string &r : reads) {
      if (r == c.self || llvm::is_contained(c.inputs, r))
        continue;
      auto it = tensors.find(r);
      if (it == tensors.end())
        continue; // reported while building the read
      if (it->second.poisoned || !it->second.value)
        return poison(info); // its own error was reported
      c.inputs.push_back(r);
      operands.push_back(it->second.value);
    }

    Type resultType = isInit ? tensorType(dropDim(info.shape, info.iterDim))
                             : tensorType(info.shape);
    OpBuilder::InsertionGuard guard(builder);
    auto op = EinsumOp::create(
        builder, toLoc(eq.loc), resultType, ValueRange(operands),
        recurrence ? info.initValue : Value(), llvm::StringRef(eq.name.text),
        builder.getStrArrayAttr(llvm::to_vector_of<StringRef>(c.indices)),
        llvm::ArrayRef<int64_t>(c.extents), llvm::StringRef(kind),
        recurrence ? builder.getI64IntegerAttr(info.iterDim) : IntegerAttr());
    Block *block = builder.createBlock(&op.getBody());
    for (Value v : operands)
      block->addArgument(v.getType(), op.getLoc());
    if (recurrence)
      block->addArgument(resultType, op.getLoc());
    c.block = block;
    builder.setInsertionPointToEnd(block);
    Value result = buildValue(*eq.rhs, c);
    if (!result) {
      op.erase();
      return poison(info);
    }
    YieldOp::create(builder, op.getLoc(), result);
    if (failed(verify(op))) {
      hadError = true;
      op.erase();
      return poison(info);
    }
    if (kind == "add" && numOutputs < c.indices.size())
      warnUnreducedTerms(*eq.rhs, c, numOutputs);
    if (!recurrence && numOutputs < c.indices.size())
      warnSuspiciousBroadcast(eq, c, numOutputs);
    if (auto it = callSite.find(eq.name.text); it != callSite.end())
      op->setAttr(kCallSiteAttr, builder.getStringAttr(it->second));
    (isInit ? info.initValue : info.value) = op.getResult();
  }

  void poison(TensorInfo &info) { info.poisoned = true; }

  static std::vector<int64_t> dropDim(std::vector<int64_t> v, int d) {
    if (d >= 0)
      v.erase(v.begin() + d);
    return v;
  }

  /// Warns about terms of a `+` reduction that do not depend on a reduced
  /// index: EDGE semantics add them once per point of that index.
  void warnUnreducedTerms(const Expr &rhs, EqContext &c, unsigned numOutputs) {
    std::vector<const Expr *> terms;
    std::function<void(const Expr &)> split = [&](const Expr &e) {
      if (e.kind == Expr::Binary && (e.op == "+" || e.op == "-")) {
        split(*e.args[0]);
        split(*e.args[1]);
      } else if (e.kind == Expr::Neg) {
        split(*e.args[0]);
      } else {
        terms.push_back(&e);
      }
    };
    split(rhs);
    if (terms.size() < 2)
      return;
    for (const Expr *t : terms) {
      EqContext probe;
      collectIndices(*t, false, probe);
      for (unsigned d = numOutputs; d < c.indices.size(); ++d)
        if (!probe.dimOf.count(c.indices[d])) {
          emitWarning(toLoc(t->loc))
              << "this term does not depend on the reduced index '"
              << c.indices[d] << "': the '+' reduction adds it " << c.extents[d]
              << " times (compute it in its own equation)";
          break;
        }
    }
  }

  static bool mentions(const Expr &e, llvm::StringRef index) {
    if (e.kind == Expr::Ident && e.name == index)
      return true;
    return llvm::any_of(
        e.args, [&](const ExprPtr &a) { return a && mentions(*a, index); });
  }

  /// Warns about an output index that no tensor on the right reads, in a
  /// contraction where an operand's dimension of that index's rank is read
  /// with another index: `S[h,m,p] = Q[h,e,m] * K[h,e,m]` written for
  /// `Q[h,e,p]` broadcasts S along P instead of failing.
  void warnSuspiciousBroadcast(const Equation &eq, EqContext &c,
                               unsigned numOutputs) {
    std::vector<const Expr *> accesses;
    std::function<void(const Expr &)> walk = [&](const Expr &e) {
      if (e.kind == Expr::Access) {
        accesses.push_back(&e);
        return; // its arguments are index expressions
      }
      for (const ExprPtr &a : e.args)
        if (a)
          walk(*a);
    };
    walk(*eq.rhs);
    if (accesses.size() < 2)
      return; // not a contraction of several operands
    for (unsigned d = 0; d < numOutputs; ++d) {
      const std::string &index = c.indices[d];
      if (llvm::any_of(accesses,
                       [&](const Expr *a) { return mentions(*a, index); }))
        continue;
      for (const Expr *a : accesses) {
        auto it = tensors.find(a->name);
        if (it == tensors.end())
          continue;
        const std::vector<std::string> &ranks = it->second.dimRanks;
        auto dim = llvm::find(ranks, upper(index));
        if (dim == ranks.end() ||
            (size_t)(dim - ranks.begin()) >= a->args.size())
          continue;
        const Expr &read = *a->args[dim - ranks.begin()];
        InFlightDiagnostic diag = emitWarning(toLoc(read.loc));
        diag << "'" << eq.name.text << "' is broadcast along '" << index
             << "': no tensor on the right reads that index, yet dimension "
             << (dim - ranks.begin()) << " of '" << a->name << "' has rank "
             << upper(index) << " and is read here with another index "
             << "(did you mean '" << index << "'?)";
        diag.attachNote(toLoc(eq.name.loc))
            << "to broadcast on purpose, compute the contraction without '"
            << index << "' in one equation and broadcast its result in "
            << "another; that silences this warning";
        break;
      }
    }
  }

  // --- bodies -------------------------------------------------------------
  /// A scalar constant; `symbol` is the constant or rank it was written as.
  Value constant(double v, llvm::SMLoc loc, llvm::StringRef symbol = "") {
    return ConstOp::create(
        builder, toLoc(loc), builder.getF32Type(), builder.getF64FloatAttr(v),
        symbol.empty() ? StringAttr() : builder.getStringAttr(symbol));
  }

  /// Converts an index expression to an affine expression over the
  /// equation's indices.
  std::optional<AffineExpr> buildIndex(const Expr &e, EqContext &c) {
    switch (e.kind) {
    case Expr::Number:
      if (!e.isInteger) {
        error(e.loc, "index expressions use integers only");
        return std::nullopt;
      }
      return getAffineConstantExpr((int64_t)e.number, ctx);
    case Expr::Ident: {
      if (auto it = extents.find(e.name); it != extents.end()) {
        inlinedInIndices.insert(e.name);
        return getAffineConstantExpr(it->second, ctx);
      }
      if (auto it = consts.find(e.name); it != consts.end()) {
        inlinedInIndices.insert(e.name);
        if (it->second != std::floor(it->second)) {
          error(e.loc, "constant '" + e.name +
                           "' used in an index is not an "
                           "integer");
          return std::nullopt;
        }
        return getAffineConstantExpr((int64_t)it->second, ctx);
      }
      auto it = c.dimOf.find(e.name);
      if (it == c.dimOf.end())
        return std::nullopt; // reported by collectIndices
      return getAffineDimExpr(it->second, ctx);
    }
    case Expr::Neg: {
      auto x = buildIndex(*e.args[0], c);
      return x ? std::optional<AffineExpr>(-*x) : std::nullopt;
    }
    case Expr::Binary: {
      if (e.op == "/") {
        error(e.loc, "'/' is not allowed in index expressions (split the rank "
                     "instead, e.g. K[g,e,m] with Q[g,r,e,p])");
        return std::nullopt;
      }
      auto a = buildIndex(*e.args[0], c);
      auto b = a ? buildIndex(*e.args[1], c) : std::nullopt;
      if (!b)
        return std::nullopt;
      if (e.op == "+")
        return *a + *b;
      if (e.op == "-")
        return *a - *b;
      if (!isa<AffineConstantExpr>(*a) && !isa<AffineConstantExpr>(*b)) {
        error(e.loc, "index expressions must be affine: a product needs a "
                     "constant factor");
        return std::nullopt;
      }
      return *a * *b;
    }
    default:
      error(e.loc, "index expressions may use only indices, integers, "
                   "constants and rank extents");
      return std::nullopt;
    }
  }

  Value buildAccess(const Expr &e, EqContext &c) {
    auto it = tensors.find(e.name);
    if (it == tensors.end()) {
      if (brokenTensors.count(e.name))
        return {}; // its failed layer call was reported
      if (extents.count(e.name))
        error(e.loc, "'" + e.name + "' is a rank, not a tensor");
      else
        error(e.loc, "unknown tensor '" + e.name + "'");
      return {};
    }
    TensorInfo &info = it->second;
    if (e.args.size() != info.shape.size()) {
      error(e.loc, llvm::formatv("tensor '{0}' has {1} dimension(s) but is "
                                 "indexed with {2}",
                                 e.name, info.shape.size(), e.args.size()));
      return {};
    }
    SmallVector<AffineExpr> results;
    for (size_t i = 0; i < e.args.size(); ++i) {
      const Expr &x = *e.args[i];
      auto ae = buildIndex(x, c);
      if (!ae)
        return {};
      // A plain index addresses a dimension of its own extent. An index
      // expression that folds to one (`l + 0`) is an affine read like
      // `l + 1`: range-checked, so it may read a prefix.
      auto d = dyn_cast<AffineDimExpr>(*ae);
      if (d && x.kind == Expr::Ident) {
        int64_t ext = c.extents[d.getPosition()];
        int64_t size = info.shape[i];
        const std::string &name = c.indices[d.getPosition()];
        bool iterative = (int)i == info.iterDim && size == ext + 1;
        if (size != ext && !iterative) {
          auto diag = error(
              x.loc, llvm::formatv("extent mismatch: index '{0}' ranges over "
                                   "{1}={2} but dimension {3} of '{4}' has "
                                   "extent {5}",
                                   name, upper(name), ext, i, e.name, size));
          if (size > ext)
            diag << llvm::formatv(" (to read its first {0} elements, write "
                                  "'{1} + 0': an index expression is "
                                  "range-checked, not extent-matched)",
                                  ext, name);
          return {};
        }
      }
      results.push_back(*ae);
    }
    Value tensor;
    if (e.name == c.self) {
      tensor = c.block->getArgument(c.inputs.size());
    } else {
      auto pos = llvm::find(c.inputs, e.name) - c.inputs.begin();
      tensor = c.block->getArgument(pos);
    }
    auto map = AffineMap::get(c.indices.size(), 0, results, ctx);
    return ReadOp::create(builder, toLoc(e.loc), builder.getF32Type(), tensor,
                          map);
  }

  Value buildValue(const Expr &e, EqContext &c) {
    switch (e.kind) {
    case Expr::Number:
      return constant(e.number, e.loc);
    case Expr::Ident: {
      if (e.name == "inf")
        return constant(INFINITY, e.loc);
      if (auto it = extents.find(e.name); it != extents.end())
        return constant((double)it->second, e.loc, e.name);
      if (auto it = consts.find(e.name); it != consts.end())
        return constant(it->second, e.loc, e.name);
      if (auto it = tensors.find(e.name); it != tensors.end()) {
        if (it->second.shape.empty())
          return buildAccess(e, c);
        error(e.loc, "tensor '" + e.name + "' needs indices");
        return {};
      }
      if (c.dimOf.count(e.name) || (std::islower((unsigned char)e.name[0]) &&
                                    extents.count(upper(e.name)))) {
        error(e.loc, "index '" + e.name + "' cannot be used as a value");
        return {};
      }
      if (lookupBuiltin(e.name)) {
        error(e.loc, "function '" + e.name + "' needs arguments");
        return {};
      }
      error(e.loc, "unknown name '" + e.name + "'");
      return {};
    }
    case Expr::Access:
      return buildAccess(e, c);
    case Expr::Neg: {
      // Fold negated constants (`-inf`, `-1`) so printing and re-parsing
      // give the same IR.
      if (auto v = evalConstSilently(e))
        return constant(*v, e.loc);
      Value x = buildValue(*e.args[0], c);
      return x ? UnaryOp::create(builder, toLoc(e.loc), builder.getF32Type(),
                                 "neg", x)
               : Value();
    }
    case Expr::Binary: {
      Value a = buildValue(*e.args[0], c);
      Value b = a ? buildValue(*e.args[1], c) : Value();
      if (!b)
        return {};
      llvm::StringRef fn = e.op == "+"   ? "add"
                           : e.op == "-" ? "sub"
                           : e.op == "*" ? "mul"
                                         : "div";
      return BinaryOp::create(builder, toLoc(e.loc), builder.getF32Type(), fn,
                              a, b);
    }
    case Expr::Call:
      return buildCall(e, c);
    case Expr::Compare:
      error(e.loc, "a comparison is only allowed as the condition of where");
      return {};
    }
    return {};
  }

  Value buildCall(const Expr &e, EqContext &c) {
    std::optional<BuiltinFn> fn = lookupBuiltin(e.name);
    if (!fn) {
      bool isLayer = llvm::any_of(
          m.defs, [&](const Def &d) { return d.name.text == e.name; });
      if (isLayer)
        error(e.loc, "layer '" + e.name +
                         "' can only be called as a "
                         "statement: Y = " +
                         e.name + "(X)");
      else
        error(e.loc, "unknown function '" + e.name + "'");
      return {};
    }
    if (e.args.size() != fn->arity) {
      error(e.loc,
            llvm::formatv("'{0}' takes {1} argument{2}, got {3}", e.name,
                          fn->arity, fn->arity == 1 ? "" : "s", e.args.size()));
      return {};
    }
    if (e.name == "where")
      return buildWhere(e, c);
    if (e.name == "pow") {
      Value x = buildValue(*e.args[0], c);
      if (!x)
        return {};
      std::optional<double> exponent = evalConstSilently(*e.args[1]);
      // A constant exponent is folded (and lowered to multiplications); any
      // other is computed as C's pow.
      Value y = exponent ? constant(*exponent, e.args[1]->loc)
                         : buildValue(*e.args[1], c);
      if (!y)
        return {};
      return BinaryOp::create(builder, toLoc(e.loc), builder.getF32Type(),
                              "pow", x, y);
    }
    SmallVector<Value> args;
    for (const ExprPtr &a : e.args) {
      Value v = buildValue(*a, c);
      if (!v)
        return {};
      args.push_back(v);
    }
    if (fn->arity == 1)
      return UnaryOp::create(builder, toLoc(e.loc), builder.getF32Type(),
                             fn->op, args[0]);
    return BinaryOp::create(builder, toLoc(e.loc), builder.getF32Type(), fn->op,
                            args[0], args[1]);
  }

  /// Whether `e` is a value rather than an index expression: it reads a
  /// tensor, calls a function or holds a fractional number.
  static bool isValueExpr(const Expr &e) {
    if (e.kind == Expr::Access || e.kind == Expr::Call ||
        (e.kind == Expr::Number && !e.isInteger))
      return true;
    return llvm::any_of(e.args,
                        [](const ExprPtr &a) { return a && isValueExpr(*a); });
  }

  Value buildWhere(const Expr &e, EqContext &c) {
    const Expr &cond = *e.args[0];
    if (cond.kind != Expr::Compare) {
      error(cond.loc, "malformed where condition: expected a comparison of "
                      "two index expressions or two values");
      return {};
    }
    llvm::StringRef pred = llvm::StringSwitch<llvm::StringRef>(cond.op)
                               .Case("<", "lt")
                               .Case("<=", "le")
                               .Case(">", "gt")
                               .Case(">=", "ge")
                               .Case("==", "eq")
                               .Default("ne");
    if (isValueExpr(cond)) {
      // A comparison of values selects between two values, both computed
      // (cascade.select); one of indices guards reads (cascade.where).
      SmallVector<Value, 4> ops;
      for (const Expr *x : {cond.args[0].get(), cond.args[1].get(),
                            e.args[1].get(), e.args[2].get()}) {
        ops.push_back(buildValue(*x, c));
        if (!ops.back())
          return {};
      }
      return SelectOp::create(builder, toLoc(e.loc), builder.getF32Type(), pred,
                              ops[0], ops[1], ops[2], ops[3]);
    }
    auto lhs = buildIndex(*cond.args[0], c);
    auto rhs = lhs ? buildIndex(*cond.args[1], c) : std::nullopt;
    if (!rhs)
      return {};
    unsigned n = c.indices.size();
    auto where =
        WhereOp::create(builder, toLoc(e.loc), builder.getF32Type(), pred,
                        AffineMap::get(n, 0, *lhs), AffineMap::get(n, 0, *rhs));
    OpBuilder::InsertionGuard guard(builder);
    for (auto [region, branch] :
         {std::pair{&where.getThenRegion(), e.args[1].get()},
          std::pair{&where.getElseRegion(), e.args[2].get()}}) {
      builder.createBlock(region);
      Value v = buildValue(*branch, c);
      if (!v)
        return {};
      YieldOp::create(builder, toLoc(branch->loc), v);
    }
    return where;
  }

  static constexpr unsigned kMaxCallDepth = 32;
  llvm::SourceMgr &sm;
  MLIRContext *ctx;
  OpBuilder builder;
  std::optional<unsigned> scheduleBuffer;
  const ModelOverrides &overrides;
  std::map<std::string, llvm::SMLoc> overrideLoc; // each --set's value
  // The rank and constant declarations as written (with --set applied), in
  // source order: `ranks M=P`, `const eps = 1e-05`.
  std::vector<std::string> declarations;
  // Constants and extents written in index expressions and conditions,
  // where the IR keeps only their values.
  std::set<std::string> inlinedInIndices;
  std::string bufferName;
  bool hadError = false;
  Module m;
  std::map<std::string, int64_t> extents;
  std::map<std::string, llvm::SMLoc> rankLoc;
  std::map<std::string, double> consts;
  std::map<std::string, TensorInfo> tensors;
  std::vector<const TensorDecl *> inputOrder, weightOrder;
  std::vector<Equation> flatEquations;
  std::vector<std::unique_ptr<TensorDecl>> flatWeights;
  std::vector<ParamCheck> paramChecks;
  std::map<std::string, unsigned> callCount;
  std::map<std::string, std::string> callSite; // flat equation -> "def#N"
  std::string currentCallSite;
  std::set<std::string> usedNames;
  std::set<std::string> brokenTensors;
};

} // namespace

OwningOpRef<ModuleOp>
cascade::buildModelFromSource(llvm::SourceMgr &sourceMgr, MLIRContext *context,
                              llvm::StringRef defaultName,
                              std::optional<unsigned> scheduleBuffer,
                              const ModelOverrides &overrides) {
  context->loadDialect<CascadeDialect, func::FuncDialect>();
  ModelBuilder builder(sourceMgr, context, scheduleBuffer, overrides);
  return builder.build(defaultName);
}
