// RUN: cascade-opt %s -cascade-math-to-llvm-intrinsics | FileCheck %s

// f32 math left in GPU kernels calls the generic LLVM intrinsics (single
// NVPTX instructions) instead of libdevice; rsqrt is 1/sqrt.
// CHECK-LABEL: func.func @f
// CHECK: %[[F:.*]] = llvm.call_intrinsic "llvm.floor.f32"(%arg0) : (f32) -> f32
// CHECK: %[[S:.*]] = llvm.call_intrinsic "llvm.sqrt.f32"(%arg0) : (f32) -> f32
// CHECK: %[[R:.*]] = arith.divf %{{.*}}, %[[S]] : f32
// CHECK: return %[[F]], %[[R]]
// CHECK-NOT: math.
func.func @f(%x: f32) -> (f32, f32) {
  %a = math.floor %x : f32
  %b = math.rsqrt %x : f32
  return %a, %b : f32, f32
}
