// RUN: cascade-opt %s -split-input-file -verify-diagnostics -cascade-lower-to-loops -o /dev/null

// A fused group whose shared loop names no rank of its equations.
#map = affine_map<(d0) -> (d0)>
func.func @badshared(%arg0: tensor<8xf32> {cascade.dims = ["I"], cascade.dtype = "f32", cascade.name = "A", cascade.role = "input"}) -> (tensor<8xf32> {cascade.name = "C"}) attributes {cascade.declarations = ["ranks I=8"], cascade.model} {
  // expected-error@+1 {{cascade-lower-to-loops: group 'g' has a shared loop 'Z/4' over no rank of its equations}}
  %0 = cascade.einsum "C" ins(%arg0 : tensor<8xf32>) -> tensor<8xf32> attributes {extents = array<i64: 8>, indices = ["i"], cascade.lowering = #cascade.lowering<execution = scheduled_nest, fused = "g", shared = ["Z/4"]>} {
  ^bb0(%arg1: tensor<8xf32>):
    %1 = cascade.read %arg1 {map = #map} : tensor<8xf32>
    cascade.yield %1
  }
  return %0 : tensor<8xf32>
}

// -----

// A configured register tile that does not fit the contraction.
#map = affine_map<(d0, d1, d2) -> (d0, d2)>
#map1 = affine_map<(d0, d1, d2) -> (d2, d1)>
func.func @badtile(%arg0: tensor<12x4xf32> {cascade.dims = ["I", "K"], cascade.dtype = "f32", cascade.name = "A", cascade.role = "input"}, %arg1: tensor<4x16xf32> {cascade.dims = ["K", "J"], cascade.dtype = "f32", cascade.name = "B", cascade.role = "input"}) -> (tensor<12x16xf32> {cascade.name = "C"}) attributes {cascade.declarations = ["ranks I=12", "ranks J=16", "ranks K=4"], cascade.model} {
  // expected-error@+1 {{cascade-lower-to-loops: the configured broadcast kernel 6x3x8 (kc 0) cannot compute 'C': 3 vector columns of 8 do not divide its 16 columns}}
  %0 = cascade.einsum "C" ins(%arg0, %arg1 : tensor<12x4xf32>, tensor<4x16xf32>) -> tensor<12x16xf32> attributes {extents = array<i64: 12, 16, 4>, indices = ["i", "j", "k"], cascade.lowering = #cascade.lowering<execution = kernel, kernel = broadcast, register_tile = [6, 3, 8]>} {
  ^bb0(%arg2: tensor<12x4xf32>, %arg3: tensor<4x16xf32>):
    %1 = cascade.read %arg2 {map = #map} : tensor<12x4xf32>
    %2 = cascade.read %arg3 {map = #map1} : tensor<4x16xf32>
    %3 = cascade.binary "mul" %1, %2
    cascade.yield %3
  }
  return %0 : tensor<12x16xf32>
}
