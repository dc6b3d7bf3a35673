// RUN: cascade-opt %s -verify-diagnostics -pass-pipeline='builtin.module(func.func(cascade-gpu-register-tile{tile=9}))' -o /dev/null

// expected-error@+1 {{register tile must be in [1, 8], not 9}}
func.func @f() {
  return
}
