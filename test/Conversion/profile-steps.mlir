// RUN: cascade-opt %s -cascade-lower-to-loops='parallel=0 steps=1' -cascade-profile-steps | FileCheck %s
// RUN: cascade-opt %s -cascade-lower-to-loops='parallel=0' -cascade-profile-steps | FileCheck %s --check-prefix=PLAIN

// Each step (here: C's micro-kernel, the row sum S, and Y) is bracketed by
// two clock reads; the difference and one call go to the step's pair of
// counters, in the order the module's cascade.profile_steps lists them
// (with each step's FLOPs: C is 8*16*4 multiply-adds).
// CHECK: module attributes {cascade.profile_steps = [{equations = ["C"], flops = 1024 : i64, function = "p", name = "C"}, {equations = ["S"], flops = 128 : i64, function = "p", name = "S"}, {equations = ["Y"], flops = 256 : i64, function = "p", name = "Y"}]}
// CHECK: llvm.mlir.global internal @__cascade_profile(dense<0> : tensor<6xi64>)
// CHECK: llvm.func @clock_gettime(i32, !llvm.ptr) -> i32
// CHECK: llvm.func internal @__cascade_profile_now() -> i64
// CHECK: llvm.call @clock_gettime
// CHECK-LABEL: func.func @p
// CHECK: %[[T0:.*]] = llvm.call @__cascade_profile_now()
// CHECK-NEXT: memref.alloc() {{.*}} : memref<8x16xf32>
// CHECK: vector.store
// CHECK: %[[T1:.*]] = llvm.call @__cascade_profile_now()
// CHECK: %[[D:.*]] = llvm.sub %[[T1]], %[[T0]] : i64
// CHECK: %[[P0:.*]] = llvm.getelementptr %{{.*}}[0]
// CHECK: llvm.atomicrmw add %[[P0]], %[[D]] monotonic
// CHECK: %[[P1:.*]] = llvm.getelementptr %{{.*}}[1]
// CHECK: llvm.atomicrmw add %[[P1]], %{{.*}} monotonic
// CHECK: llvm.call @__cascade_profile_now()
// CHECK: memref.alloc() {{.*}} : memref<8xf32>
// CHECK: llvm.call @__cascade_profile_now()
// CHECK: llvm.getelementptr %{{.*}}[2]
// CHECK: llvm.getelementptr %{{.*}}[3]
// CHECK: llvm.call @__cascade_profile_now()
// CHECK: memref.store %{{.*}}, %arg2
// CHECK: llvm.call @__cascade_profile_now()
// CHECK: llvm.getelementptr %{{.*}}[4]
// CHECK: llvm.getelementptr %{{.*}}[5]
// CHECK-NEXT: llvm.atomicrmw
// CHECK-NEXT: return
// The tags are gone.
// CHECK-NOT: cascade.step

// Without the lowering's steps option there is nothing to time.
// PLAIN-NOT: __cascade_profile
// PLAIN-NOT: cascade.step

#map = affine_map<(d0, d1, d2) -> (d0, d2)>
#map1 = affine_map<(d0, d1, d2) -> (d2, d1)>
#map2 = affine_map<(d0, d1) -> (d0, d1)>
#map3 = affine_map<(d0, d1) -> (d0)>
module {
  func.func @p(%arg0: tensor<8x4xf32> {cascade.dims = ["M", "K"], cascade.dtype = "f32", cascade.name = "A", cascade.role = "input"}, %arg1: tensor<4x16xf32> {cascade.dims = ["K", "N"], cascade.dtype = "f32", cascade.name = "B", cascade.role = "input"}) -> (tensor<8x16xf32> {cascade.name = "Y"}) attributes {cascade.declarations = ["ranks M=8", "ranks N=16", "ranks K=4"], cascade.model} {
    %0 = cascade.einsum "C" ins(%arg0, %arg1 : tensor<8x4xf32>, tensor<4x16xf32>) -> tensor<8x16xf32> attributes {extents = array<i64: 8, 16, 4>, indices = ["m", "n", "k"]} {
    ^bb0(%arg2: tensor<8x4xf32>, %arg3: tensor<4x16xf32>):
      %3 = cascade.read %arg2 {map = #map} : tensor<8x4xf32>
      %4 = cascade.read %arg3 {map = #map1} : tensor<4x16xf32>
      %5 = cascade.binary "mul" %3, %4
      cascade.yield %5
    }
    %1 = cascade.einsum "S" ins(%0 : tensor<8x16xf32>) -> tensor<8xf32> attributes {extents = array<i64: 8, 16>, indices = ["m", "n"]} {
    ^bb0(%arg2: tensor<8x16xf32>):
      %3 = cascade.read %arg2 {map = #map2} : tensor<8x16xf32>
      cascade.yield %3
    }
    %2 = cascade.einsum "Y" ins(%0, %1 : tensor<8x16xf32>, tensor<8xf32>) -> tensor<8x16xf32> attributes {extents = array<i64: 8, 16>, indices = ["m", "n"]} {
    ^bb0(%arg2: tensor<8x16xf32>, %arg3: tensor<8xf32>):
      %3 = cascade.read %arg2 {map = #map2} : tensor<8x16xf32>
      %4 = cascade.read %arg3 {map = #map3} : tensor<8xf32>
      %5 = cascade.binary "sub" %3, %4
      %6 = cascade.unary "exp" %5
      cascade.yield %6
    }
    return %2 : tensor<8x16xf32>
  }
}
