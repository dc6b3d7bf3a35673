// RUN: cascade-opt %s -split-input-file -cascade-choose-strategy='registers=16' | FileCheck %s --check-prefix=STRATEGY
// RUN: cascade-opt %s -split-input-file -cascade-lower-to-loops | FileCheck %s --check-prefix=LOOPS

// The strategy gives a GEMM whose columns are a multiple of 16 lanes the
// broadcast micro-kernel, 6 rows x 2 vectors of 8, on the thread pool.
// STRATEGY-LABEL: func.func @gemm
// STRATEGY: cascade.einsum "C"
// STRATEGY-SAME: cascade.lowering = #cascade.lowering<execution = kernel, parallel = true, kernel = broadcast, register_tile = [6, 2, 8]>
// Without a configuration the lowering asks the strategy: the kernel.
// LOOPS-LABEL: func.func @gemm
// LOOPS: arith.mulf {{.*}} : vector<8xf32>
#map = affine_map<(d0, d1, d2) -> (d0, d2)>
#map1 = affine_map<(d0, d1, d2) -> (d2, d1)>
func.func @gemm(%arg0: tensor<12x4xf32> {cascade.dims = ["I", "K"], cascade.dtype = "f32", cascade.name = "A", cascade.role = "input"}, %arg1: tensor<4x16xf32> {cascade.dims = ["K", "J"], cascade.dtype = "f32", cascade.name = "B", cascade.role = "input"}) -> (tensor<12x16xf32> {cascade.name = "C"}) attributes {cascade.declarations = ["ranks I=12", "ranks J=16", "ranks K=4"], cascade.model} {
  %0 = cascade.einsum "C" ins(%arg0, %arg1 : tensor<12x4xf32>, tensor<4x16xf32>) -> tensor<12x16xf32> attributes {extents = array<i64: 12, 16, 4>, indices = ["i", "j", "k"]} {
  ^bb0(%arg2: tensor<12x4xf32>, %arg3: tensor<4x16xf32>):
    %1 = cascade.read %arg2 {map = #map} : tensor<12x4xf32>
    %2 = cascade.read %arg3 {map = #map1} : tensor<4x16xf32>
    %3 = cascade.binary "mul" %1, %2
    cascade.yield %3
  }
  return %0 : tensor<12x16xf32>
}

// -----

// The lowering carries out a configuration it is given and decides
// nothing: the same GEMM configured as a nest gets scalar loops, no
// kernel, and the strategy leaves a configured function alone only through
// the lowering (cascade-choose-strategy itself always decides anew).
// STRATEGY-LABEL: func.func @configured
// STRATEGY: execution = kernel
// LOOPS-LABEL: func.func @configured
// LOOPS-NOT: vector<
// LOOPS: scf.for
// LOOPS: arith.mulf %{{.*}}, %{{.*}} : f32
// LOOPS-NOT: vector<
// LOOPS: return
#map = affine_map<(d0, d1, d2) -> (d0, d2)>
#map1 = affine_map<(d0, d1, d2) -> (d2, d1)>
func.func @configured(%arg0: tensor<12x4xf32> {cascade.dims = ["I", "K"], cascade.dtype = "f32", cascade.name = "A", cascade.role = "input"}, %arg1: tensor<4x16xf32> {cascade.dims = ["K", "J"], cascade.dtype = "f32", cascade.name = "B", cascade.role = "input"}) -> (tensor<12x16xf32> {cascade.name = "C"}) attributes {cascade.declarations = ["ranks I=12", "ranks J=16", "ranks K=4"], cascade.model} {
  %0 = cascade.einsum "C" ins(%arg0, %arg1 : tensor<12x4xf32>, tensor<4x16xf32>) -> tensor<12x16xf32> attributes {extents = array<i64: 12, 16, 4>, indices = ["i", "j", "k"], cascade.lowering = #cascade.lowering<execution = nest>} {
  ^bb0(%arg2: tensor<12x4xf32>, %arg3: tensor<4x16xf32>):
    %1 = cascade.read %arg2 {map = #map} : tensor<12x4xf32>
    %2 = cascade.read %arg3 {map = #map1} : tensor<4x16xf32>
    %3 = cascade.binary "mul" %1, %2
    cascade.yield %3
  }
  return %0 : tensor<12x16xf32>
}

// -----

// The kernel takes its register tile from the configuration: 4 rows x 1
// vector of 8 lanes, so 2 column blocks of 8 and 3 row blocks of 4 (the
// strategy's own choice, [6, 2, 8], makes 1 block of 16 columns and 2 of 6
// rows).
// STRATEGY-LABEL: func.func @tile4x1
// STRATEGY: register_tile = [6, 2, 8]
// LOOPS-LABEL: func.func @tile4x1
// LOOPS: scf.for %{{.*}} = %c0 to %c2 step
// LOOPS: scf.for %{{.*}} = %c0{{.*}} to %c3 step
// LOOPS: arith.muli %{{.*}}, %c4 : index
#map = affine_map<(d0, d1, d2) -> (d0, d2)>
#map1 = affine_map<(d0, d1, d2) -> (d2, d1)>
func.func @tile4x1(%arg0: tensor<12x4xf32> {cascade.dims = ["I", "K"], cascade.dtype = "f32", cascade.name = "A", cascade.role = "input"}, %arg1: tensor<4x16xf32> {cascade.dims = ["K", "J"], cascade.dtype = "f32", cascade.name = "B", cascade.role = "input"}) -> (tensor<12x16xf32> {cascade.name = "C"}) attributes {cascade.declarations = ["ranks I=12", "ranks J=16", "ranks K=4"], cascade.model} {
  %0 = cascade.einsum "C" ins(%arg0, %arg1 : tensor<12x4xf32>, tensor<4x16xf32>) -> tensor<12x16xf32> attributes {extents = array<i64: 12, 16, 4>, indices = ["i", "j", "k"], cascade.lowering = #cascade.lowering<execution = kernel, kernel = broadcast, register_tile = [4, 1, 8]>} {
  ^bb0(%arg2: tensor<12x4xf32>, %arg3: tensor<4x16xf32>):
    %1 = cascade.read %arg2 {map = #map} : tensor<12x4xf32>
    %2 = cascade.read %arg3 {map = #map1} : tensor<4x16xf32>
    %3 = cascade.binary "mul" %1, %2
    cascade.yield %3
  }
  return %0 : tensor<12x16xf32>
}
