//===- Passes.td - Cascade passes --------------------------*- tablegen -*-===//
#ifndef CASCADE_PASSES_TD
#define CASCADE_PASSES_TD

include "mlir/Pass/PassBase.td"

def CascadeLowerToLoops : Pass<"cascade-lower-to-loops", "mlir::ModuleOp"> {
  let summary = "Lower cascade.einsum ops to scf loop nests over memrefs";
  let description = [{
    Rewrites each model function (`cascade.model`) from tensors to memrefs:
    inputs and weights become read-only buffer arguments, outputs become
    out-parameter buffers after them, and the function returns nothing.
    Each `cascade.einsum` becomes a loop nest that accumulates its body
    into its buffer (identity-initialized for reductions). Recurrences
    iterate their iterative index outermost, sequentially. The innermost
    loop is the output index along which the most accesses are contiguous,
    so LLVM's loop vectorizer can vectorize it. `cascade.where` becomes an
    `arith.select` when both branches may be evaluated everywhere, and an
    `scf.if` when a branch holds a read that is only in range under the
    condition. The IEEE exceptions of LANGUAGE.md section 3 (`-inf - -inf`
    is `-inf`, `0 / 0` is 0) are materialized as selects.
  }];
  let dependentDialects = [
    "mlir::affine::AffineDialect", "mlir::arith::ArithDialect",
    "mlir::math::MathDialect", "mlir::memref::MemRefDialect",
    "mlir::scf::SCFDialect", "mlir::func::FuncDialect"
  ];
}

def CascadeMathApproximation : Pass<"cascade-math-approximation"> {
  let summary = "Replace transcendental math ops by vectorizable polynomials";
  let description = [{
    Rewrites `math.exp`, `math.log`, `math.tanh`, `math.erf` (and the other
    functions upstream approximates) into arithmetic with upstream MLIR's
    polynomial approximations, so that loops calling them vectorize without
    a vector math library. Special values keep their meaning
    (`exp(-inf) = 0`), which masked softmax relies on.
  }];
  let dependentDialects = ["mlir::arith::ArithDialect",
                           "mlir::math::MathDialect",
                           "mlir::vector::VectorDialect"];
}

#endif // CASCADE_PASSES_TD
