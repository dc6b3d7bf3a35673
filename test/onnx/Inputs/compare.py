#!/usr/bin/python3
"""compare.py GOT.npy WANT.npy [TOL] [--reshape]: the norm-wise relative
error of GOT against WANT (LANGUAGE.md section 8); exits 1 over TOL
(default 1e-4) or when the shapes differ (with --reshape: the element
counts; an imported .ein may hold an output split further)."""
import sys

import numpy as np

args = [a for a in sys.argv[1:] if a != "--reshape"]
got, want = np.load(args[0]), np.load(args[1])
tol = float(args[2]) if len(args) > 2 else 1e-4
if "--reshape" in sys.argv and got.size == want.size:
    got = got.reshape(want.shape)
if got.shape != want.shape:
    print(f"shape {got.shape} != {want.shape}")
    sys.exit(1)
w = want.astype(np.float64)
err = np.linalg.norm(got.astype(np.float64) - w) / max(np.linalg.norm(w), 1e-30)
print(f"rel_err={err:.3e} {'ok' if err <= tol else 'FAIL'}")
sys.exit(0 if err <= tol else 1)
