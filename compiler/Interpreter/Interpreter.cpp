//===- Interpreter.cpp - The float64 reference interpreter ----------------===//
#include "compiler/Interpreter/Interpreter.h"
#include "dialects/Cascade/IR/Access.h"
#include "dialects/Cascade/IR/CascadeOps.h"
#include "llvm/ADT/DenseMap.h"
#include <cmath>

using namespace mlir;
using namespace cascade;

double cascade::refAdd(double a, double b) {
  double r = a + b;
  // -inf + inf from two non-NaN operands is -inf, not NaN.
  if (std::isnan(r) && !std::isnan(a) && !std::isnan(b))
    return -INFINITY;
  return r;
}

double cascade::refDiv(double a, double b) {
  if (a == 0 && b == 0)
    return 0; // 0 / 0 is 0
  return a / b;
}

static double maxNaN(double a, double b) {
  if (std::isnan(a) || std::isnan(b))
    return NAN;
  return a > b ? a : b;
}
static double minNaN(double a, double b) {
  if (std::isnan(a) || std::isnan(b))
    return NAN;
  return a < b ? a : b;
}

/// `x` rounded to f32, then to a float with `mantissa` explicit bits and
/// `minExp` as its least normal exponent (f16: 10, -14; bf16: 7, -126),
/// ties to even; beyond the largest finite value, infinity.
static double roundToFloat(double x, int mantissa, int minExp, double max) {
  float f = (float)x;
  if (!std::isfinite(f) || f == 0)
    return f;
  int e;
  std::frexp(f, &e); // f = m * 2^e, 0.5 <= |m| < 1
  int exp = std::max(e - 1, minExp);
  double ulp = std::ldexp(1.0, exp - mantissa);
  double r = std::nearbyint(f / ulp) * ulp; // the default mode: ties to even
  if (std::fabs(r) > max)
    return std::copysign(INFINITY, r);
  return r;
}

double cascade::refUnary(llvm::StringRef fn, double x) {
  if (fn == "neg")
    return -x;
  if (fn == "trunc")
    return std::trunc(x);
  if (fn == "round_f16")
    return roundToFloat(x, 10, -14, 65504.0);
  if (fn == "round_bf16")
    return roundToFloat(x, 7, -126, 3.3895313892515355e38);
  if (fn == "exp")
    return std::exp(x);
  if (fn == "log")
    return std::log(x);
  if (fn == "sqrt")
    return std::sqrt(x);
  if (fn == "rsqrt")
    return 1.0 / std::sqrt(x);
  if (fn == "tanh")
    return std::tanh(x);
  if (fn == "erf")
    return std::erf(x);
  if (fn == "abs")
    return std::fabs(x);
  if (fn == "recip")
    return 1.0 / x;
  if (fn == "relu")
    return maxNaN(x, 0.0);
  if (fn == "sigmoid")
    return 1.0 / (1.0 + std::exp(-x));
  if (fn == "silu")
    return x / (1.0 + std::exp(-x));
  if (fn == "gelu")
    return 0.5 * x * (1.0 + std::erf(x / std::sqrt(2.0)));
  // gelu_tanh
  double k = std::sqrt(2.0 / M_PI);
  return 0.5 * x * (1.0 + std::tanh(k * (x + 0.044715 * x * x * x)));
}

double cascade::refBinary(llvm::StringRef fn, double a, double b) {
  if (fn == "add")
    return refAdd(a, b);
  if (fn == "sub")
    return refAdd(a, -b);
  if (fn == "mul")
    return a * b;
  if (fn == "div")
    return refDiv(a, b);
  if (fn == "max")
    return maxNaN(a, b);
  if (fn == "min")
    return minNaN(a, b);
  return std::pow(a, b);
}

namespace {

/// A body compiled to a tree once, evaluated at every point.
struct Node {
  enum Kind { Read, Const, Unary, Binary, Where, Select } kind;
  double value = 0;
  llvm::StringRef fn;
  const RefTensor *tensor = nullptr;
  std::vector<LinearExpr> index; // Read
  std::vector<int64_t> strides;  // Read
  LinearExpr lhs, rhs;           // Where
  std::vector<const Node *>
      children; // Unary/Binary: operands; Where: then, else
};

class EinsumEvaluator {
public:
  EinsumEvaluator(EinsumOp op, std::vector<const RefTensor *> args)
      : op(op), args(std::move(args)) {}

