#!/usr/bin/env python3
"""The peers of `minima bench core`, timed in the same run on one thread: one epoch of plain
SGD on 100 → n1 → 10 ReLU with softmax cross-entropy, 60,000 samples, for each (n1, batch) cell.

- JAX: the whole epoch is one jitted `lax.scan` over the minibatches (the update included), so
  Python costs nothing per step; XLA and Eigen single-threaded.
- numpy: the same step in numpy (OpenBLAS, one thread, its own core type), a Python loop over
  minibatches. At batch 1 and 10 an epoch takes long in Python, so it is timed on the first
  --numpy-samples samples and reported per sample.

The data are random float32 features and labels of mnist10's shape (speed does not depend on the
values). Prints JSON on stdout: samples/s per cell and peer (median of REPEATS).
Usage: core-peers.py WIDTHS BATCHES REPEATS [NUMPY_SAMPLES]
"""
import json
import os
import sys
import time

os.environ.setdefault("XLA_FLAGS", "--xla_cpu_multi_thread_eigen=false intra_op_parallelism_threads=1")
os.environ.setdefault("JAX_PLATFORMS", "cpu")
os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")

import numpy as np  # noqa: E402

SAMPLES, FEATURES, CLASSES = 60000, 100, 10


def median(values):
    values = sorted(values)
    return values[len(values) // 2]


def numpy_epoch(x, y, n1, batch, lr, samples):
    rng = np.random.default_rng(1)
    w0 = (rng.uniform(-1, 1, (FEATURES, n1)) / np.sqrt(FEATURES)).astype(np.float32)
    b0 = np.zeros(n1, np.float32)
    w1 = (rng.uniform(-1, 1, (n1, CLASSES)) / np.sqrt(n1)).astype(np.float32)
    b1 = np.zeros(CLASSES, np.float32)
    eye = np.eye(CLASSES, dtype=np.float32)
    start = time.perf_counter()
    for i in range(0, samples, batch):
        xb, yb = x[i:i + batch], y[i:i + batch]
        h = np.maximum(xb @ w0 + b0, 0)
        logits = h @ w1 + b1
        logits -= logits.max(axis=1, keepdims=True)
        p = np.exp(logits)
        p /= p.sum(axis=1, keepdims=True)
        d = (p - eye[yb]) / len(xb)
        gw1 = h.T @ d
        dh = (d @ w1.T) * (h > 0)
        gw0 = xb.T @ dh
        w1 -= lr * gw1
        b1 -= lr * d.sum(axis=0)
        w0 -= lr * gw0
        b0 -= lr * dh.sum(axis=0)
    return samples / (time.perf_counter() - start)


def jax_epoch_function(n1, batch, lr):
    import jax
    import jax.numpy as jnp

    def loss(params, xb, yb):
        w0, b0, w1, b1 = params
        logits = jax.nn.relu(xb @ w0 + b0) @ w1 + b1
        return jnp.mean(jax.nn.logsumexp(logits, axis=1) - jnp.take_along_axis(logits, yb[:, None], axis=1)[:, 0])

    grad = jax.grad(loss)

    def step(params, batch_data):
        xb, yb = batch_data
        g = grad(params, xb, yb)
        return tuple(p - lr * gp for p, gp in zip(params, g)), None

    @jax.jit
    def epoch(params, xs, ys):
        params, _ = jax.lax.scan(step, params, (xs, ys))
        return params

    return epoch


def main():
    widths = [int(w) for w in sys.argv[1].split(",")]
    batches = [int(b) for b in sys.argv[2].split(",")]
    repeats = int(sys.argv[3])
    numpy_samples = int(sys.argv[4]) if len(sys.argv) > 4 else 6000
    rng = np.random.default_rng(0)
    x = rng.standard_normal((SAMPLES, FEATURES)).astype(np.float32)
    y = rng.integers(0, CLASSES, SAMPLES).astype(np.int32)
    cells = []
    try:
        import jax
        import jax.numpy as jnp
        jax_version = jax.__version__
    except ImportError:
        jax = None
        jax_version = None
    for n1 in widths:
        for batch in batches:
            lr = 0.01 if batch == 1 else 0.1
            cell = {"n1": n1, "batch": batch}
            np_samples = SAMPLES if batch >= 100 else min(SAMPLES, numpy_samples)
            cell["numpySamplesPerSecond"] = round(median([numpy_epoch(x, y, n1, batch, lr, np_samples) for _ in range(repeats)]))
            cell["numpyTimedSamples"] = np_samples
            if jax is not None:
                epoch = jax_epoch_function(n1, batch, lr)
                steps = SAMPLES // batch
                xs = jnp.asarray(x[:steps * batch].reshape(steps, batch, FEATURES))
                ys = jnp.asarray(y[:steps * batch].reshape(steps, batch))
                key = np.random.default_rng(1)
                params = (jnp.asarray((key.uniform(-1, 1, (FEATURES, n1)) / np.sqrt(FEATURES)).astype(np.float32)), jnp.zeros(n1),
                          jnp.asarray((key.uniform(-1, 1, (n1, CLASSES)) / np.sqrt(n1)).astype(np.float32)), jnp.zeros(CLASSES))
                jax.block_until_ready(epoch(params, xs, ys))   # compile
                times = []
                for _ in range(repeats):
                    start = time.perf_counter()
                    jax.block_until_ready(epoch(params, xs, ys))
                    times.append(time.perf_counter() - start)
                cell["jaxSamplesPerSecond"] = round(steps * batch / median(times))
            print(f"n1={n1} batch={batch}: " + ", ".join(f"{k} {v}" for k, v in cell.items() if k.endswith("PerSecond")), file=sys.stderr)
            cells.append(cell)
    json.dump({"peers": "jax-jit-scan, numpy", "jax": jax_version, "numpy": np.__version__, "cells": cells}, sys.stdout)


if __name__ == "__main__":
    main()
