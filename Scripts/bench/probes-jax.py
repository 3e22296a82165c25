#!/usr/bin/env python3
"""The JAX peer of `minima bench probes`: the same network, data and direction (read from the
.npz files Minima exported), timed in the same run on one thread, and Minima's H·v checked.

For each n1 it times a jitted gradient and a jitted Hessian-vector product (jax.jvp of jax.grad:
forward-over-reverse, as Minima's R-operator) of the mean softmax cross-entropy of
100 → n1 → 10 ReLU on the exported samples, and prints JSON on stdout.
Usage: probes-jax.py DIR WIDTHS REPEATS
"""
import json
import os
import sys
import time

# One thread, as Minima's cell: XLA's CPU client and Eigen both single-threaded.
os.environ.setdefault("XLA_FLAGS", "--xla_cpu_multi_thread_eigen=false intra_op_parallelism_threads=1")
os.environ.setdefault("JAX_PLATFORMS", "cpu")

import jax  # noqa: E402
import jax.numpy as jnp  # noqa: E402
import numpy as np  # noqa: E402


def main():
    directory, widths, repeats = sys.argv[1], [int(w) for w in sys.argv[2].split(",")], int(sys.argv[3])
    cells = []
    for n1 in widths:
        z = np.load(f"{directory}/n1-{n1}.npz")
        x = jnp.asarray(z["features"])
        y = jnp.asarray(z["labels"].astype(np.int32))
        shapes = [(z[f"final/layer{l}/weight"].shape, z[f"final/layer{l}/bias"].shape) for l in range(2)]
        flat = np.concatenate([np.concatenate([z[f"final/layer{l}/weight"].ravel(), z[f"final/layer{l}/bias"]]) for l in range(2)])

        def unflatten(theta):
            out, k = [], 0
            for (ws, bs) in shapes:
                w = theta[k:k + ws[0] * ws[1]].reshape(ws)
                k += ws[0] * ws[1]
                b = theta[k:k + bs[0]]
                k += bs[0]
                out.append((w, b))
            return out

        def loss(theta):
            (w0, b0), (w1, b1) = unflatten(theta)
            h = jax.nn.relu(x @ w0.T + b0)
            logits = h @ w1.T + b1
            return jnp.mean(jax.nn.logsumexp(logits, axis=1) - jnp.take_along_axis(logits, y[:, None], axis=1)[:, 0])

        grad = jax.jit(jax.grad(loss))
        hvp = jax.jit(lambda theta, v: jax.jvp(jax.grad(loss), (theta,), (v,))[1])
        theta = jnp.asarray(flat)
        v = jnp.asarray(z["direction"])

        def timed(f):
            f().block_until_ready()
            times = []
            for _ in range(repeats):
                start = time.perf_counter()
                f().block_until_ready()
                times.append(time.perf_counter() - start)
            return sorted(times)

        g_times = timed(lambda: grad(theta))
        h_times = timed(lambda: hvp(theta, v))
        ours = z["product"].astype(np.float64)
        theirs = np.asarray(hvp(theta, v), dtype=np.float64)
        cells.append({
            "n1": n1,
            "gradientSeconds": g_times[repeats // 2],
            "hessianVectorProductSeconds": h_times[repeats // 2],
            "productOverGradient": h_times[repeats // 2] / g_times[repeats // 2],
            "relativeDifferenceOfProducts": float(np.linalg.norm(ours - theirs) / np.linalg.norm(theirs)),
        })
        print(f"jax n1={n1}: gradient {g_times[repeats // 2] * 1000:.2f} ms, H·v {h_times[repeats // 2] * 1000:.2f} ms, "
              f"‖Hv_minima − Hv_jax‖/‖Hv_jax‖ = {cells[-1]['relativeDifferenceOfProducts']:.2e}", file=sys.stderr)
    print(json.dumps({"peer": "jax", "version": jax.__version__, "jit": True, "threads": 1, "cells": cells}))


if __name__ == "__main__":
    main()
