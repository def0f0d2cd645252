#!/usr/bin/env python3
"""The training step's GEMMs as the numpy peer (w2_numpy.py) runs them, with what follows each product:
  fwd  : z = h @ W; z += b; np.maximum(z, 0, out=z)       (forward of a ReLU layer)
  bwdX : d = d @ W.T; d *= acts > 0                        (backward deltas through ReLU)
mlpstream fuses the bias + ReLU and the ReLU' into the GEMM's store, so bench/gemm.mjs compares these
sequences with its fused products. Written for this project's bench (not one of the shared peer scripts);
the expressions are copied from w2_numpy.py. GFLOP/s counts 2mnk only, as W1 does.

  env -u OPENBLAS_CORETYPE -u OPENBLAS_L2_SIZE python3 w1_fused_numpy.py --threads 1 [--reps 7]
Output: CSV system,threads,case,op,m,n,k,gflops_median,gflops_min,gflops_max,calls
"""
import argparse
import os

ap = argparse.ArgumentParser()
ap.add_argument("--threads", type=int, default=1)
ap.add_argument("--reps", type=int, default=7)
args = ap.parse_args()
os.environ["OPENBLAS_NUM_THREADS"] = str(args.threads)
os.environ["OMP_NUM_THREADS"] = str(args.threads)

import time  # noqa: E402

import numpy as np  # noqa: E402

rng = np.random.default_rng(42)
f32 = np.float32
print("system,threads,case,op,m,n,k,gflops_median,gflops_min,gflops_max,calls")
for b, i, o in ((128, 784, 256), (128, 256, 128), (128, 128, 10)):
    h = rng.random((b, i), dtype=f32) - 0.5
    W = rng.random((i, o), dtype=f32) - 0.5
    bias = rng.random(o, dtype=f32) - 0.5
    dY = rng.random((b, o), dtype=f32) - 0.5
    acts = np.maximum(rng.random((b, i), dtype=f32) - 0.5, 0)

    def fwd():
        z = h @ W
        z += bias
        np.maximum(z, 0, out=z)
        return z

    def bwdx():
        d = dY @ W.T
        d *= acts > 0
        return d

    for name, op, m, n, k, fn in ((f"mlp{b}x{i}x{o}_fwd", "NN", b, o, i, fwd), (f"mlp{b}x{i}x{o}_bwdX", "NT", b, i, o, bwdx)):
        fn()
        flop = 2.0 * m * n * k
        calls = 1
        while True:
            t0 = time.perf_counter()
            for _ in range(calls):
                fn()
            dt = time.perf_counter() - t0
            if dt > 0.05:
                break
            calls *= 10 if dt < 0.005 else 2
        g = []
        for _ in range(args.reps):
            t0 = time.perf_counter()
            for _ in range(calls):
                fn()
            g.append(flop * calls / (time.perf_counter() - t0) / 1e9)
        g.sort()
        print(f"numpy{np.__version__},{args.threads},{name},{op},{m},{n},{k},{np.median(g):.2f},{g[0]:.2f},{g[-1]:.2f},{calls}", flush=True)
