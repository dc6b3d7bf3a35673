// RUN: cascade-opt %s -split-input-file -cascade-outline-layers | FileCheck %s
// RUN: cascade-opt %s -split-input-file -cascade-outline-layers='min-calls=3' | FileCheck %s --check-prefix=INLINE

// Two calls of the same layer (cascade.call "scale#0", "scale#1") become
// two calls of one private function.
#map = affine_map<(d0) -> (d0)>
// CHECK-LABEL: func.func @layers
// CHECK: %[[A:.*]] = call @layers_scale(%arg0) : (tensor<4xf32>) -> tensor<4xf32>
// CHECK: %[[B:.*]] = call @layers_scale(%[[A]])
// CHECK: return %[[B]]
// CHECK: func.func private @layers_scale(%arg0: tensor<4xf32>) -> tensor<4xf32> attributes {cascade.layer = "scale"}
// CHECK: cascade.einsum
// CHECK-NOT: cascade.call
// With min-calls=3, two calls stay inline.
// INLINE-LABEL: func.func @layers
// INLINE-NOT: call @
// INLINE: cascade.einsum "X1"
// INLINE: cascade.einsum "X2"
  func.func @layers(%arg0: tensor<4xf32> {cascade.dims = ["D"], cascade.dtype = "f32", cascade.name = "X", cascade.role = "input"}) -> (tensor<4xf32> {cascade.name = "X2"}) attributes {cascade.declarations = ["ranks D=4"], cascade.model} {
    %0 = cascade.einsum "X1" ins(%arg0 : tensor<4xf32>) -> tensor<4xf32> attributes {cascade.call = "scale#0", extents = array<i64: 4>, indices = ["d"]} {
    ^bb0(%arg1: tensor<4xf32>):
      %2 = cascade.read %arg1 {map = #map} : tensor<4xf32>
      %3 = cascade.const 2.000000e+00
      %4 = cascade.binary "mul" %2, %3
      cascade.yield %4
    }
    %1 = cascade.einsum "X2" ins(%0 : tensor<4xf32>) -> tensor<4xf32> attributes {cascade.call = "scale#1", extents = array<i64: 4>, indices = ["d"]} {
    ^bb0(%arg1: tensor<4xf32>):
      %2 = cascade.read %arg1 {map = #map} : tensor<4xf32>
      %3 = cascade.const 2.000000e+00
      %4 = cascade.binary "mul" %2, %3
      cascade.yield %4
    }
    return %1 : tensor<4xf32>
  }
