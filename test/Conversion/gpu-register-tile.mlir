// RUN: cascade-opt %s -split-input-file -pass-pipeline='builtin.module(func.func(cascade-gpu-register-tile{min-threads=16},cse))' | FileCheck %s

// Each thread computes 4 outputs of a row: the parallel loop steps by 4
// along j, and the k loop carries the 4 accumulators in registers.
// CHECK-LABEL: func.func @mm2
// CHECK: scf.parallel (%{{.*}}, %{{.*}}) = (%{{.*}}, %{{.*}}) to (%c8, %c8) step (%c1, %c4)
// CHECK: scf.for %{{.*}} = %{{.*}} to %c4 step %c1 iter_args(%{{.*}} = %{{.*}}, %{{.*}} = %{{.*}}, %{{.*}} = %{{.*}}, %{{.*}} = %{{.*}}) -> (f32, f32, f32, f32)
// CHECK-COUNT-4: arith.mulf
// CHECK: scf.yield %{{.*}}, %{{.*}}, %{{.*}}, %{{.*}} : f32, f32, f32, f32
  func.func @mm2(%arg0: memref<8x4xf32> {cascade.dims = ["I", "K"], cascade.dtype = "f32", cascade.name = "A", cascade.role = "input", llvm.noalias}, %arg1: memref<4x8xf32> {cascade.dims = ["K", "J"], cascade.dtype = "f32", cascade.name = "B", cascade.role = "input", llvm.noalias}, %arg2: memref<8x8xf32> {cascade.name = "C", cascade.role = "output", llvm.noalias}) attributes {cascade.declarations = ["ranks I=8", "ranks J=8", "ranks K=4"], cascade.model} {
    %c4 = arith.constant 4 : index
    %cst = arith.constant 0.000000e+00 : f32
    %c0 = arith.constant 0 : index
    %c8 = arith.constant 8 : index
    %c1 = arith.constant 1 : index
    scf.parallel (%arg3, %arg4) = (%c0, %c0) to (%c8, %c8) step (%c1, %c1) {
      memref.store %cst, %arg2[%arg3, %arg4] : memref<8x8xf32>
      scf.reduce 
    }
    scf.parallel (%arg3, %arg4) = (%c0, %c0) to (%c8, %c8) step (%c1, %c1) {
      scf.for %arg5 = %c0 to %c4 step %c1 {
        %0 = memref.load %arg0[%arg3, %arg5] : memref<8x4xf32>
        %1 = memref.load %arg1[%arg5, %arg4] : memref<4x8xf32>
        %2 = arith.mulf %0, %1 : f32
        %3 = memref.load %arg2[%arg3, %arg4] : memref<8x8xf32>
        %4 = arith.addf %3, %2 : f32
        memref.store %4, %arg2[%arg3, %arg4] : memref<8x8xf32>
      }
      scf.reduce 
    }
    return
  }
