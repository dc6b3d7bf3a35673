// RUN: cascade-opt %s -split-input-file -cascade-lower-to-loops='parallel=0 kernels=0' | FileCheck %s

// An elementwise equation: the model takes its output as a memref
// argument, and one loop per index computes the body in f32.
#map = affine_map<(d0, d1) -> (d0, d1)>
// CHECK-LABEL: func.func @ew
// CHECK-SAME: (%[[X:.*]]: memref<4x8xf32> {{{.*}}cascade.name = "X"{{.*}}}, %[[Y:.*]]: memref<4x8xf32> {cascade.name = "Y", cascade.role = "output", llvm.noalias})
// CHECK: scf.for %[[P:.*]] = %{{.*}} to %{{.*}} step
// CHECK: scf.for %[[D:.*]] = %{{.*}} to %{{.*}} step
// CHECK: %[[V:.*]] = memref.load %[[X]][%[[P]], %[[D]]]
// CHECK: %[[E:.*]] = math.exp %[[V]] : f32
// CHECK: %[[S:.*]] = arith.addf %[[E]], %{{.*}} : f32
// CHECK: memref.store %[[S]], %[[Y]][%[[P]], %[[D]]]
  func.func @ew(%arg0: tensor<4x8xf32> {cascade.dims = ["P", "D"], cascade.dtype = "f32", cascade.name = "X", cascade.role = "input"}) -> (tensor<4x8xf32> {cascade.name = "Y"}) attributes {cascade.declarations = ["ranks P=4", "ranks D=8"], cascade.model} {
    %0 = cascade.einsum "Y" ins(%arg0 : tensor<4x8xf32>) -> tensor<4x8xf32> attributes {extents = array<i64: 4, 8>, indices = ["p", "d"]} {
    ^bb0(%arg1: tensor<4x8xf32>):
      %1 = cascade.read %arg1 {map = #map} : tensor<4x8xf32>
      %2 = cascade.unary "exp" %1
      %3 = cascade.const 1.000000e+00
      %4 = cascade.binary "add" %2, %3
      cascade.yield %4
    }
    return %0 : tensor<4x8xf32>
  }

// -----

// A contraction without kernels: the output is zeroed, then accumulated
// with the reduction over k outside the output's last index j (j innermost:
// contiguous rows of B and C).
#map = affine_map<(d0, d1, d2) -> (d0, d2)>
#map1 = affine_map<(d0, d1, d2) -> (d2, d1)>
// CHECK-LABEL: func.func @mm2
// CHECK: memref.store %{{.*}}, %[[C:.*]][%{{.*}}, %{{.*}}] : memref<8x8xf32>
// CHECK: scf.for %[[I:.*]] = %{{.*}} to %c8
// CHECK: scf.for %[[K:.*]] = %{{.*}} to %c4
// CHECK: scf.for %[[J:.*]] = %{{.*}} to %c8
// CHECK: memref.load %{{.*}}[%[[I]], %[[K]]] : memref<8x4xf32>
// CHECK: memref.load %{{.*}}[%[[K]], %[[J]]] : memref<4x8xf32>
// CHECK: arith.mulf
// CHECK: arith.addf
// CHECK: memref.store %{{.*}}, %{{.*}}[%[[I]], %[[J]]] : memref<8x8xf32>
  func.func @mm2(%arg0: tensor<8x4xf32> {cascade.dims = ["I", "K"], cascade.dtype = "f32", cascade.name = "A", cascade.role = "input"}, %arg1: tensor<4x8xf32> {cascade.dims = ["K", "J"], cascade.dtype = "f32", cascade.name = "B", cascade.role = "input"}) -> (tensor<8x8xf32> {cascade.name = "C"}) attributes {cascade.declarations = ["ranks I=8", "ranks J=8", "ranks K=4"], cascade.model} {
    %0 = cascade.einsum "C" ins(%arg0, %arg1 : tensor<8x4xf32>, tensor<4x8xf32>) -> tensor<8x8xf32> attributes {extents = array<i64: 8, 8, 4>, indices = ["i", "j", "k"]} {
    ^bb0(%arg2: tensor<8x4xf32>, %arg3: tensor<4x8xf32>):
      %1 = cascade.read %arg2 {map = #map} : tensor<8x4xf32>
      %2 = cascade.read %arg3 {map = #map1} : tensor<4x8xf32>
      %3 = cascade.binary "mul" %1, %2
      cascade.yield %3
    }
    return %0 : tensor<8x8xf32>
  }
