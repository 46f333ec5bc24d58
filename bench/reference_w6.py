#!/usr/bin/env python3
"""W6 references (issue 15): the layered ReLU net of SPEC §10 trained by full-batch GD with the
top two eigenvalues of the normalized tangent kernel every step, written as a careful
researcher would in NumPy and in JAX (jit, float64, `jax.grad` for the gradient, the kernel
formed per layer: K = sum_l (D_l D_l^T) o (c_l^2 H_{l-1} H_{l-1}^T), D_l = df/dz_l from one
batched backward pass, then `eigvalsh`).

Reads what `catapult-lab bench --export DIR` writes to DIR/W6: meta.json (n, d, widths, the
layer factors c_l, a_neg, the loss factor s, eta, the Rust trajectory of the first steps) and
the float64 files x, y, W1 ... W{L+1} (row-major n_l x n_{l-1}). Checks that the first steps
agree with Rust (loss and lambda_hat, 1e-6 relative), then times `timed_steps` steps from init.

Usage: reference_w6.py DIR --side numpy|jax [--no-check]; prints one JSON line."""
import json
import sys
import time

import numpy as np

LOSS_FLOOR = 1e-12


def rel(a, b, floor=0.0):
    return abs(a - b) / max(abs(a), abs(b), floor, 1e-300)


def load(directory):
    meta = json.load(open(f"{directory}/W6/meta.json"))
    f = lambda name: np.fromfile(f"{directory}/W6/{name}.f64", dtype="<f8")
    n, d = meta["n"], meta["d"]
    sizes = [d] + meta["widths"] + [1]
    weights = [f(f"W{l}").reshape(sizes[l], sizes[l - 1]) for l in range(1, len(sizes))]
    return meta, f("x").reshape(n, d), f("y"), weights


def numpy_step(meta):
    c, a_neg, s, eta = meta["c"], meta["a_neg"], meta["s"], meta["eta"]

    def step(ws, x, y):
        hs, gates = [x], []
        for l, w in enumerate(ws[:-1]):
            z = c[l] * hs[-1] @ w.T
            g = np.where(z >= 0.0, 1.0, a_neg)
            gates.append(g)
            hs.append(g * z)
        f = c[-1] * (hs[-1] @ ws[-1].T)[:, 0]
        r = f - y
        loss = s * (r @ r)
        # Backward: delta_l = df/dz_l for every example (n x n_l); the last layer's is 1.
        delta = np.ones((x.shape[0], 1))
        kernel = np.zeros((x.shape[0], x.shape[0]))
        grads = [None] * len(ws)
        for l in range(len(ws) - 1, -1, -1):
            h = hs[l]
            kernel += (delta @ delta.T) * (c[l] ** 2 * (h @ h.T))
            grads[l] = 2.0 * s * c[l] * ((delta * r[:, None]).T @ h)
            if l > 0:
                delta = c[l] * (delta @ ws[l]) * gates[l - 1]
        evals = np.linalg.eigvalsh(2.0 * s * kernel)
        return [w - eta * g for w, g in zip(ws, grads)], loss, evals[-1], evals[-2]

    return step


def jax_step(meta):
    import jax

    jax.config.update("jax_enable_x64", True)
    import jax.numpy as jnp

    c, a_neg, s = meta["c"], meta["a_neg"], meta["s"]

    def forward(ws, x):
        hs, gates, h = [x], [], x
        for l, w in enumerate(ws[:-1]):
            z = c[l] * h @ w.T
            g = jnp.where(z >= 0.0, 1.0, a_neg)
            h = g * z
            gates.append(g)
            hs.append(h)
        return c[-1] * (h @ ws[-1].T)[:, 0], (hs, gates)

    def loss_fn(ws, x, y):
        f, aux = forward(ws, x)
        r = f - y
        return s * (r @ r), aux

    value_and_grad = jax.value_and_grad(loss_fn, has_aux=True)

    @jax.jit
    def step(ws, x, y, eta):
        (loss, (hs, gates)), grads = value_and_grad(ws, x, y)
        delta = jnp.ones((x.shape[0], 1))
        kernel = jnp.zeros((x.shape[0], x.shape[0]))
        for l in range(len(ws) - 1, -1, -1):
            h = hs[l]
            kernel = kernel + (delta @ delta.T) * (c[l] ** 2 * (h @ h.T))
            if l > 0:
                delta = c[l] * (delta @ ws[l]) * gates[l - 1]
        evals = jnp.linalg.eigvalsh(2.0 * s * kernel)
        return [w - eta * g for w, g in zip(ws, grads)], loss, evals[-1], evals[-2]

    return step, jax, jnp


def main():
    directory = sys.argv[1]
    side = sys.argv[sys.argv.index("--side") + 1]
    check = "--no-check" not in sys.argv
    meta, x, y, ws0 = load(directory)
    if side == "jax":
        step_fn, jax, jnp = jax_step(meta)
        x, y, ws0 = jnp.asarray(x), jnp.asarray(y), [jnp.asarray(w) for w in ws0]
        eta = jnp.asarray(meta["eta"])
        step = lambda ws: step_fn(ws, x, y, eta)
        block = jax.block_until_ready
    else:
        step_np = numpy_step(meta)
        step = lambda ws: step_np(ws, x, y)
        block = lambda v: v
    worst = {"loss": 0.0, "lambda_hat": 0.0, "lambda_hat_2": 0.0}
    ws = ws0
    for t in range(meta["steps"] + 1 if check else 0):
        ws, loss, l1, l2 = step(ws)
        worst["loss"] = max(worst["loss"], rel(float(loss), meta["loss"][t], LOSS_FLOOR * meta["loss"][0]))
        worst["lambda_hat"] = max(worst["lambda_hat"], rel(float(l1), meta["lambda_hat"][t]))
        worst["lambda_hat_2"] = max(worst["lambda_hat_2"], rel(float(l2), meta["lambda_hat_2"][t]))
    agree = all(e < 1e-6 for e in worst.values()) if check else None
    steps = meta["timed_steps"]
    block(step(ws0))  # warm-up (compiles the JAX step)
    ws = ws0
    started = time.perf_counter()
    for _ in range(steps):
        ws, loss, l1, l2 = step(ws)
    block((ws, loss, l1, l2))
    secs = time.perf_counter() - started
    print(json.dumps({"name": "W6", "side": side, "steps": steps, "secs": secs, "ms_per_step": 1e3 * secs / steps, "agree": agree, "max_rel_err": worst}))


if __name__ == "__main__":
    main()
