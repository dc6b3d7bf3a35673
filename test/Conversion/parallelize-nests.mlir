// RUN: cascade-opt %s -split-input-file -pass-pipeline='builtin.module(func.func(cascade-parallelize-nests))' | FileCheck %s

// Each top-level nest's independent loops become one scf.parallel; the
// reduction over k stays a sequential loop inside it.
// CHECK-LABEL: func.func @mm2
// CHECK: scf.parallel (%{{.*}}, %{{.*}}) = (%{{.*}}, %{{.*}}) to (%c8, %c8)
// CHECK: memref.store
// CHECK: scf.reduce
// CHECK: scf.parallel (%[[I:.*]], %[[J:.*]]) = (%{{.*}}, %{{.*}}) to (%c8, %c8)
// CHECK-NEXT: scf.for %{{.*}} = %{{.*}} to %c4
// CHECK: memref.store %{{.*}}, %{{.*}}[%[[I]], %[[J]]]
// CHECK-NOT: scf.for %{{.*}} = %{{.*}} to %c8
  func.func @mm2(%arg0: memref<8x4xf32> {cascade.dims = ["I", "K"], cascade.dtype = "f32", cascade.name = "A", cascade.role = "input", llvm.noalias}, %arg1: memref<4x8xf32> {cascade.dims = ["K", "J"], cascade.dtype = "f32", cascade.name = "B", cascade.role = "input", llvm.noalias}, %arg2: memref<8x8xf32> {cascade.name = "C", cascade.role = "output", llvm.noalias}) attributes {cascade.declarations = ["ranks I=8", "ranks J=8", "ranks K=4"], cascade.model} {
    %c4 = arith.constant 4 : index
    %cst = arith.constant 0.000000e+00 : f32
    %c0 = arith.constant 0 : index
    %c8 = arith.constant 8 : index
    %c1 = arith.constant 1 : index
    scf.for %arg3 = %c0 to %c8 step %c1 {
      scf.for %arg4 = %c0 to %c8 step %c1 {
        memref.store %cst, %arg2[%arg3, %arg4] : memref<8x8xf32>
      }
    }
    scf.for %arg3 = %c0 to %c8 step %c1 {
      scf.for %arg4 = %c0 to %c4 step %c1 {
        scf.for %arg5 = %c0 to %c8 step %c1 {
          %0 = memref.load %arg0[%arg3, %arg4] : memref<8x4xf32>
          %1 = memref.load %arg1[%arg4, %arg5] : memref<4x8xf32>
          %2 = arith.mulf %0, %1 : f32
          %3 = memref.load %arg2[%arg3, %arg5] : memref<8x8xf32>
          %4 = arith.addf %3, %2 : f32
          memref.store %4, %arg2[%arg3, %arg5] : memref<8x8xf32>
        }
      }
    }
    return
  }

// -----

// CHECK-LABEL: func.func @ew
// CHECK: scf.parallel
// CHECK: math.exp
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
