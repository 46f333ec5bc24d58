#!/usr/bin/env python3
"""JAX reference for `catapult-lab bench` (issue 14): the same gradient-descent runs as the NumPy
reference bench/reference.py, written the way a careful JAX user would: float64
(jax_enable_x64), one `jax.jit`-compiled step, the gradient by `jax.value_and_grad` of the loss,
the dense structured tangent kernel
    K = c^2 [ (X X^T / s_d^2) o (G diag(v^2) G^T) + (G o Z)(G o Z)^T ],  K_hat = 2 s K (MSE),
and `jnp.linalg.eigvalsh` for its top two eigenvalues; W4 `jax.vmap`-ed over the 64 learning
rates; W5 (SGD on the exported batches) with the batch critical rate, test loss and AGOP
alignment every step (`sgd_single`). Timings start after a warm-up call (compilation excluded) and end at
`.block_until_ready()`.

Usage: reference_jax.py DIR [--only W1,W3] [--no-check]
(DIR written by `catapult-lab bench --export DIR`; --no-check skips the agreement check)
Same input, checks and output as reference.py: one JSON object per workload (plus "jax": the
version).
"""
import json
import sys
import time

import jax

jax.config.update("jax_enable_x64", True)

import jax.numpy as jnp  # noqa: E402
import numpy as np  # noqa: E402


def load(directory, prefix, meta):
    n, d, m = meta["n"], meta["d"], meta["m"]
    f = lambda name: np.fromfile(f"{directory}/{prefix}{name}.f64", dtype="<f8")
    return f("x").reshape(n, d), f("y"), f("u0").reshape(m, d), f("v0")


def make_model(meta):
    """Pure functions of f(x) = c sum_k v_k sigma(u_k . x s_inv), sigma(z) = z for z >= 0,
    a_neg z else; MSE loss L = s sum (f - y)^2. Constants are baked in (closed over)."""
    c, s_inv, a_neg, s = meta["c_m"], meta["s_inv"], meta["a_neg"], meta["s"]

    def forward(u, v, x):
        # n x m pre-activations (an outer product when d = 1)
        z = (x[:, :1] * u[:, 0][None, :] if x.shape[1] == 1 else x @ u.T) * s_inv
        g = jnp.where(z >= 0.0, 1.0, a_neg)  # gates sigma'(z)
        gz = g * z  # sigma(z)
        return c * (gz @ v), (g, gz)

    def loss_fn(params, x, y):
        u, v = params
        f, aux = forward(u, v, x)
        r = f - y
        return s * (r @ r), aux

    def kernel(gram, g, gz, v):
        """K_hat = 2 s c^2 [gram o (G diag(v^2) G^T) + (G o Z)(G o Z)^T], n x n."""
        return 2.0 * s * c**2 * (gram * ((g * v**2) @ g.T) + gz @ gz.T)

    return loss_fn, kernel, s_inv


def make_step(meta):
    """The jitted step: measures the current state (loss, top-2 eigenvalues of K_hat), then
    takes one gradient step."""
    loss_fn, kernel, s_inv = make_model(meta)
    value_and_grad = jax.value_and_grad(loss_fn, has_aux=True)

    @jax.jit
    def step(u, v, x, y, gram, eta):
        (loss, (g, gz)), (grad_u, grad_v) = value_and_grad((u, v), x, y)
        evals = jnp.linalg.eigvalsh(kernel(gram, g, gz, v))
        l1 = evals[-1]
        l2 = evals[-2] if evals.shape[0] > 1 else jnp.zeros((), evals.dtype)
        return u - eta * grad_u, v - eta * grad_v, loss, l1, l2

    return step, s_inv


def rel(a, b, floor=0.0):
    return abs(a - b) / max(abs(a), abs(b), floor, 1e-300)


# A loss that has converged to round-off level (e.g. 1e-30 after a catapult) is compared
# relative to this fraction of the initial loss instead of to itself.
LOSS_FLOOR = 1e-12


def single(directory, name, check=True):
    meta = json.load(open(f"{directory}/{name}/meta.json"))
    x, y, u0, v0 = load(f"{directory}/{name}", "", meta)
    step, s_inv = make_step(meta)
    x, y, u0, v0 = (jnp.asarray(a) for a in (x, y, u0, v0))
    gram = (x @ x.T) * s_inv**2  # X X^T / s_d^2, fixed
    eta = jnp.asarray(meta["eta"])
    # 1. Agreement with the Rust trajectory over the exported steps (skipped with --no-check).
    worst = {"loss": 0.0, "lambda_hat": 0.0, "lambda_hat_2": 0.0}
    u, v = u0, v0
    for t in range(meta["steps"] + 1 if check else 0):
        u, v, loss, l1, l2 = step(u, v, x, y, gram, eta)
        loss, l1, l2 = float(loss), float(l1), float(l2)
        worst["loss"] = max(worst["loss"], rel(loss, meta["loss"][t], LOSS_FLOOR * meta["loss"][0]))
        worst["lambda_hat"] = max(worst["lambda_hat"], rel(l1, meta["lambda_hat"][t]))
        if meta["n"] > 1:
            worst["lambda_hat_2"] = max(worst["lambda_hat_2"], rel(l2, meta["lambda_hat_2"][t]))
    agree = all(e < 1e-6 for e in worst.values()) if check else None
    # 2. Timing of the same number of steps the Rust bench times, from init, after a warm-up
    # call (compiles the step when the check did not run; its result is discarded).
    steps = meta.get("reference_steps", meta["timed_steps"])
    jax.block_until_ready(step(u0, v0, x, y, gram, eta))
    u, v = u0, v0
    started = time.perf_counter()
    for _ in range(steps):
        u, v, loss, l1, l2 = step(u, v, x, y, gram, eta)
    jax.block_until_ready((u, v, loss, l1, l2))
    secs = time.perf_counter() - started
    return {"name": name, "steps": steps, "secs": secs, "ms_per_step": 1e3 * secs / steps,
            "agree": agree, "max_rel_err": worst, "jax": jax.__version__}


