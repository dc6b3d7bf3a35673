// RUN: cascade-opt %s -split-input-file -cascade-pass-count | FileCheck %s

// FuseMax's count for the 3-pass softmax attention: 3 passes over M (GM
// before SN, SD before A), 1 over every other rank.
// CHECK-LABEL: func.func @att
// CHECK-SAME: cascade.passes = {E = 1 : i64, F = 1 : i64, M = 3 : i64, P = 1 : i64}
func.func @att(%q: tensor<4x8xf32> {cascade.name = "Q", cascade.role = "input", cascade.dims = ["E", "P"], cascade.dtype = "f32"},
               %k: tensor<4x8xf32> {cascade.name = "K", cascade.role = "input", cascade.dims = ["E", "M"], cascade.dtype = "f32"},
               %v: tensor<4x8xf32> {cascade.name = "V", cascade.role = "input", cascade.dims = ["F", "M"], cascade.dtype = "f32"})
    -> (tensor<4x8xf32> {cascade.name = "AV"}) attributes {cascade.model} {
  %0 = cascade.einsum "QK" ins(%q, %k : tensor<4x8xf32>, tensor<4x8xf32>) -> tensor<8x8xf32> attributes {extents = array<i64: 8, 8, 4>, indices = ["m", "p", "e"]} {
  ^bb0(%a: tensor<4x8xf32>, %b: tensor<4x8xf32>):
    %x = cascade.read %a {map = affine_map<(d0, d1, d2) -> (d2, d1)>} : tensor<4x8xf32>
    %y = cascade.read %b {map = affine_map<(d0, d1, d2) -> (d2, d0)>} : tensor<4x8xf32>
    %z = cascade.binary "mul" %x, %y
    cascade.yield %z
  }
  %1 = cascade.einsum "GM" ins(%0 : tensor<8x8xf32>) -> tensor<8xf32> attributes {extents = array<i64: 8, 8>, indices = ["p", "m"], reduction = "max"} {
  ^bb0(%a: tensor<8x8xf32>):
    %x = cascade.read %a {map = affine_map<(d0, d1) -> (d1, d0)>} : tensor<8x8xf32>
    cascade.yield %x
  }
  %2 = cascade.einsum "SN" ins(%0, %1 : tensor<8x8xf32>, tensor<8xf32>) -> tensor<8x8xf32> attributes {extents = array<i64: 8, 8>, indices = ["m", "p"]} {
  ^bb0(%a: tensor<8x8xf32>, %b: tensor<8xf32>):
    %x = cascade.read %a {map = affine_map<(d0, d1) -> (d0, d1)>} : tensor<8x8xf32>
    %y = cascade.read %b {map = affine_map<(d0, d1) -> (d1)>} : tensor<8xf32>
    %s = cascade.binary "sub" %x, %y
    %e = cascade.unary "exp" %s
    cascade.yield %e
  }
  %3 = cascade.einsum "SD" ins(%2 : tensor<8x8xf32>) -> tensor<8xf32> attributes {extents = array<i64: 8, 8>, indices = ["p", "m"]} {
  ^bb0(%a: tensor<8x8xf32>):
    %x = cascade.read %a {map = affine_map<(d0, d1) -> (d1, d0)>} : tensor<8x8xf32>
    cascade.yield %x
  }
  %4 = cascade.einsum "A" ins(%2, %3 : tensor<8x8xf32>, tensor<8xf32>) -> tensor<8x8xf32> attributes {extents = array<i64: 8, 8>, indices = ["m", "p"]} {
  ^bb0(%a: tensor<8x8xf32>, %b: tensor<8xf32>):
    %x = cascade.read %a {map = affine_map<(d0, d1) -> (d0, d1)>} : tensor<8x8xf32>
    %y = cascade.read %b {map = affine_map<(d0, d1) -> (d1)>} : tensor<8xf32>
    %d = cascade.binary "div" %x, %y
    cascade.yield %d
  }
  %5 = cascade.einsum "AV" ins(%4, %v : tensor<8x8xf32>, tensor<4x8xf32>) -> tensor<4x8xf32> attributes {extents = array<i64: 4, 8, 8>, indices = ["f", "p", "m"]} {
  ^bb0(%a: tensor<8x8xf32>, %b: tensor<4x8xf32>):
    %x = cascade.read %a {map = affine_map<(d0, d1, d2) -> (d2, d1)>} : tensor<8x8xf32>
    %y = cascade.read %b {map = affine_map<(d0, d1, d2) -> (d0, d2)>} : tensor<4x8xf32>
    %z = cascade.binary "mul" %x, %y
    cascade.yield %z
  }
  return %5 : tensor<4x8xf32>
}

// -----

// CHECK-LABEL: func.func @mm
// CHECK-SAME: cascade.passes = {I = 1 : i64, J = 1 : i64, K = 1 : i64}
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