  const Node *compile(Value v) {
    Operation *def = v.getDefiningOp();
    nodes.push_back(std::make_unique<Node>());
    Node &n = *nodes.back();
    unsigned numDims = op.getNumLoops();
    if (auto read = dyn_cast<ReadOp>(def)) {
      n.kind = Node::Read;
      n.tensor = args[cast<BlockArgument>(read.getTensor()).getArgNumber()];
      for (AffineExpr e : read.getMap().getResults())
        n.index.push_back(*toLinear(e, numDims));
      n.strides.assign(n.tensor->shape.size(), 1);
      for (int i = (int)n.strides.size() - 2; i >= 0; --i)
        n.strides[i] = n.strides[i + 1] * n.tensor->shape[i + 1];
    } else if (auto c = dyn_cast<ConstOp>(def)) {
      n.kind = Node::Const;
      n.value = c.getValue().convertToDouble();
    } else if (auto u = dyn_cast<UnaryOp>(def)) {
      n.kind = Node::Unary;
      n.fn = u.getFn();
      n.children.push_back(compile(u.getOperand()));
    } else if (auto b = dyn_cast<BinaryOp>(def)) {
      n.kind = Node::Binary;
      n.fn = b.getFn();
      n.children.push_back(compile(b.getLhs()));
      n.children.push_back(compile(b.getRhs()));
    } else if (auto s = dyn_cast<SelectOp>(def)) {
      n.kind = Node::Select;
      n.fn = s.getPred();
      for (Value x : {s.getLhs(), s.getRhs(), s.getOnTrue(), s.getOnFalse()})
        n.children.push_back(compile(x));
    } else if (auto w = dyn_cast<WhereOp>(def)) {
      n.kind = Node::Where;
      n.fn = w.getPred();
      n.lhs = *toLinear(w.getLhs().getResult(0), numDims);
      n.rhs = *toLinear(w.getRhs().getResult(0), numDims);
      for (Region *r : {&w.getThenRegion(), &w.getElseRegion()})
        n.children.push_back(
            compile(cast<YieldOp>(r->front().getTerminator()).getValue()));
    }
    return &n;
  }