def make_sgd_step(meta):
    """W5's jitted SGD step on one batch: the batch's critical rate 2 / lambda_max of its b x b
    K_hat (before the update, as in Rust), the update by `jax.grad` of the batch loss, then the
    measurements at the new weights: loss, the top two eigenvalues of the full-data K_hat
    (`eigvalsh`), the test loss and the AGOP alignment (input gradients by `jax.grad` of f in x)."""
    loss_fn, kernel, s_inv = make_model(meta)
    c, a_neg, s = meta["c_m"], meta["a_neg"], meta["s"]
    s_batch, s_test = meta["sgd"]["s_batch"], meta["sgd"]["s_test"]
    batch_meta = dict(meta, s=s_batch)
    batch_loss, batch_kernel, _ = make_model(batch_meta)
    batch_grad = jax.grad(batch_loss, has_aux=True)

    def f_at(u, v, xi):  # f at one input
        z = (u @ xi) * s_inv
        return c * (jnp.where(z >= 0.0, 1.0, a_neg) * z) @ v

    input_grads = jax.vmap(jax.grad(f_at, argnums=2), in_axes=(None, None, 0))

    def measure(u, v, x, y, gram, test_x, test_y, target):
        loss, (g, gz) = loss_fn((u, v), x, y)
        evals = jnp.linalg.eigvalsh(kernel(gram, g, gz, v))
        zt = test_x @ u.T * s_inv
        rt = c * (jnp.where(zt >= 0.0, 1.0, a_neg) * zt) @ v - test_y
        grads = input_grads(u, v, x)  # n x d
        agop = grads.T @ grads / x.shape[0]
        alignment = jnp.sum(agop * target) / jnp.sqrt(jnp.sum(agop * agop) * jnp.sum(target * target))
        return loss, evals[-1], evals[-2], s_test * (rt @ rt), alignment

    @jax.jit
    def step(u, v, x, y, gram, test_x, test_y, target, idx, eta):
        xb, yb = x[idx], y[idx]
        grads, (g, gz) = batch_grad((u, v), xb, yb)
        gram_b = (xb @ xb.T) * s_inv**2
        crit = 2.0 / jnp.linalg.eigvalsh(batch_kernel(gram_b, g, gz, v))[-1]
        u, v = u - eta * grads[0], v - eta * grads[1]
        return (u, v, crit) + measure(u, v, x, y, gram, test_x, test_y, target)

    return jax.jit(measure), step


def sgd_single(directory, name, check=True):
    meta = json.load(open(f"{directory}/{name}/meta.json"))
    x, y, u0, v0 = load(f"{directory}/{name}", "", meta)
    d, sgd = meta["d"], meta["sgd"]
    f = lambda k: np.fromfile(f"{directory}/{name}/{k}.f64", dtype="<f8")
    test_x, test_y, target = jnp.asarray(f("test_x").reshape(-1, d)), jnp.asarray(f("test_y")), jnp.asarray(f("agop_target").reshape(d, d))
    batches = jnp.asarray(f("batches").astype(np.int64).reshape(-1, sgd["batch_size"]))
    measure, step = make_sgd_step(meta)
    x, y, u0, v0 = (jnp.asarray(a) for a in (x, y, u0, v0))
    gram = (x @ x.T) * meta["s_inv"] ** 2
    eta = jnp.asarray(meta["eta"])
    keys = ["loss", "lambda_hat", "lambda_hat_2", "test_loss", "agop_alignment", "batch_crit_eta"]
    want = {k: (meta[k] if k in meta else sgd[k]) for k in keys}
    worst = {k: 0.0 for k in keys}
    u, v = u0, v0
    for t in range(meta["steps"] + 1 if check else 0):
        if t == 0:
            got = dict(zip(keys[:5], (float(a) for a in measure(u, v, x, y, gram, test_x, test_y, target))))
        else:
            u, v, *out = step(u, v, x, y, gram, test_x, test_y, target, batches[t - 1], eta)
            got = dict(zip(["batch_crit_eta"] + keys[:5], (float(a) for a in out)))
        for k, value in got.items():
            worst[k] = max(worst[k], rel(value, want[k][t]))
    agree = all(e < 1e-6 for e in worst.values()) if check else None
    steps = meta.get("reference_steps", meta["timed_steps"])
    jax.block_until_ready(step(u0, v0, x, y, gram, test_x, test_y, target, batches[0], eta))
    u, v = u0, v0
    started = time.perf_counter()
    for t in range(steps):
        u, v, *out = step(u, v, x, y, gram, test_x, test_y, target, batches[t], eta)
    jax.block_until_ready((u, v, out))
    secs = time.perf_counter() - started
    return {"name": name, "steps": steps, "secs": secs, "ms_per_step": 1e3 * secs / steps,
            "agree": agree, "max_rel_err": worst, "jax": jax.__version__}


