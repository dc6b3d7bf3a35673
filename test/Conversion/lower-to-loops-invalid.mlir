// RUN: cascade-opt %s -verify-diagnostics -cascade-lower-to-loops='k-unroll=0' -o /dev/null

// expected-error@+1 {{cascade-lower-to-loops: k-unroll must be positive}}
module {
}
