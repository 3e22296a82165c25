#!/usr/bin/env python3
"""The numpy peer of `minima bench spinglass`: the spherical 3-spin glass's energy and gradient
with the full coupling tensor X (Λ³ float32) and numpy.einsum (optimize=True, so BLAS does the
contractions), one thread. Prints JSON on stdout.

    H(w) = Λ^{-1} Σ X_ijk w_i w_j w_k,
    ∂H/∂w = Λ^{-1} (X(·,w,w) + X(w,·,w) + X(w,w,·))

Usage: spinglass-numpy.py SPINS REPEATS   (e.g. 100,250,500 7)
"""
import json
import sys
import time

import numpy as np


def main():
    spins, repeats = [int(n) for n in sys.argv[1].split(",")], int(sys.argv[2])
    rng = np.random.default_rng(1)
    cells = []
    for n in spins:
        x = rng.standard_normal((n, n, n), dtype=np.float32)
        w = rng.standard_normal(n).astype(np.float32)
        w *= np.float32(np.sqrt(n) / np.linalg.norm(w))
        scale = np.float32(1.0 / n)

        def evaluate():
            energy = np.einsum("ijk,i,j,k->", x, w, w, w, optimize=True) * scale
            gradient = (np.einsum("ijk,j,k->i", x, w, w, optimize=True) + np.einsum("ijk,i,k->j", x, w, w, optimize=True)
                        + np.einsum("ijk,i,j->k", x, w, w, optimize=True)) * scale
            return energy, gradient

        evaluate()
        start = time.perf_counter()
        evaluate()
        per_batch = max(1, int(0.2 / max(time.perf_counter() - start, 1e-6)))
        rates = []
        for _ in range(repeats):
            start = time.perf_counter()
            for _ in range(per_batch):
                evaluate()
            rates.append(per_batch / (time.perf_counter() - start))
        rates.sort()
        cells.append({"spins": n, "evaluationsPerSecond": rates[len(rates) // 2], "minimum": rates[0], "maximum": rates[-1]})
        print(f"numpy Λ={n}: {rates[len(rates) // 2]:.1f} evaluations/s", file=sys.stderr)
        del x
    print(json.dumps({"peer": "numpy", "version": np.__version__, "dtype": "float32", "einsum": "optimize=True", "threads": 1, "cells": cells}))


if __name__ == "__main__":
    main()
