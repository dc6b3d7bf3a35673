// RUN: cascade-opt %s -split-input-file -verify-diagnostics -cascade-lower-to-loops -o /dev/null
// RUN: not cascade-opt %s -cascade-choose-strategy='l2-bytes=0' -o /dev/null 2>&1 | FileCheck %s --check-prefix=L2
// L2: error: cascade-choose-strategy: l2-bytes must be positive

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
