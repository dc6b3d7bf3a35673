//===- CascadeDialect.cpp - The Einsum-cascade dialect --------------------===//
#include "dialects/Cascade/IR/CascadeDialect.h"
#include "dialects/Cascade/IR/CascadeOps.h"
#include "mlir/IR/BuiltinTypes.h"
#include "llvm/ADT/TypeSwitch.h"

using namespace mlir;
using namespace cascade;

void cascade::printBracketedInts(AsmPrinter &printer,
                                 ArrayRef<int64_t> values) {
  printer << '[';
  llvm::interleaveComma(values, printer);
  printer << ']';
}

FailureOr<SmallVector<int64_t>> cascade::parseBracketedInts(AsmParser &parser) {
  SmallVector<int64_t> values;
  if (parser.parseCommaSeparatedList(AsmParser::Delimiter::Square, [&] {
        return parser.parseInteger(values.emplace_back());
      }))
    return failure();
  return values;
}

#include "dialects/Cascade/IR/CascadeDialect.cpp.inc"
#include "dialects/Cascade/IR/CascadeEnums.cpp.inc"
#define GET_ATTRDEF_CLASSES
#include "dialects/Cascade/IR/CascadeAttrs.cpp.inc"

void CascadeDialect::initialize() {
  addAttributes<
#define GET_ATTRDEF_LIST
#include "dialects/Cascade/IR/CascadeAttrs.cpp.inc"
      >();
  addOperations<
#define GET_OP_LIST
#include "dialects/Cascade/IR/CascadeOps.cpp.inc"
      >();
}

/// Checks the signature of a model function (`cascade.model`): every
/// argument has a name and a role; inputs and weights also have rank names
/// (one per dimension) and a declared element type, weights a key; every
/// result has a name. Tensors are f32 (memrefs after lowering).
LogicalResult CascadeDialect::verifyOperationAttribute(Operation *op,
                                                       NamedAttribute attr) {
  if (attr.getName() != attrs::kModel)
    return success();
  // After conversion to the LLVM dialect the signature is raw pointers.
  auto func = dyn_cast<func::FuncOp>(op);
  if (!func)
    return success();
  auto shapedF32 = [](Type t) -> std::optional<ArrayRef<int64_t>> {
    if (auto tt = dyn_cast<RankedTensorType>(t))
      if (tt.getElementType().isF32())
        return tt.getShape();
    if (auto mt = dyn_cast<MemRefType>(t))
      if (mt.getElementType().isF32())
        return mt.getShape();
    return std::nullopt;
  };
  for (unsigned i = 0; i < func.getNumArguments(); ++i) {
    auto fail = [&](const Twine &what) {
      return func.emitError("model argument ") << i << " " << what;
    };
    auto shape = shapedF32(func.getArgumentTypes()[i]);
    if (!shape)
      return fail("must be a ranked f32 tensor");
    auto name = func.getArgAttrOfType<StringAttr>(i, attrs::kName);
    auto role = func.getArgAttrOfType<StringAttr>(i, attrs::kRole);
    if (!name || name.getValue().empty())
      return fail(Twine("needs a '") + attrs::kName + "' string");
    if (!role ||
        !llvm::is_contained({"input", "weight", "output"}, role.getValue()))
      return fail(Twine("needs a '") + attrs::kRole +
                  "' of \"input\", \"weight\" or \"output\"");
    if (role.getValue() == "output")
      continue; // out-parameters after lowering
    auto dims = func.getArgAttrOfType<ArrayAttr>(i, attrs::kDims);
    if (!dims || dims.size() != shape->size() ||
        !llvm::all_of(dims, [](Attribute a) { return isa<StringAttr>(a); }))
      return fail(Twine("needs '") + attrs::kDims +
                  "': one rank name a dimension");
    auto dtype = func.getArgAttrOfType<StringAttr>(i, attrs::kDtype);
    if (!dtype || !llvm::is_contained({"f32", "f16", "bf16"}, dtype.getValue()))
      return fail(Twine("needs a '") + attrs::kDtype + "' of f32, f16 or bf16");
    if (role.getValue() == "weight" &&
        !func.getArgAttrOfType<StringAttr>(i, attrs::kKey))
      return fail(Twine("is a weight and needs a '") + attrs::kKey +
                  "' string");
  }
  for (unsigned i = 0; i < func.getNumResults(); ++i) {
    if (!shapedF32(func.getResultTypes()[i]))
      return func.emitError("model result ")
             << i << " must be a ranked f32 tensor";
    auto name = func.getResultAttrOfType<StringAttr>(i, attrs::kName);
    if (!name || name.getValue().empty())
      return func.emitError("model result ")
             << i << " needs a '" << attrs::kName << "' string";
  }
  return success();
}
