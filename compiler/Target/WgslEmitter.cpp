//===- WgslEmitter.cpp - gpu.func kernels as WGSL compute shaders ---------===//
//
// A direct translation, in the style of mlir-translate's targets: every
// value becomes a `let`, loop-carried values and `scf.if` results become
// `var`s, and constants are printed inline. What cannot be expressed is
// reported on the op; the kernels cascade-gpu-distribute produces use a
// small, fixed set of ops.
//
// WebGPU limits are respected by construction: the workgroup size comes
// from the launch (checked against `maxInvocations`), a grid wider than
// `maxWorkgroupsPerDim` is folded into two dimensions (the kernel rebuilds
// its linear workgroup id and returns past the end), and a kernel that
// needs more storage buffers than `maxStorageBuffers` reads the rest from
// one pack buffer the runtime fills by copies around the dispatch.
//
//===----------------------------------------------------------------------===//
#include "compiler/Target/WgslEmitter.h"
#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/Math/IR/Math.h"
#include "mlir/Dialect/MemRef/IR/MemRef.h"
#include "mlir/Dialect/SCF/IR/SCF.h"
#include "mlir/Interfaces/SideEffectInterfaces.h"
#include "llvm/ADT/TypeSwitch.h"
#include "llvm/Support/FormatVariadic.h"
#include <cmath>
#include <cstdio>

using namespace mlir;

namespace cascade {

namespace {

class Emitter {
public:
  Emitter(const WgslOptions &options, WgslKernel &out)
      : options(options), out(out), os(body) {}

  LogicalResult run(gpu::GPUFuncOp kernel, std::array<int64_t, 3> grid,
                    ArrayRef<Attribute> scalarArgs);

private:
  const WgslOptions &options;
  WgslKernel &out;
  std::string body;
  llvm::raw_string_ostream os;
  llvm::DenseMap<Value, std::string> names;
  llvm::DenseMap<Value, std::string> buffers; // memref -> "bN" or "pack"
  llvm::DenseMap<Value, int64_t> packOffsets;
  int counter = 0;
  int depth = 1;
  bool needsInfBits = false;
  int64_t foldedX = 0; // the dispatch's x extent when the grid is folded

