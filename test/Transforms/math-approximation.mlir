// RUN: cascade-opt %s -cascade-math-approximation | FileCheck %s

// exp becomes a polynomial with the exponent built in the float's bits
// (vectorizable, no libm call).
// CHECK-LABEL: func.func @ew
// CHECK-NOT: math.exp
// CHECK: arith.constant 127 : i32
// CHECK: arith.shli
// CHECK: arith.bitcast
// CHECK-NOT: math.exp
  func.func @ew(%arg0: memref<4x8xf32> {cascade.dims = ["P", "D"], cascade.dtype = "f32", cascade.name = "X", cascade.role = "input", llvm.noalias}, %arg1: memref<4x8xf32> {cascade.name = "Y", cascade.role = "output", llvm.noalias}) attributes {cascade.declarations = ["ranks P=4", "ranks D=8"], cascade.model} {
    %c0 = arith.constant 0 : index
    %c4 = arith.constant 4 : index
    %c1 = arith.constant 1 : index
    scf.for %arg2 = %c0 to %c4 step %c1 {
      %c0_0 = arith.constant 0 : index
      %c8 = arith.constant 8 : index
      %c1_1 = arith.constant 1 : index
      scf.for %arg3 = %c0_0 to %c8 step %c1_1 {
        %0 = memref.load %arg0[%arg2, %arg3] : memref<4x8xf32>
        %1 = math.exp %0 : f32
        %cst = arith.constant 1.000000e+00 : f32
        %2 = arith.addf %1, %cst : f32
        memref.store %2, %arg1[%arg2, %arg3] : memref<4x8xf32>
      }
    }
    return
  }
