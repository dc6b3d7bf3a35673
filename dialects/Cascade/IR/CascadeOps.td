//===- CascadeOps.td - Einsum-cascade ops ------------------*- tablegen -*-===//
#ifndef CASCADE_OPS_TD
#define CASCADE_OPS_TD

include "CascadeDialect.td"
include "mlir/IR/OpBase.td"
include "mlir/IR/BuiltinAttributes.td"
include "mlir/Interfaces/SideEffectInterfaces.td"
include "mlir/IR/RegionKindInterface.td"

//===----------------------------------------------------------------------===//
// cascade.einsum
//===----------------------------------------------------------------------===//

def Cascade_EinsumOp : Cascade_Op<"einsum",
    [IsolatedFromAbove, AttrSizedOperandSegments, Pure]> {
  let summary = "One extended-Einsum equation";
  let description = [{
    Evaluates `body` at every point of the iteration space spanned by
    `indices` (with static `extents`) and reduces with `reduction` over the
    indices that are not in the output. The first `rank(result)` indices are
    the output's indices, in the output's order; the remaining ones are
    reduced.

    The body's block arguments are the input tensors (in operand order) and,
    for a recurrence, the op's own result as the last argument (`self`).
    Body ops address tensors through `cascade.read` with an affine map from
    the iteration point to a tensor coordinate.

    A recurrence (`iterative = k`) iterates output index `k` sequentially:
    the result has extent `extents[k] + 1` along dimension `k`, position 0
    is the `init` tensor (the result's shape without dimension `k`) and the
    body computes position `i + 1` at iteration `i`, reading `self` at
    position `i` only.

    Example (`QK[m,p] = Q[e,p] * K[e,m]`):
    ```mlir
    %qk = cascade.einsum "QK" ins(%q, %k : tensor<64x128xf32>, tensor<64x128xf32>)
        -> tensor<128x128xf32>
        attributes {extents = array<i64: 128, 128, 64>, indices = ["m", "p", "e"]} {
    ^bb0(%Q: tensor<64x128xf32>, %K: tensor<64x128xf32>):
      %0 = cascade.read %Q {map = affine_map<(d0, d1, d2) -> (d2, d1)>} : tensor<64x128xf32>
      %1 = cascade.read %K {map = affine_map<(d0, d1, d2) -> (d2, d0)>} : tensor<64x128xf32>
      %2 = cascade.binary "mul" %0, %1
      cascade.yield %2
    }
    ```
  }];
  let arguments = (ins Variadic<RankedTensorOf<[F32]>>:$inputs,
                       Optional<RankedTensorOf<[F32]>>:$init,
                       StrAttr:$name,
                       StrArrayAttr:$indices,
                       DenseI64ArrayAttr:$extents,
                       DefaultValuedStrAttr<StrAttr, "add">:$reduction,
                       OptionalAttr<I64Attr>:$iterative);
  let results = (outs RankedTensorOf<[F32]>:$result);
  let regions = (region SizedRegion<1>:$body);
  let assemblyFormat = [{
    $name (`ins` `(` $inputs^ `:` type($inputs) `)`)?
    (`init` `(` $init^ `:` type($init) `)`)?
    `->` type($result) attr-dict-with-keyword $body
  }];
  let hasVerifier = 1;
  let hasRegionVerifier = 1;
  let extraClassDeclaration = [{
    /// Number of iteration indices (output + reduced).
    unsigned getNumLoops() { return getIndices().size(); }
    /// Number of output indices: the leading indices of the iteration space.
    unsigned getNumOutputDims() {
      return mlir::cast<mlir::RankedTensorType>(getResult().getType()).getRank();
    }
    bool isReducedDim(unsigned d) { return d >= getNumOutputDims(); }
    bool hasReduction() { return getNumLoops() > getNumOutputDims(); }
    bool isRecurrence() { return getIterative().has_value(); }
    llvm::StringRef getIndexName(unsigned d) {
      return mlir::cast<mlir::StringAttr>(getIndices()[d]).getValue();
    }
    /// The body block argument that stands for operand `i` of `inputs`.
    mlir::BlockArgument getInputArg(unsigned i) {
      return getBody().front().getArgument(i);
    }
    /// The body block argument for the op's own previous state (recurrences).
    mlir::BlockArgument getSelfArg() {
      return getBody().front().getArgument(getInputs().size());
    }
    /// The tensor value read by body argument `arg` outside the op, or null
    /// for `self`.
    mlir::Value getOperandForArg(mlir::BlockArgument arg) {
      if (arg.getArgNumber() < getInputs().size())
        return getInputs()[arg.getArgNumber()];
      return {};
    }
    mlir::Operation *getYieldedOp();
    /// The scalar the body yields at each point.
    mlir::Value getYieldedValue();
  }];
}

//===----------------------------------------------------------------------===//
// Body ops
//===----------------------------------------------------------------------===//

def Cascade_ReadOp : Cascade_Op<"read", [Pure]> {
  let summary = "Reads one element of a tensor at an affine coordinate";
  let description = [{
    `map` sends the enclosing einsum's iteration point to a coordinate of
    `tensor` (a body block argument). A read must be in range at every point
    where it is evaluated; reads under a `cascade.where` are evaluated only
    where the condition selects their branch.
  }];
  let arguments = (ins RankedTensorOf<[F32]>:$tensor, AffineMapAttr:$map);
  let results = (outs F32:$result);
  let assemblyFormat = "$tensor attr-dict `:` type($tensor)";
  let hasVerifier = 1;
}

def Cascade_ConstOp : Cascade_Op<"const", [Pure]> {
  let summary = "A scalar constant";
  let description = [{
    `symbol`, when present, is the named constant or rank extent the source
    wrote (`eps`, `E` in `sqrt(E)`'s operand), so that `--emit=ein` prints
    it by name and `--set` on the printed model still reaches it.
  }];
  let arguments = (ins F64Attr:$value, OptionalAttr<StrAttr>:$symbol);
  let results = (outs F32:$result);
  let assemblyFormat = "$value attr-dict";
}

def Cascade_UnaryOp : Cascade_Op<"unary", [Pure]> {
  let summary = "Elementwise function of one scalar";
  let description = [{
    `fn` is one of: neg exp log sqrt rsqrt tanh erf sigmoid relu silu gelu
    gelu_tanh abs recip trunc round_f16 round_bf16. `trunc` rounds toward
    zero (integer division, casts to integers); `round_f16`/`round_bf16`
    round to the nearest f16/bf16 value (ties to even), a cast's rounding.
  }];
  let arguments = (ins StrAttr:$fn, F32:$operand);
  let results = (outs F32:$result);
  let assemblyFormat = "$fn $operand attr-dict";
  let hasVerifier = 1;
}

def Cascade_BinaryOp : Cascade_Op<"binary", [Pure]> {
  let summary = "Elementwise function of two scalars";
  let description = [{
    `fn` is one of: add sub mul div max min pow. `add` and `sub` give `-inf`
    where IEEE would give NaN from two non-NaN operands (`-inf - -inf`), and
    `div` gives 0 for `0 / 0` (LANGUAGE.md section 3). `max`/`min`
    propagate NaN. `pow` is C's `pow` (a negative base takes integral
    exponents); a constant exponent is lowered to multiplications.
  }];
  let arguments = (ins StrAttr:$fn, F32:$lhs, F32:$rhs);
  let results = (outs F32:$result);
  let assemblyFormat = "$fn $lhs `,` $rhs attr-dict";
  let hasVerifier = 1;
}

def Cascade_WhereOp : Cascade_Op<"where", [RecursiveMemoryEffects,
    RecursivelySpeculatable, NoRegionArguments]> {
  let summary = "Selects a branch by comparing two affine index expressions";
  let description = [{
    Evaluates `lhs(point) pred rhs(point)` (`pred`: lt le gt ge eq ne), then
    only the selected region. Reads in the other region are not performed.
  }];
  let arguments = (ins StrAttr:$pred, AffineMapAttr:$lhs, AffineMapAttr:$rhs);
  let results = (outs F32:$result);
  let regions = (region SizedRegion<1>:$thenRegion,
                        SizedRegion<1>:$elseRegion);
  let assemblyFormat = [{
    $pred $lhs `,` $rhs attr-dict-with-keyword $thenRegion `else` $elseRegion
  }];
  let hasVerifier = 1;
}

def Cascade_SelectOp : Cascade_Op<"select", [Pure]> {
  let summary = "Selects one of two values by comparing two values";
  let description = [{
    `lhs pred rhs ? onTrue : onFalse` (`pred`: lt le gt ge eq ne), the
    value form of `where` (`where(X[i] > 0, a, b)` in .ein). Both branches
    are evaluated: their reads must be in range everywhere. Comparisons
    with NaN are false, except `ne`.
  }];
  let arguments = (ins StrAttr:$pred, F32:$lhs, F32:$rhs, F32:$onTrue,
                       F32:$onFalse);
  let results = (outs F32:$result);
  let assemblyFormat = [{
    $pred $lhs `,` $rhs `?` $onTrue `:` $onFalse attr-dict
  }];
  let hasVerifier = 1;
}

def Cascade_YieldOp : Cascade_Op<"yield", [Pure, Terminator,
    ParentOneOf<["EinsumOp", "WhereOp"]>]> {
  let summary = "Yields the scalar value of a body or branch";
  let arguments = (ins F32:$value);
  let assemblyFormat = "$value attr-dict";
}

#endif // CASCADE_OPS_TD