def make_sweep_step(wm):
    """W4's batched step: one run (one example, one learning rate) written plainly, `vmap`-ed
    over the runs. Diverged runs are frozen (as in reference.py and the Rust sweep)."""
    loss_fn, kernel, _ = make_model(wm)
    value_and_grad = jax.value_and_grad(loss_fn, has_aux=True)

    def measure(u, v, x, y, gram):
        (loss, (g, gz)), grads = value_and_grad((u, v), x, y)
        lam = kernel(gram, g, gz, v)[0, 0]  # the 1 x 1 kernel is its own eigenvalue
        return loss, lam, grads

    def run_step(u, v, alive, loss0, lam0, eta, x, y, gram):
        loss, lam, (grad_u, grad_v) = measure(u, v, x, y, gram)
        alive = alive & jnp.isfinite(loss) & (loss <= 1e8 * loss0) & (lam <= 10 * lam0)
        u = jnp.where(alive, u - eta * grad_u, u)
        v = jnp.where(alive, v - eta * grad_v, v)
        return u, v, alive

    batch = (0, 0, 0, 0, 0, 0, None, None, None)  # runs x (u, v, alive, loss0, lam0, eta)

    @jax.jit
    def init(u, v, x, y, gram):  # each run's initial loss and lambda_hat (runs x m x d, runs x m)
        loss, lam, _ = jax.vmap(measure, in_axes=(0, 0, None, None, None))(u, v, x, y, gram)
        return loss, lam

    @jax.jit
    def step(u, v, alive, loss0, lam0, eta, x, y, gram, total):
        u, v, alive = jax.vmap(run_step, in_axes=batch)(u, v, alive, loss0, lam0, eta, x, y, gram)
        return u, v, alive, total + jnp.sum(alive)  # steps taken by live runs, kept on device

    return init, step


def sweep(directory):
    """W4: for each width, the 64 learning rates run together (a vmap over the learning rates),
    500 steps, one example. Diverged runs are frozen."""
    meta = json.load(open(f"{directory}/W4/meta.json"))
    etas_scaled = np.array(meta["eta_scaled"])
    steps = meta["steps"]
    runs = len(etas_scaled)
    widths = []
    for wm in meta["widths"]:
        x, y, u0, v0 = load(f"{directory}/W4", wm["prefix"], wm)
        x, y = jnp.asarray(x[:1]), jnp.asarray(y[:1])  # one example
        gram = (x @ x.T) * wm["s_inv"] ** 2
        u = jnp.repeat(jnp.asarray(u0)[None], runs, axis=0)  # runs x m x d
        v = jnp.repeat(jnp.asarray(v0)[None], runs, axis=0)
        eta = jnp.asarray(etas_scaled / wm["lambda0"])
        init, step = make_sweep_step(wm)
        widths.append((init, step, u, v, x, y, gram, eta))

    def run(init, step, u, v, x, y, gram, eta, iterations):
        loss0, lam0 = init(u, v, x, y, gram)
        alive = jnp.ones(runs, dtype=bool)
        total = jnp.zeros((), jnp.int64)
        for _ in range(iterations):
            u, v, alive, total = step(u, v, alive, loss0, lam0, eta, x, y, gram, total)
        return jax.block_until_ready(total)

    for w in widths:  # warm-up: compiles each width's functions
        run(*w, iterations=1)
    started = time.perf_counter()
    total_steps = sum(int(run(*w, iterations=steps + 1)) for w in widths)
    secs = time.perf_counter() - started
    return {"name": "W4", "steps": total_steps, "secs": secs, "ms_per_step": 1e3 * secs / max(total_steps, 1),
            "agree": None, "max_rel_err": None, "jax": jax.__version__}


def main():
    directory = sys.argv[1]
    only = sys.argv[sys.argv.index("--only") + 1].split(",") if "--only" in sys.argv else ["W1", "W2", "W3", "W4"]
    check = "--no-check" not in sys.argv
    for name in only:
        if name == "W4":
            result = sweep(directory)
        elif json.load(open(f"{directory}/{name}/meta.json")).get("sgd"):
            result = sgd_single(directory, name, check)
        else:
            result = single(directory, name, check)
        print(json.dumps(result), flush=True)


if __name__ == "__main__":
    main()
