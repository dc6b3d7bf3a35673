// RUN: cascade-opt %s -verify-diagnostics -pass-pipeline='builtin.module(func.func(cascade-gpu-distribute{block-size=0}))' -o /dev/null

// expected-error@+1 {{block size must be in [1, 1024], not 0}}
func.func @f() {
  return
}
