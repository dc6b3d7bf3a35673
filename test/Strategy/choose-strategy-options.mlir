// RUN: cascade-opt %s -verify-diagnostics -cascade-choose-strategy='l2-bytes=0' -o /dev/null

// expected-error@+1 {{cascade-choose-strategy: l2-bytes must be positive}}
module {
}
