// RUN: cascade-opt %s -split-input-file -verify-diagnostics -cascade-one-pass='tile=4' | FileCheck %s
// RUN: cascade-opt %s -split-input-file -verify-diagnostics -cascade-one-pass='rank=F' | FileCheck %s --check-prefix=OTHER

// The 3-pass softmax over m becomes the 1-pass cascade: M split into
// M1=2 tiles of M0=4, running max RM, denominator RD and numerator RNV as
// recurrences over m1 (positions 0..2), AV from their last positions.
// CHECK-LABEL: func.func @att
// CHECK: cascade.einsum "AV_QK_T" {{.*}} -> tensor<2x4x8xf32> attributes {extents = array<i64: 2, 4, 8, 4>, indices = ["m1", "m0", "p", "e"]}
// CHECK: cascade.einsum "AV_LM" {{.*}}cascade.masked_step_identity, cascade.relaxed_max{{.*}} reduction = "max"
// CHECK: cascade.einsum "AV_RM" {{.*}} init({{.*}}) -> tensor<3x8xf32> {{.*}} iterative = 0 : i64
// CHECK: cascade.einsum "AV_RD" {{.*}} init({{.*}}) -> tensor<3x8xf32> {{.*}} iterative = 0 : i64
// CHECK: cascade.einsum "AV_RNV" {{.*}} init({{.*}}) -> tensor<3x4x8xf32> {{.*}} iterative = 0 : i64
// CHECK: %[[AV:.*]] = cascade.einsum "AV" {{.*}} -> tensor<4x8xf32>
// CHECK-NOT: cascade.einsum "GM"
// CHECK: return %[[AV]]
// No softmax over F: nothing to rewrite.
// OTHER-LABEL: func.func @att
// OTHER: cascade.einsum "GM"
// OTHER-NOT: AV_RM
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

// A model without a softmax is unchanged.
// CHECK-LABEL: func.func @mm
// CHECK-NOT: AV_
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

