// RUN: cascade-opt %s -split-input-file -cascade-orient-contractions | FileCheck %s

// A small activation times a large weight read along its rows (W[n,k]):
// computed transposed (C_T[n,p], the weight's rows become the vector lanes),
// then copied back to C[p,n].
#map = affine_map<(d0, d1, d2) -> (d0, d2)>
#map1 = affine_map<(d0, d1, d2) -> (d1, d2)>
// CHECK-LABEL: func.func @linear
// CHECK: %[[T:.*]] = cascade.einsum "C_T" ins(%arg0, %arg1 : tensor<16x64xf32>, tensor<256x64xf32>) -> tensor<256x16xf32>
// CHECK-SAME: indices = ["n", "p", "k"]
// CHECK: %[[C:.*]] = cascade.einsum "C" ins(%[[T]] : tensor<256x16xf32>) -> tensor<16x256xf32>
// CHECK: return %[[C]]
  func.func @linear(%arg0: tensor<16x64xf32> {cascade.dims = ["P", "K"], cascade.dtype = "f32", cascade.name = "X", cascade.role = "input"}, %arg1: tensor<256x64xf32> {cascade.dims = ["N", "K"], cascade.dtype = "f32", cascade.key = "w", cascade.name = "W", cascade.role = "weight"}) -> (tensor<16x256xf32> {cascade.name = "C"}) attributes {cascade.declarations = ["ranks P=16", "ranks K=64", "ranks N=256"], cascade.model} {
    %0 = cascade.einsum "C" ins(%arg0, %arg1 : tensor<16x64xf32>, tensor<256x64xf32>) -> tensor<16x256xf32> attributes {extents = array<i64: 16, 256, 64>, indices = ["p", "n", "k"]} {
    ^bb0(%arg2: tensor<16x64xf32>, %arg3: tensor<256x64xf32>):
      %1 = cascade.read %arg2 {map = #map} : tensor<16x64xf32>
      %2 = cascade.read %arg3 {map = #map1} : tensor<256x64xf32>
      %3 = cascade.binary "mul" %1, %2
      cascade.yield %3
    }
    return %0 : tensor<16x256xf32>
  }

// -----

// A weight already laid out along the output (B[k,j]): unchanged.
// CHECK-LABEL: func.func @mm
// CHECK: cascade.einsum "C" ins(%arg0, %arg1
// CHECK-NOT: _T
func.func @mm(%a: tensor<16x8xf32> {cascade.name = "A", cascade.role = "input", cascade.dims = ["I", "K"], cascade.dtype = "f32"},
              %b: tensor<8x4xf32> {cascade.name = "B", cascade.role = "weight", cascade.dims = ["K", "J"], cascade.dtype = "f32", cascade.key = "b"})
    -> (tensor<16x4xf32> {cascade.name = "C"}) attributes {cascade.model} {
  %0 = cascade.einsum "C" ins(%a, %b : tensor<16x8xf32>, tensor<8x4xf32>) -> tensor<16x4xf32> attributes {extents = array<i64: 16, 4, 8>, indices = ["i", "j", "k"]} {
  ^bb0(%x: tensor<16x8xf32>, %y: tensor<8x4xf32>):
    %u = cascade.read %x {map = affine_map<(d0, d1, d2) -> (d0, d2)>} : tensor<16x8xf32>
    %w = cascade.read %y {map = affine_map<(d0, d1, d2) -> (d2, d1)>} : tensor<8x4xf32>
    %z = cascade.binary "mul" %u, %w
    cascade.yield %z
  }
  return %0 : tensor<16x4xf32>
}
