// RUN: cascade-opt %s -split-input-file -verify-diagnostics -cascade-lower-to-loops -o /dev/null

// A fused group the strategy would not form (its one equation has no
// schedule, and its shared loop names no rank of it).
#map = affine_map<(d0) -> (d0)>
func.func @badshared(%arg0: tensor<8xf32> {cascade.dims = ["I"], cascade.dtype = "f32", cascade.name = "A", cascade.role = "input"}) -> (tensor<8xf32> {cascade.name = "C"}) attributes {cascade.declarations = ["ranks I=8"], cascade.model} {
  // expected-error@+1 {{cascade-lower-to-loops: the configuration of 'C' puts it in fused group 'g', which the strategy cannot prove legal}}
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

// -----

// A configuration may fuse less than the strategy, never more: an equation
// that is no step of a recurrence group cannot be configured as one.
#map = affine_map<(d0) -> (d0)>
func.func @notsteps(%arg0: tensor<8xf32> {cascade.dims = ["I"], cascade.dtype = "f32", cascade.name = "A", cascade.role = "input"}) -> (tensor<8xf32> {cascade.name = "C"}) attributes {cascade.declarations = ["ranks I=8"], cascade.model} {
  // expected-error@+1 {{cascade-lower-to-loops: the configuration of 'C' puts it in recurrence group 'C.steps', which the strategy cannot prove legal}}
  %0 = cascade.einsum "C" ins(%arg0 : tensor<8xf32>) -> tensor<8xf32> attributes {extents = array<i64: 8>, indices = ["i"], cascade.lowering = #cascade.lowering<execution = nest, steps = "C.steps">} {
  ^bb0(%arg1: tensor<8xf32>):
    %1 = cascade.read %arg1 {map = #map} : tensor<8xf32>
    cascade.yield %1
  }
  return %0 : tensor<8xf32>
}

// -----

// Skipping an equation as a folded init is only for a constant init.
#map = affine_map<(d0) -> (d0)>
func.func @notinit(%arg0: tensor<8xf32> {cascade.dims = ["I"], cascade.dtype = "f32", cascade.name = "A", cascade.role = "input"}) -> (tensor<8xf32> {cascade.name = "C"}) attributes {cascade.declarations = ["ranks I=8"], cascade.model} {
  // expected-error@+1 {{cascade-lower-to-loops: the configuration of 'C' folds it into a recurrence's init copy, but it is not a constant only that recurrence reads}}
  %0 = cascade.einsum "C" ins(%arg0 : tensor<8xf32>) -> tensor<8xf32> attributes {extents = array<i64: 8>, indices = ["i"], cascade.lowering = #cascade.lowering<execution = init_folded>} {
  ^bb0(%arg1: tensor<8xf32>):
    %1 = cascade.read %arg1 {map = #map} : tensor<8xf32>
    cascade.yield %1
  }
  return %0 : tensor<8xf32>
}

// -----

// A consumer that reads the GEMM's result twice cannot be computed in its
// stores.
#map = affine_map<(d0, d1, d2) -> (d0, d2)>
#map1 = affine_map<(d0, d1, d2) -> (d2, d1)>
#map2 = affine_map<(d0, d1) -> (d0, d1)>
func.func @badepilogue(%arg0: tensor<12x4xf32> {cascade.dims = ["I", "K"], cascade.dtype = "f32", cascade.name = "A", cascade.role = "input"}, %arg1: tensor<4x16xf32> {cascade.dims = ["K", "J"], cascade.dtype = "f32", cascade.name = "B", cascade.role = "input"}) -> (tensor<12x16xf32> {cascade.name = "D"}) attributes {cascade.declarations = ["ranks I=12", "ranks J=16", "ranks K=4"], cascade.model} {
  // expected-error@+1 {{cascade-lower-to-loops: the configuration of 'C' computes 'D' in its stores, which the strategy cannot prove legal}}
  %0 = cascade.einsum "C" ins(%arg0, %arg1 : tensor<12x4xf32>, tensor<4x16xf32>) -> tensor<12x16xf32> attributes {extents = array<i64: 12, 16, 4>, indices = ["i", "j", "k"], cascade.lowering = #cascade.lowering<execution = kernel, epilogue = "D">} {
  ^bb0(%arg2: tensor<12x4xf32>, %arg3: tensor<4x16xf32>):
    %1 = cascade.read %arg2 {map = #map} : tensor<12x4xf32>
    %2 = cascade.read %arg3 {map = #map1} : tensor<4x16xf32>
    %3 = cascade.binary "mul" %1, %2
    cascade.yield %3
  }
  %4 = cascade.einsum "D" ins(%0 : tensor<12x16xf32>) -> tensor<12x16xf32> attributes {extents = array<i64: 12, 16>, indices = ["i", "j"], cascade.lowering = #cascade.lowering<execution = in_producer>} {
  ^bb0(%arg4: tensor<12x16xf32>):
    %5 = cascade.read %arg4 {map = #map2} : tensor<12x16xf32>
    %6 = cascade.read %arg4 {map = #map2} : tensor<12x16xf32>
    %7 = cascade.binary "mul" %5, %6
    cascade.yield %7
  }
  return %4 : tensor<12x16xf32>
}

// -----

// A parallel nest must run its outer loop over an output index: a sum to a
// scalar has only its reduced loop.
#map = affine_map<(d0) -> (d0)>
func.func @sum(%arg0: tensor<8xf32> {cascade.dims = ["I"], cascade.dtype = "f32", cascade.name = "A", cascade.role = "input"}) -> (tensor<f32> {cascade.name = "S"}) attributes {cascade.declarations = ["ranks I=8"], cascade.model} {
  // expected-error@+1 {{cascade-lower-to-loops: the configuration of 'S' runs its outer loop in parallel, which is not an output loop of its own}}
  %0 = cascade.einsum "S" ins(%arg0 : tensor<8xf32>) -> tensor<f32> attributes {extents = array<i64: 8>, indices = ["i"], cascade.lowering = #cascade.lowering<execution = nest, parallel = true>} {
  ^bb0(%arg1: tensor<8xf32>):
    %1 = cascade.read %arg1 {map = #map} : tensor<8xf32>
    cascade.yield %1
  }
  return %0 : tensor<f32>
}