  std::string fresh() { return "v" + std::to_string(counter++); }
  void line(const llvm::Twine &text) { os.indent(2 * depth) << text << "\n"; }
  FailureOr<std::string> type(Operation *op, Type t);
  std::string floatLiteral(double v);
  FailureOr<std::string> constant(Operation *op, Attribute a);
  FailureOr<std::string> ref(Value v);
  FailureOr<std::string> access(Operation *op, Value memref,
                                ValueRange indices);
  FailureOr<std::string> expression(Operation *op);
  LogicalResult emitBlock(Block &block);
  LogicalResult emitOp(Operation &op);
  LogicalResult emitFor(scf::ForOp op);
  LogicalResult emitIf(scf::IfOp op);
  LogicalResult assignYield(Operation *yield, ArrayRef<std::string> targets);
};

FailureOr<std::string> Emitter::type(Operation *op, Type t) {
  if (t.isIndex() || t.isInteger(32))
    return std::string("i32");
  if (t.isInteger(1))
    return std::string("bool");
  if (t.isF32())
    return std::string("f32");
  return op->emitError("WGSL: unsupported type ") << t;
}

std::string Emitter::floatLiteral(double v) {
  if (std::isinf(v) || std::isnan(v)) {
    // Not a WGSL literal, and a constant expression may not produce it:
    // read the bits from a private variable.
    needsInfBits = true;
    if (std::isnan(v))
      return "bitcast<f32>(cascade_inf_bits | 0x400000u)";
    return v > 0 ? "bitcast<f32>(cascade_inf_bits)"
                 : "bitcast<f32>(cascade_inf_bits | 0x80000000u)";
  }
  char text[32];
  std::snprintf(text, sizeof text, "%.9g", v);
  std::string s = text;
  if (s.find_first_of(".e") == std::string::npos)
    s += ".0";
  s += "f";
  return v < 0 ? "(" + s + ")" : s;
}

FailureOr<std::string> Emitter::constant(Operation *op, Attribute a) {
  if (auto f = dyn_cast<FloatAttr>(a)) {
    if (!f.getType().isF32())
      return op->emitError("WGSL: unsupported constant type ") << f.getType();
    return floatLiteral(f.getValue().convertToFloat());
  }
  if (auto i = dyn_cast<IntegerAttr>(a)) {
    if (i.getType().isInteger(1))
      return std::string(i.getValue().isZero() ? "false" : "true");
    int64_t v = i.getValue().getSExtValue();
    if (v < INT32_MIN || v > INT32_MAX)
      return op->emitError("WGSL: constant ") << v << " does not fit in i32";
    return v < 0 ? "(" + std::to_string(v) + "i)" : std::to_string(v) + "i";
  }
  return op->emitError("WGSL: unsupported constant ") << a;
}

FailureOr<std::string> Emitter::ref(Value v) {
  auto it = names.find(v);
  if (it != names.end())
    return it->second;
  if (Operation *def = v.getDefiningOp())
    if (auto c = dyn_cast<arith::ConstantOp>(def))
      return constant(def, c.getValue());
  Operation *anchor =
      v.getDefiningOp() ? v.getDefiningOp() : v.getParentBlock()->getParentOp();
  return anchor->emitError("WGSL: internal error: value used before it is "
                           "defined");
}

FailureOr<std::string> Emitter::access(Operation *op, Value memref,
                                       ValueRange indices) {
  auto t = cast<MemRefType>(memref.getType());
  if (!t.getLayout().isIdentity() || !t.hasStaticShape())
    return op->emitError("WGSL: only dense statically shaped memrefs are "
                         "supported, not ")
           << t;
  auto it = buffers.find(memref);
  if (it == buffers.end())
    return op->emitError("WGSL: a memref that is not a kernel argument");
  // Row-major: ((i0 * s1 + i1) * s2 + i2) ...
  std::string linear;
  for (auto [d, index] : llvm::enumerate(indices)) {
    FailureOr<std::string> i = ref(index);
    if (failed(i))
      return failure();
    if (d == 0)
      linear = *i;
    else
      linear =
          "(" + linear + ") * " + std::to_string(t.getDimSize(d)) + "i + " + *i;
  }
  if (linear.empty())
    linear = "0i";
  if (auto off = packOffsets.find(memref); off != packOffsets.end())
    linear = std::to_string(off->second) + "i + " + linear;
  return it->second + "[" + linear + "]";
}

/// The WGSL expression of a pure op with one result.
FailureOr<std::string> Emitter::expression(Operation *op) {
  SmallVector<std::string> a;
  for (Value v : op->getOperands()) {
    FailureOr<std::string> s = ref(v);
    if (failed(s))
      return failure();
    a.push_back(*s);
  }
  auto bin = [&](StringRef sym) {
    return "(" + a[0] + " " + sym.str() + " " + a[1] + ")";
  };
  auto call = [&](StringRef fn) {
    std::string s = fn.str() + "(";
    for (auto [i, x] : llvm::enumerate(a))
      s += (i ? ", " : "") + x;
    return s + ")";
  };
  auto u32 = [](const std::string &x) { return "u32(" + x + ")"; };
  bool isBool = op->getNumResults() && op->getResult(0).getType().isInteger(1);
  return llvm::TypeSwitch<Operation *, FailureOr<std::string>>(op)
      .Case([&](arith::AddFOp) { return bin("+"); })
      .Case([&](arith::SubFOp) { return bin("-"); })
      .Case([&](arith::MulFOp) { return bin("*"); })
      .Case([&](arith::DivFOp) { return bin("/"); })
      .Case([&](arith::RemFOp) { return bin("%"); })
      .Case([&](arith::NegFOp) { return "(-" + a[0] + ")"; })
      .Case<arith::MaximumFOp, arith::MaxNumFOp>(
          [&](Operation *) { return call("max"); })
      .Case<arith::MinimumFOp, arith::MinNumFOp>(
          [&](Operation *) { return call("min"); })
      .Case([&](arith::AddIOp) { return bin("+"); })
      .Case([&](arith::SubIOp) { return bin("-"); })
      .Case([&](arith::MulIOp) { return bin("*"); })
      .Case([&](arith::DivSIOp) { return bin("/"); })
      .Case([&](arith::RemSIOp) { return bin("%"); })
      .Case([&](arith::DivUIOp) {
        return "i32(" + u32(a[0]) + " / " + u32(a[1]) + ")";
      })
      .Case([&](arith::RemUIOp) {
        return "i32(" + u32(a[0]) + " % " + u32(a[1]) + ")";
      })
      .Case<arith::MaxSIOp>([&](Operation *) { return call("max"); })
      .Case<arith::MinSIOp>([&](Operation *) { return call("min"); })
      .Case([&](arith::AndIOp) { return bin("&"); })
      .Case([&](arith::OrIOp) { return bin("|"); })
      .Case([&](arith::XOrIOp) { return isBool ? bin("!=") : bin("^"); })
      .Case(
          [&](arith::ShLIOp) { return "(" + a[0] + " << " + u32(a[1]) + ")"; })
      .Case(
          [&](arith::ShRSIOp) { return "(" + a[0] + " >> " + u32(a[1]) + ")"; })
      .Case([&](arith::ShRUIOp) {
        return "i32(" + u32(a[0]) + " >> " + u32(a[1]) + ")";
      })
      .Case<arith::IndexCastOp, arith::IndexCastUIOp>(
          [&](Operation *) -> FailureOr<std::string> {
            Type from = op->getOperand(0).getType(),
                 to = op->getResult(0).getType();
            auto ok = [](Type t) { return t.isIndex() || t.isInteger(32); };
            if (!ok(from) || !ok(to))
              return op->emitError("WGSL: only 32-bit index casts are "
                                   "supported");
            return a[0];
          })
      .Case([&](arith::ExtUIOp) -> FailureOr<std::string> {
        if (!op->getOperand(0).getType().isInteger(1))
          return op->emitError("WGSL: unsupported extension");
        return "select(0i, 1i, " + a[0] + ")";
      })
      .Case([&](arith::SIToFPOp) { return "f32(" + a[0] + ")"; })
      .Case([&](arith::UIToFPOp) { return "f32(" + u32(a[0]) + ")"; })
      .Case([&](arith::FPToSIOp) { return "i32(" + a[0] + ")"; })
      .Case([&](arith::FPToUIOp) { return "i32(u32(" + a[0] + "))"; })
      .Case([&](arith::BitcastOp b) -> FailureOr<std::string> {
        FailureOr<std::string> to = type(op, b.getType());
        if (failed(to))
          return failure();
        return "bitcast<" + *to + ">(" + a[0] + ")";
      })
      .Case([&](arith::SelectOp) {
        return "select(" + a[2] + ", " + a[1] + ", " + a[0] + ")";
      })
      .Case([&](arith::CmpIOp c) -> FailureOr<std::string> {
        using P = arith::CmpIPredicate;
        std::string l = a[0], r = a[1];
        P p = c.getPredicate();
        if (p == P::ult || p == P::ule || p == P::ugt || p == P::uge) {
          l = u32(l);
          r = u32(r);
        }
        StringRef sym;
        switch (p) {
        case P::eq:
          sym = "==";
          break;
        case P::ne:
          sym = "!=";
          break;
        case P::slt:
        case P::ult:
          sym = "<";
          break;
        case P::sle:
        case P::ule:
          sym = "<=";
          break;
        case P::sgt:
        case P::ugt:
          sym = ">";
          break;
        case P::sge:
        case P::uge:
          sym = ">=";
          break;
        }
        return "(" + l + " " + sym.str() + " " + r + ")";
      })
      .Case([&](arith::CmpFOp c) -> FailureOr<std::string> {
        using P = arith::CmpFPredicate;
        std::string l = a[0], r = a[1];
        std::string ord =
            "((" + l + " == " + l + ") & (" + r + " == " + r + "))";
        auto cmp = [&](StringRef s) {
          return "(" + l + " " + s.str() + " " + r + ")";
        };
        switch (c.getPredicate()) {
        case P::AlwaysFalse:
          return std::string("false");
        case P::AlwaysTrue:
          return std::string("true");
        case P::OEQ:
          return cmp("==");
        case P::OGT:
          return cmp(">");
        case P::OGE:
          return cmp(">=");
        case P::OLT:
          return cmp("<");
        case P::OLE:
          return cmp("<=");
        case P::ONE:
          return "(" + cmp("!=") + " & " + ord + ")";
        case P::ORD:
          return ord;
        case P::UNO:
          return "(!" + ord + ")";
        case P::UNE:
          return cmp("!=");
        case P::UEQ:
          return "(!(" + cmp("!=") + " & " + ord + "))";
        case P::UGT:
          return "(!" + cmp("<=") + ")";
        case P::UGE:
          return "(!" + cmp("<") + ")";
        case P::ULT:
          return "(!" + cmp(">=") + ")";
        case P::ULE:
          return "(!" + cmp(">") + ")";
        }
        return op->emitError("WGSL: unsupported comparison");
      })
      .Case([&](math::ExpOp) { return call("exp"); })
      .Case([&](math::Exp2Op) { return call("exp2"); })
      .Case([&](math::LogOp) { return call("log"); })
      .Case([&](math::Log2Op) { return call("log2"); })
      .Case([&](math::SqrtOp) { return call("sqrt"); })
      .Case([&](math::RsqrtOp) { return call("inverseSqrt"); })
      .Case([&](math::TanhOp) { return call("tanh"); })
      .Case([&](math::AbsFOp) { return call("abs"); })
      .Case([&](math::FloorOp) { return call("floor"); })
      .Case([&](math::TruncOp) { return call("trunc"); })
      .Case([&](math::CeilOp) { return call("ceil"); })
      .Case([&](math::FmaOp) { return call("fma"); })
      .Case([&](math::PowFOp) { return call("pow"); })
      .Case([&](math::SinOp) { return call("sin"); })
      .Case([&](math::CosOp) { return call("cos"); })
      .Case([&](gpu::ThreadIdOp t) -> FailureOr<std::string> {
        return "i32(lid." + stringifyDimension(t.getDimension()).str() + ")";
      })
      .Case([&](gpu::BlockIdOp b) -> FailureOr<std::string> {
        if (b.getDimension() == gpu::Dimension::x)
          return std::string("bid_x");
        return "i32(wid." + stringifyDimension(b.getDimension()).str() + ")";
      })
      .Default([&](Operation *) -> FailureOr<std::string> {
        return op->emitError("WGSL: cannot translate '")
               << op->getName() << "'";
      });
}

LogicalResult Emitter::assignYield(Operation *yield,
                                   ArrayRef<std::string> targets) {
  // Through temporaries: a yield may swap loop-carried values.
  SmallVector<std::string> temps;
  for (Value v : yield->getOperands()) {
    FailureOr<std::string> s = ref(v);
    if (failed(s))
      return failure();
    std::string t = fresh();
    line("let " + t + " = " + *s + ";");
    temps.push_back(t);
  }
  for (auto [target, temp] : llvm::zip(targets, temps))
    line(target + " = " + temp + ";");
  return success();
}

LogicalResult Emitter::emitFor(scf::ForOp op) {
  SmallVector<std::string> carried;
  for (auto [init, arg, result] :
       llvm::zip(op.getInitArgs(), op.getRegionIterArgs(), op.getResults())) {
    FailureOr<std::string> t = type(op, arg.getType());
    FailureOr<std::string> v = ref(init);
    if (failed(t) || failed(v))
      return failure();
    std::string name = fresh();
    line("var " + name + ": " + *t + " = " + *v + ";");
    names[arg] = name;
    names[result] = name;
    carried.push_back(name);
  }
  FailureOr<std::string> lb = ref(op.getLowerBound()),
                         ub = ref(op.getUpperBound()), step = ref(op.getStep());
  if (failed(lb) || failed(ub) || failed(step))
    return failure();
  std::string iv = fresh();
  names[op.getInductionVar()] = iv;
  line("for (var " + iv + ": i32 = " + *lb + "; " + iv + " < " + *ub + "; " +
       iv + " = " + iv + " + " + *step + ") {");
  ++depth;
  if (failed(emitBlock(*op.getBody())))
    return failure();
  if (failed(assignYield(op.getBody()->getTerminator(), carried)))
    return failure();
  --depth;
  line("}");
  return success();
}

LogicalResult Emitter::emitIf(scf::IfOp op) {
  SmallVector<std::string> results;
  for (Value r : op.getResults()) {
    FailureOr<std::string> t = type(op, r.getType());
    if (failed(t))
      return failure();
    std::string name = fresh();
    line("var " + name + ": " + *t + ";");
    names[r] = name;
    results.push_back(name);
  }
  FailureOr<std::string> c = ref(op.getCondition());
  if (failed(c))
    return failure();
  line("if (" + *c + ") {");
  ++depth;
  if (failed(emitBlock(op.getThenRegion().front())) ||
      failed(assignYield(op.thenYield(), results)))
    return failure();
  --depth;
  if (!op.getElseRegion().empty()) {
    line("} else {");
    ++depth;
    if (failed(emitBlock(op.getElseRegion().front())) ||
        failed(assignYield(op.elseYield(), results)))
      return failure();
    --depth;
  }
  line("}");
  return success();
}

LogicalResult Emitter::emitOp(Operation &op) {
  if (isa<scf::YieldOp, arith::ConstantOp>(op))
    return success();
  if (isa<gpu::ReturnOp>(op)) // only at the end of the kernel
    return success();
  if (auto f = dyn_cast<scf::ForOp>(op))
    return emitFor(f);
  if (auto i = dyn_cast<scf::IfOp>(op))
    return emitIf(i);
  if (auto load = dyn_cast<memref::LoadOp>(op)) {
    FailureOr<std::string> a = access(&op, load.getMemRef(), load.getIndices());
    if (failed(a))
      return failure();
    std::string name = fresh();
    names[load] = name;
    line("let " + name + " = " + (options.f16 ? "f32(" + *a + ")" : *a) + ";");
    return success();
  }
  if (auto store = dyn_cast<memref::StoreOp>(op)) {
    FailureOr<std::string> a =
        access(&op, store.getMemRef(), store.getIndices());
    FailureOr<std::string> v = ref(store.getValueToStore());
    if (failed(a) || failed(v))
      return failure();
    line(*a + " = " + (options.f16 ? "f16(" + *v + ")" : *v) + ";");
    return success();
  }
  // The launch's sizes are known; unused ids are dropped.
  if (isMemoryEffectFree(&op) && op.use_empty())
    return success();
  if (isa<gpu::GridDimOp>(op)) // named from the launch
    return success();
  if (auto dim = dyn_cast<gpu::BlockDimOp>(op)) {
    names[dim] =
        std::to_string(out.workgroupSize[(int)dim.getDimension()]) + "i";
    return success();
  }
  if (op.getNumResults() != 1 || op.getNumRegions() != 0)
    return op.emitError("WGSL: cannot translate '") << op.getName() << "'";
  FailureOr<std::string> e = expression(&op);
  if (failed(e))
    return failure();
  std::string name = fresh();
  names[op.getResult(0)] = name;
  line("let " + name + " = " + *e + ";");
  return success();
}

LogicalResult Emitter::emitBlock(Block &block) {
  for (Operation &op : block)
    if (failed(emitOp(op)))
      return failure();
  return success();
}

LogicalResult Emitter::run(gpu::GPUFuncOp kernel, std::array<int64_t, 3> grid,
                           ArrayRef<Attribute> scalarArgs) {
  if (auto known = kernel.getKnownBlockSizeAttr())
    for (unsigned d = 0; d < 3; ++d)
      out.workgroupSize[d] = known[d];
  int64_t invocations =
      out.workgroupSize[0] * out.workgroupSize[1] * out.workgroupSize[2];
  if (invocations > options.maxInvocations)
    return kernel.emitError("WGSL: internal error: ")
           << invocations << " invocations per workgroup exceed the limit of "
           << options.maxInvocations;

  // The grid: fold x into (x, y) when it exceeds the per-dimension limit.
  out.dispatch = grid;
  int64_t limit = options.maxWorkgroupsPerDim;
  if (grid[0] > limit) {
    if (grid[1] != 1 || grid[2] != 1)
      return kernel.emitError("WGSL: internal error: a grid of ")
             << grid[0] << "x" << grid[1] << "x" << grid[2]
             << " workgroups cannot be folded";
    int64_t y = (grid[0] + limit - 1) / limit;
    foldedX = (grid[0] + y - 1) / y;
    out.dispatch = {foldedX, y, 1};
  }
  for (int64_t g : out.dispatch)
    if (g > limit)
      return kernel.emitError("WGSL: internal error: dispatch of ")
             << g << " workgroups in one dimension exceeds the limit";
  kernel.walk([&](gpu::GridDimOp g) {
    names[g] = std::to_string(grid[(int)g.getDimension()]) + "i";
  });

  // Buffers: written ones keep their own bindings first, so the pack
  // buffer is read-only when it can be.
  SmallVector<unsigned> memrefs;
  out.arguments.assign(kernel.getNumArguments(), {});
  for (BlockArgument arg : kernel.getArguments()) {
    unsigned i = arg.getArgNumber();
    if (auto t = dyn_cast<MemRefType>(arg.getType())) {
      if (!t.hasStaticShape())
        return kernel.emitError("WGSL: dynamic shapes are not supported");
      out.arguments[i].elements = t.getNumElements();
      out.arguments[i].written = llvm::any_of(arg.getUsers(), [&](auto *u) {
        auto s = dyn_cast<memref::StoreOp>(u);
        return s && s.getMemRef() == arg;
      });
      if (llvm::any_of(arg.getUsers(), [](Operation *u) {
            return !isa<memref::LoadOp, memref::StoreOp>(u);
          }))
        return kernel.emitError("WGSL: a buffer is used other than by loads "
                                "and stores");
      if (!t.getElementType().isF32())
        return kernel.emitError("WGSL: only f32 tensors are supported");
      memrefs.push_back(i);
      continue;
    }
    Attribute c = i < scalarArgs.size() ? scalarArgs[i] : Attribute();
    if (!c)
      return kernel.emitError("WGSL: internal error: scalar kernel argument "
                              "is not a constant");
    FailureOr<std::string> s = constant(kernel, c);
    if (failed(s))
      return failure();
    names[arg] = *s;
  }
  llvm::sort(memrefs, [&](unsigned a, unsigned b) {
    bool wa = out.arguments[a].written, wb = out.arguments[b].written;
    return wa != wb ? wa : a < b;
  });
  bool pack = (int64_t)memrefs.size() > options.maxStorageBuffers;
  int64_t own = pack ? options.maxStorageBuffers - 1 : memrefs.size();
  std::string elem = options.f16 ? "f16" : "f32";
  std::string decls;
  bool packWritten = false;
  for (auto [n, i] : llvm::enumerate(memrefs)) {
    WgslArgument &a = out.arguments[i];
    Value v = kernel.getArgument(i);
    if ((int64_t)n < own) {
      a.binding = n;
      std::string name = "b" + std::to_string(n);
      buffers[v] = name;
      decls += llvm::formatv("@group(0) @binding({0}) var<storage, {1}> "
                             "{2}: array<{3}>;\n",
                             n, a.written ? "read_write" : "read", name, elem)
                   .str();
      continue;
    }
    // 64 elements (256 bytes at f32) apart: aligned copies at any width.
    a.packOffset = out.packElements;
    out.packElements += (a.elements + 63) / 64 * 64;
    buffers[v] = "pack";
    packOffsets[v] = a.packOffset;
    packWritten |= a.written;
  }
  if (pack) {
    out.packBinding = own;
    decls += llvm::formatv("@group(0) @binding({0}) var<storage, {1}> pack: "
                           "array<{2}>;\n",
                           own, packWritten ? "read_write" : "read", elem)
                 .str();
  }

  if (foldedX) {
    line("let bid_x = i32(wid.x) + i32(wid.y) * " + std::to_string(foldedX) +
         "i;");
    line("if (bid_x >= " + std::to_string(grid[0]) + "i) { return; }");
  } else {
    line("let bid_x = i32(wid.x);");
  }
  if (failed(emitBlock(kernel.getBody().front())))
    return failure();

  llvm::raw_string_ostream code(out.code);
  auto module = kernel->getParentOfType<gpu::GPUModuleOp>();
  code << "// Generated by cascade: kernel "
       << (module ? module.getName() : kernel.getName()) << ".\n";
  if (options.f16)
    code << "enable f16;\n";
  code << "\n" << decls;
  if (needsInfBits)
    code << "var<private> cascade_inf_bits: u32 = 0x7f800000u;\n";
  code << llvm::formatv("\n@compute @workgroup_size({0}, {1}, {2})\n",
                        out.workgroupSize[0], out.workgroupSize[1],
                        out.workgroupSize[2]);
  code << "fn main(@builtin(workgroup_id) wid: vec3<u32>,\n"
          "        @builtin(local_invocation_id) lid: vec3<u32>) {\n"
       << body << "}\n";
  return success();
}

} // namespace

LogicalResult emitWgsl(gpu::GPUFuncOp kernel, std::array<int64_t, 3> grid,
                       ArrayRef<Attribute> scalarArgs,
                       const WgslOptions &options, WgslKernel &out) {
  out = WgslKernel();
  Emitter emitter(options, out);
  return emitter.run(kernel, grid, scalarArgs);
}

} // namespace cascade
