// RUN: cascade-opt %s -pass-pipeline='builtin.module(func.func(cascade-gpu-distribute{block-size=3}))' | FileCheck %s

// The 4-iteration parallel loop becomes blocks of 3 threads: an outer
// parallel loop over blocks, an inner one over a block's threads, guarded
// because 3 does not divide the trip count.
// CHECK-LABEL: func.func @ew
// CHECK: scf.parallel (%[[B:.*]]) = (%{{.*}}) to (%{{.*}}) step (%[[BS:.*]])
// CHECK: scf.parallel (%[[T:.*]]) = (%{{.*}}) to (%[[BS]]) step
// CHECK: scf.if
// CHECK: scf.for
// CHECK: math.exp
  func.func @ew(%arg0: memref<4x8xf32> {cascade.dims = ["P", "D"], cascade.dtype = "f32", cascade.name = "X", cascade.role = "input", llvm.noalias}, %arg1: memref<4x8xf32> {cascade.name = "Y", cascade.role = "output", llvm.noalias}) attributes {cascade.declarations = ["ranks P=4", "ranks D=8"], cascade.model} {
    %c0 = arith.constant 0 : index
    %c4 = arith.constant 4 : index
    %c1 = arith.constant 1 : index
    scf.parallel (%arg2) = (%c0) to (%c4) step (%c1) {
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
      scf.reduce 
    }
    return
  }
