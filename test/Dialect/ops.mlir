// The printed form of the dialect: parse, verify and print.
// RUN: %cascade opt %s --emit=mlir | FileCheck %s

// CHECK-DAG: #[[QMAP:.*]] = affine_map<(d0, d1, d2) -> (d2, d1)>
// CHECK-DAG: #[[LHS:.*]] = affine_map<(d0, d1) -> (d0)>
// CHECK-DAG: #[[RHS:.*]] = affine_map<(d0, d1) -> (d1)>
// CHECK-LABEL: func.func @attention
// CHECK: cascade.einsum "QK" ins(%{{.*}}, %{{.*}} : tensor<4x8xf32>, tensor<4x8xf32>) -> tensor<8x8xf32>
// CHECK-SAME: extents = array<i64: 8, 8, 4>
// CHECK: cascade.read %{{.*}} {map = #[[QMAP]]} : tensor<4x8xf32>
// CHECK: cascade.where "le" #[[LHS]], #[[RHS]]
// CHECK: cascade.einsum "RM" ins(%{{.*}} : tensor<8x8xf32>) init(%{{.*}} : tensor<8xf32>) -> tensor<3x8xf32>
// CHECK-SAME: iterative = 0 : i64
func.func @attention(%q: tensor<4x8xf32> {cascade.name = "Q", cascade.role = "input", cascade.dims = ["E", "P"], cascade.dtype = "f32"},
                     %k: tensor<4x8xf32> {cascade.name = "K", cascade.role = "input", cascade.dims = ["E", "M"], cascade.dtype = "f32"})
    -> (tensor<8x8xf32> {cascade.name = "MS"}, tensor<3x8xf32> {cascade.name = "RM"}) attributes {cascade.model} {
  %qk = cascade.einsum "QK" ins(%q, %k : tensor<4x8xf32>, tensor<4x8xf32>) -> tensor<8x8xf32>
      attributes {extents = array<i64: 8, 8, 4>, indices = ["m", "p", "e"]} {
  ^bb0(%Q: tensor<4x8xf32>, %K: tensor<4x8xf32>):
    %0 = cascade.read %Q {map = affine_map<(d0, d1, d2) -> (d2, d1)>} : tensor<4x8xf32>
    %1 = cascade.read %K {map = affine_map<(d0, d1, d2) -> (d2, d0)>} : tensor<4x8xf32>
    %2 = cascade.binary "mul" %0, %1
    cascade.yield %2
  }
  %ms = cascade.einsum "MS" ins(%qk : tensor<8x8xf32>) -> tensor<8x8xf32>
      attributes {extents = array<i64: 8, 8>, indices = ["m", "p"]} {
  ^bb0(%S: tensor<8x8xf32>):
    %0 = cascade.where "le" affine_map<(d0, d1) -> (d0)>, affine_map<(d0, d1) -> (d1)> {
      %1 = cascade.read %S {map = affine_map<(d0, d1) -> (d0, d1)>} : tensor<8x8xf32>
      cascade.yield %1
    } else {
      %2 = cascade.const 0xFFF0000000000000
      cascade.yield %2
    }
    cascade.yield %0
  }
  %init = cascade.einsum "RM" -> tensor<8xf32> attributes {extents = array<i64: 8>, indices = ["p"]} {
    %0 = cascade.const 0.0
    cascade.yield %0
  }
  %rm = cascade.einsum "RM" ins(%ms : tensor<8x8xf32>) init(%init : tensor<8xf32>) -> tensor<3x8xf32>
      attributes {extents = array<i64: 2, 8>, indices = ["m1", "p"], iterative = 0 : i64} {
  ^bb0(%S: tensor<8x8xf32>, %self: tensor<3x8xf32>):
    %0 = cascade.read %self {map = affine_map<(d0, d1) -> (d0, d1)>} : tensor<3x8xf32>
    %1 = cascade.read %S {map = affine_map<(d0, d1) -> (d0 * 4, d1)>} : tensor<8x8xf32>
    %2 = cascade.binary "max" %0, %1
    cascade.yield %2
  }
  return %ms, %rm : tensor<8x8xf32>, tensor<3x8xf32>
}
