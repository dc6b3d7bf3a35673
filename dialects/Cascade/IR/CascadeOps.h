//===- CascadeOps.h - Einsum-cascade ops ------------------------*- C++ -*-===//
#ifndef CASCADE_DIALECT_CASCADE_IR_CASCADEOPS_H
#define CASCADE_DIALECT_CASCADE_IR_CASCADEOPS_H

#include "dialects/Cascade/IR/CascadeAttrs.h"
#include "dialects/Cascade/IR/CascadeDialect.h"
#include "mlir/IR/BuiltinTypes.h"
#include "mlir/IR/OpDefinition.h"
#include "mlir/IR/RegionKindInterface.h"
#include "mlir/Interfaces/SideEffectInterfaces.h"

#define GET_OP_CLASSES
#include "dialects/Cascade/IR/CascadeOps.h.inc"

namespace cascade {

/// Attribute names used on `func.func` arguments and results of a model.
namespace attrs {
constexpr llvm::StringLiteral kModel = "cascade.model"; // on the func
constexpr llvm::StringLiteral kName = "cascade.name";   // tensor name
constexpr llvm::StringLiteral kRole = "cascade.role";   // input|weight
constexpr llvm::StringLiteral kDims = "cascade.dims";   // rank names
constexpr llvm::StringLiteral kDtype = "cascade.dtype"; // f32|f16|bf16
constexpr llvm::StringLiteral kKey = "cascade.key";     // weight key
constexpr llvm::StringLiteral kFile = "cascade.file";   // weight file
/// On an imported model's inputs and outputs: the name the ONNX graph gives
/// them (what `--input` takes and output files are named after), and for an
/// output, the graph's shape of it (the cascade may hold it split further,
/// same elements in the same order).
constexpr llvm::StringLiteral kExternalName = "cascade.external_name";
constexpr llvm::StringLiteral kExternalShape = "cascade.external_shape";
} // namespace attrs

/// On a `cascade.einsum`: the top-level layer call it was expanded from,
/// "DEF#N" (a discardable mark; see cascade-outline-layers).
constexpr llvm::StringLiteral kCallSiteAttr = "cascade.call";
/// On a `max` reduction (a `cascade.einsum`) whose NaN operands and signs of
/// zero cannot change the model's result, so that it may drop NaN operands
/// and pick either zero: `x > acc ? x : acc`, one vmaxps. cascade-one-pass
/// sets it on the local maximum of each tile (LM): it only shifts exp(X -
/// max), where a NaN score still makes the row NaN and -0 and +0 subtract
/// alike. Discardable: without it the reduction is IEEE `maximum`.
constexpr llvm::StringLiteral kRelaxedMaxAttr = "cascade.relaxed_max";
/// On the local maximum (LM) of a recurrence group made by
/// cascade-one-pass: a step of the group in which every element LM reduces
/// is -inf (all keys of the step masked) leaves every recurrence of the
/// group unchanged, so a lowering may skip it (MaskedSteps.h says why).
/// Discardable: without it every step runs.
constexpr llvm::StringLiteral kMaskedStepIdentityAttr =
    "cascade.masked_step_identity";
/// On a `func.func` made by cascade-outline-layers: the layer it computes.
constexpr llvm::StringLiteral kLayerAttr = "cascade.layer";

/// The user-visible name of a tensor value: the einsum's `name`, or the
/// `cascade.name` of a function argument; "<tensor>" when unknown.
std::string getTensorName(mlir::Value tensor);

/// True if `fn` names a function `cascade.unary` / `cascade.binary` accepts.
bool isUnaryFn(llvm::StringRef fn);
bool isBinaryFn(llvm::StringRef fn);
bool isReductionKind(llvm::StringRef kind);
bool isPredicate(llvm::StringRef pred);

} // namespace cascade

#endif