  static double eval(const Node *n, llvm::ArrayRef<int64_t> point) {
    switch (n->kind) {
    case Node::Read: {
      int64_t offset = 0;
      for (size_t i = 0; i < n->index.size(); ++i)
        offset += n->index[i].eval(point) * n->strides[i];
      return n->tensor->data[offset];
    }
    case Node::Const:
      return n->value;
    case Node::Unary:
      return refUnary(n->fn, eval(n->children[0], point));
    case Node::Binary:
      return refBinary(n->fn, eval(n->children[0], point),
                       eval(n->children[1], point));
    case Node::Where: {
      bool c = evalPredicate(n->fn, n->lhs.eval(point), n->rhs.eval(point));
      return eval(n->children[c ? 0 : 1], point); // the other is not read
    }
    case Node::Select: {
      double a = eval(n->children[0], point), b = eval(n->children[1], point);
      bool c = n->fn == "lt"   ? a < b
               : n->fn == "le" ? a <= b
               : n->fn == "gt" ? a > b
               : n->fn == "ge" ? a >= b
               : n->fn == "eq" ? a == b
                               : !(a == b); // ne: true with NaN
      return eval(n->children[c ? 2 : 3], point);
    }
    }
    return 0;
  }

private:
  EinsumOp op;
  std::vector<const RefTensor *> args;
  std::vector<std::unique_ptr<Node>> nodes;
};

double reduceIdentity(llvm::StringRef kind) {
  if (kind == "add")
    return 0;
  if (kind == "mul")
    return 1;
  if (kind == "max")
    return -INFINITY;
  return INFINITY;
}

/// Reductions accumulate in plain IEEE arithmetic: the -inf rule of
/// LANGUAGE.md section 3 is for the elementwise + and - of a body.
double combine(llvm::StringRef kind, double acc, double x) {
  if (kind == "add")
    return acc + x;
  if (kind == "mul")
    return acc * x;
  if (kind == "max")
    return maxNaN(acc, x);
  return minNaN(acc, x);
}

int64_t numElements(llvm::ArrayRef<int64_t> shape) {
  int64_t n = 1;
  for (int64_t s : shape)
    n *= s;
  return n;
}

RefTensor evaluate(EinsumOp op, llvm::DenseMap<Value, RefTensor> &env) {
  RefTensor out;
  auto resultShape =
      cast<RankedTensorType>(op.getResult().getType()).getShape();
  out.shape.assign(resultShape.begin(), resultShape.end());
  std::vector<int64_t> strides(out.shape.size(), 1);
  for (int i = (int)strides.size() - 2; i >= 0; --i)
    strides[i] = strides[i + 1] * out.shape[i + 1];
  llvm::StringRef kind = op.getReduction();
  out.data.assign(numElements(out.shape),
                  op.hasReduction() ? reduceIdentity(kind) : 0.0);

  std::vector<const RefTensor *> args;
  for (Value in : op.getInputs())
    args.push_back(&env[in]);
  if (op.isRecurrence())
    args.push_back(&out); // `self`: reads position i, writes i + 1
  EinsumEvaluator evaluator(op, args);
  const Node *body = evaluator.compile(op.getYieldedValue());

  std::optional<int64_t> iter = op.getIterative();
  if (iter) {
    // Position 0 along the iterative dimension is the init tensor.
    const RefTensor &init = env[op.getInit()];
    std::vector<int64_t> idx(out.shape.size(), 0);
    for (int64_t i = 0, n = numElements(init.shape); i < n; ++i) {
      int64_t rest = i;
      for (int d = (int)out.shape.size() - 1; d >= 0; --d) {
        if (d == *iter) {
          idx[d] = 0;
          continue;
        }
        idx[d] = rest % out.shape[d];
        rest /= out.shape[d];
      }
      int64_t offset = 0;
      for (size_t d = 0; d < idx.size(); ++d)
        offset += idx[d] * strides[d];
      out.data[offset] = init.data[i];
    }
  }

  // Odometer over the iteration space; with a recurrence its index is the
  // slowest, so step i is complete before step i + 1 reads it.
  unsigned numLoops = op.getNumLoops(), numOut = op.getNumOutputDims();
  llvm::ArrayRef<int64_t> extents = op.getExtents();
  std::vector<unsigned> order;
  if (iter)
    order.push_back(*iter);
  for (unsigned d = 0; d < numLoops; ++d)
    if (!iter || (int64_t)d != *iter)
      order.push_back(d);
  std::vector<int64_t> point(numLoops, 0);
  int64_t total = numElements(extents);
  for (int64_t i = 0; i < total; ++i) {
    int64_t offset = 0;
    for (unsigned d = 0; d < numOut; ++d)
      offset += (point[d] + (iter && *iter == (int64_t)d ? 1 : 0)) * strides[d];
    double v = EinsumEvaluator::eval(body, point);
    out.data[offset] =
        op.hasReduction() ? combine(kind, out.data[offset], v) : v;
    for (int k = (int)order.size() - 1; k >= 0; --k) {
      unsigned d = order[k];
      if (++point[d] < extents[d])
        break;
      point[d] = 0;
    }
  }
  return out;
}

} // namespace

FailureOr<std::vector<RefTensor>>
cascade::interpret(func::FuncOp f, const std::vector<RefTensor> &args,
                   std::string &error) {
  if (args.size() != f.getNumArguments()) {
    error = "expected " + std::to_string(f.getNumArguments()) +
            " tensors, got " + std::to_string(args.size());
    return failure();
  }
  llvm::DenseMap<Value, RefTensor> env;
  for (unsigned i = 0; i < args.size(); ++i) {
    auto type = cast<RankedTensorType>(f.getArgumentTypes()[i]);
    if (llvm::ArrayRef<int64_t>(args[i].shape) != type.getShape() ||
        (int64_t)args[i].data.size() != type.getNumElements()) {
      error = "argument " + std::to_string(i) + " has the wrong shape";
      return failure();
    }
    env[f.getArgument(i)] = args[i];
  }
  std::vector<RefTensor> results;
  for (Operation &o : f.getBody().front()) {
    if (auto op = dyn_cast<EinsumOp>(o)) {
      env[op.getResult()] = evaluate(op, env);
    } else if (auto ret = dyn_cast<func::ReturnOp>(o)) {
      for (Value v : ret.getOperands())
        results.push_back(env[v]);
    }
  }
  return results;
}
