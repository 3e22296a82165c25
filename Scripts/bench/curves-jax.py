#!/usr/bin/env python3
"""The JAX peer of `minima-bench curves`: the same network, data and end points (read from the
.npz files Minima exported), timed in the same run on one thread.

For each n1 it times (1) Garipov et al.'s curve-fitting step on a quadratic Bézier curve — t
drawn per step, a minibatch of 100, the gradient of the mean softmax cross-entropy at θ(t)
scaled by ∂θ(t)/∂bend = 2t(1 − t), heavy-ball momentum — as a jitted lax.scan over a whole
epoch of steps (JAX's fastest form: no Python between steps), and (2) a points × points slice,
the loss at θ + α·d₁ + β·d₂ on the first slice-samples samples, as one jitted lax.map over the
grid. Prints JSON on stdout.
Usage: curves-jax.py DIR WIDTHS SAMPLES FIT_EPOCHS SLICE_POINTS SLICE_SAMPLES REPEATS
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
    directory = sys.argv[1]
    widths = [int(w) for w in sys.argv[2].split(",")]
    samples, fit_epochs, points, slice_samples, repeats = (int(a) for a in sys.argv[3:8])
    cells = []
    for n1 in widths:
        z = np.load(f"{directory}/n1-{n1}.npz")
        x = jnp.asarray(z["features"])
        y = jnp.asarray(z["labels"].astype(np.int32))
        shapes = [(z[f"end0/layer{l}/weight"].shape, z[f"end0/layer{l}/bias"].shape) for l in range(2)]

        def flat(end):
            return jnp.asarray(np.concatenate([np.concatenate([z[f"{end}/layer{l}/weight"].ravel(), z[f"{end}/layer{l}/bias"]]) for l in range(2)]))

        a, c = flat("end0"), flat("end1")

        def unflatten(theta):
            out, k = [], 0
            for (ws, bs) in shapes:
                w = theta[k:k + ws[0] * ws[1]].reshape(ws)
                k += ws[0] * ws[1]
                b = theta[k:k + bs[0]]
                k += bs[0]
                out.append((w, b))
            return out

        def loss(theta, xs, ys):
            (w0, b0), (w1, b1) = unflatten(theta)
            h = jax.nn.relu(xs @ w0.T + b0)
            logits = h @ w1.T + b1
            return jnp.mean(jax.nn.logsumexp(logits, axis=1) - jnp.take_along_axis(logits, ys[:, None], axis=1)[:, 0])

        grad = jax.grad(loss)

        def step(state, draw):
            bend, velocity = state
            t, rows = draw
            theta = (1 - t) ** 2 * a + 2 * t * (1 - t) * bend + t ** 2 * c
            g = grad(theta, x[rows], y[rows])
            velocity = 0.9 * velocity + 2 * t * (1 - t) * g
            return (bend - 0.05 * velocity, velocity), None

        epoch = jax.jit(lambda state, ts, rows: jax.lax.scan(step, state, (ts, rows))[0])
        rng = np.random.default_rng(0)
        per_epoch = (samples + 99) // 100
        draws = []
        for _ in range(fit_epochs):
            order = rng.permutation(samples)
            order = np.concatenate([order, order[:per_epoch * 100 - samples]]).reshape(per_epoch, 100)
            draws.append((jnp.asarray(rng.random(per_epoch), dtype=jnp.float32), jnp.asarray(order.astype(np.int32))))

        def fit():
            state = ((a + c) / 2, jnp.zeros_like(a))
            for ts, rows in draws:
                state = epoch(state, ts, rows)
            return state[0]

        d1 = jnp.asarray(rng.standard_normal(a.shape[0]), dtype=jnp.float32)
        d2 = jnp.asarray(rng.standard_normal(a.shape[0]), dtype=jnp.float32)
        axis = np.linspace(-1, 1, points)
        grid = jnp.asarray(np.array([(u, v) for v in axis for u in axis]), dtype=jnp.float32)
        xs, ys = x[:slice_samples], y[:slice_samples]
        plane = jax.jit(lambda g: jax.lax.map(lambda uv: loss(a + uv[0] * d1 + uv[1] * d2, xs, ys), g))

        def timed(f):
            f().block_until_ready()
            times = []
            for _ in range(repeats):
                start = time.perf_counter()
                f().block_until_ready()
                times.append(time.perf_counter() - start)
            return sorted(times)[repeats // 2]

        fit_seconds = timed(fit)
        slice_seconds = timed(lambda: plane(grid))
        steps = fit_epochs * per_epoch
        cells.append({"n1": n1, "curveStepSeconds": fit_seconds / steps, "sliceSeconds": slice_seconds})
        print(f"jax n1={n1}: curve step {fit_seconds / steps * 1000:.3f} ms, {points}×{points} slice {slice_seconds:.2f} s", file=sys.stderr)
    print(json.dumps({"peer": "jax", "version": jax.__version__, "jit": True, "threads": 1, "cells": cells}))


if __name__ == "__main__":
    main()
