//===- MathToLLVMIntrinsics.cpp - f32 math as generic LLVM intrinsic calls ===//
//
// convert-gpu-to-nvvm turns the math ops it meets into calls to libdevice
// (__nv_floorf, ...), which only the CUDA toolkit provides, and rejects
// the llvm.intr.* ops that stand for them. The NVPTX backend lowers the
// generic intrinsics itself (llvm.floor.f32 to cvt.rmi.f32.f32,
// llvm.sqrt.f32 to sqrt.rn.f32, ...): calling them through
// llvm.call_intrinsic keeps the kernels free of libdevice, so PTX can be
// generated on a machine without the toolkit.
//
//===----------------------------------------------------------------------===//
#include "passes/Passes.h"

namespace cascade {
#define GEN_PASS_DEF_CASCADEMATHTOLLVMINTRINSICS
#include "passes/Passes.h.inc"
} // namespace cascade

using namespace mlir;

namespace {

struct MathToLLVMIntrinsics
    : public cascade::impl::CascadeMathToLLVMIntrinsicsBase<
          MathToLLVMIntrinsics> {
  void runOnOperation() override {
    SmallVector<Operation *> ops;
    getOperation()->walk([&](Operation *op) {
      if (op->getDialect() && op->getDialect()->getNamespace() == "math" &&
          op->getNumResults() == 1 && op->getResult(0).getType().isF32())
        ops.push_back(op);
    });
    for (Operation *op : ops) {
      StringRef name =
          llvm::StringSwitch<StringRef>(op->getName().getStringRef())
              .Case("math.absf", "llvm.fabs.f32")
              .Case("math.ceil", "llvm.ceil.f32")
              .Case("math.floor", "llvm.floor.f32")
              .Case("math.trunc", "llvm.trunc.f32")
              .Case("math.fma", "llvm.fma.f32")
              .Case("math.sqrt", "llvm.sqrt.f32")
              .Case("math.copysign", "llvm.copysign.f32")
              .Case("math.roundeven", "llvm.roundeven.f32")
              .Case("math.rsqrt", "llvm.sqrt.f32")
              .Default("");
      if (name.empty())
        continue; // left to the NVVM lowering (or reported as undefined)
      OpBuilder b(op);
      Location loc = op->getLoc();
      Type f32 = b.getF32Type();
      Value v = LLVM::CallIntrinsicOp::create(
                    b, loc, f32, b.getStringAttr(name), op->getOperands())
                    .getResult(0);
      if (isa<math::RsqrtOp>(op)) {
        Value one = arith::ConstantOp::create(b, loc, b.getF32FloatAttr(1.0f));
        v = arith::DivFOp::create(b, loc, one, v);
      }
      op->getResult(0).replaceAllUsesWith(v);
      op->erase();
    }
  }
};

} // namespace
