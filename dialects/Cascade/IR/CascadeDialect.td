//===- CascadeDialect.td - The Einsum-cascade dialect ------*- tablegen -*-===//
#ifndef CASCADE_DIALECT_TD
#define CASCADE_DIALECT_TD

include "mlir/IR/OpBase.td"

def Cascade_Dialect : Dialect {
  let name = "cascade";
  let cppNamespace = "::cascade";
  let summary = "Cascades of extended Einsums (FuseMax notation)";
  let description = [{
    A model is a `func.func` over ranked f32 tensors whose body is a sequence
    of `cascade.einsum` ops, one per equation of the `.ein` file. Each einsum
    iterates over a rectangular iteration space (named indices with static
    extents), evaluates its body region at every point, and reduces over the
    indices that are not in the output. An einsum may carry an iterative
    index (a recurrence, FuseMax Cascade 5).
  }];
  let dependentDialects = ["::mlir::func::FuncDialect",
                           "::mlir::tensor::TensorDialect"];
  // `cascade.model` on a function: its signature carries the tensor names,
  // roles, rank names and element types that the manifest, the runtime and
  // `--emit=ein` rely on; the verifier checks they are all there.
  let hasOperationAttrVerify = 1;
  // `#cascade.lowering<...>` (CascadeAttrs.td).
  let useDefaultAttributePrinterParser = 1;
}

class Cascade_Op<string mnemonic, list<Trait> traits = []>
    : Op<Cascade_Dialect, mnemonic, traits>;

#endif // CASCADE_DIALECT_TD
