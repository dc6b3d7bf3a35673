// RUN: cascade-opt %s -verify-diagnostics -cascade-one-pass='tile=0' -o /dev/null

// A tile of 0 is a located error, not a crash.
// expected-error@+1 {{cascade-one-pass: tile must be positive}}
module {
}
