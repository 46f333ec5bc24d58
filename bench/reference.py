#!/usr/bin/env python3
"""NumPy reference for `catapult-lab bench` (issue 6): the same gradient-descent runs written
the way a careful researcher would, vectorized, with the dense structured tangent kernel
    K = c^2 [ (X X^T / s_d^2) o (G diag(v^2) G^T) + (G o Z)(G o Z)^T ],  K_hat = 2 s K (MSE),
and numpy.linalg.eigh for its top two eigenvalues (and top eigenvector); W5 (SGD on the
exported batches, with the test loss, the AGOP alignment and the batch critical rate every step)
with numpy.linalg.eigvalsh on the full 1000 x 1000 K_hat (class SgdRun).

Usage: reference.py DIR [--only W1,W3] [--no-check]
(DIR written by `catapult-lab bench --export DIR`; --no-check skips the agreement check)
Loads each workload's data and initial weights (raw little-endian f64 + meta.json), checks
that loss and lambda_hat of the first 100 steps agree with the Rust trajectory to 1e-6
relative, then times the workload's step loop. Prints one JSON object per workload.
"""
import json
import sys
import time

import numpy as np


def load(directory, prefix, meta):
    n, d, m = meta["n"], meta["d"], meta["m"]
    f = lambda name: np.fromfile(f"{directory}/{prefix}{name}.f64", dtype="<f8")
    return f("x").reshape(n, d), f("y"), f("u0").reshape(m, d), f("v0")


class TwoLayerNet:
    """f(x) = c sum_k v_k sigma(u_k . x s_inv), sigma(z) = z for z >= 0, a_neg z else; MSE loss
    L = s sum (f - y)^2."""

    def __init__(self, meta, x, y, u, v):
        self.x, self.y, self.u, self.v = x, y, u.copy(), v.copy()
        self.c, self.s_inv, self.a_neg, self.s = meta["c_m"], meta["s_inv"], meta["a_neg"], meta["s"]
        self.gram = (x @ x.T) * self.s_inv**2  # X X^T / s_d^2, fixed

    def step(self, eta):
        """Measures the current state (loss, top-2 of K_hat, top eigenvector), then updates."""
        # n x m pre-activations (an outer product when d = 1: numpy's matmul is slow there)
        z = (np.multiply.outer(self.x[:, 0], self.u[:, 0]) if self.x.shape[1] == 1 else self.x @ self.u.T) * self.s_inv
        g = np.where(z >= 0.0, 1.0, self.a_neg)  # gates sigma'(z)
        gz = g * z  # sigma(z)
        f = self.c * (gz @ self.v)
        r = f - self.y
        loss = self.s * (r @ r)
        k = self.c**2 * (self.gram * ((g * self.v**2) @ g.T) + gz @ gz.T)
        evals, evecs = np.linalg.eigh(2.0 * self.s * k)
        top = (evals[-1], evals[-2] if len(evals) > 1 else 0.0)
        p1 = evecs[:, -1]
        # gradient of L: dL/df = 2 s r
        t = g * (2.0 * self.s * r)[:, None]  # n x m
        grad_u = (self.c * self.s_inv) * (t.T @ self.x) * self.v[:, None]
        grad_v = self.c * np.einsum("ij,ij->j", t, z)
        self.u -= eta * grad_u
        self.v -= eta * grad_v
        return loss, top, p1


def rel(a, b, floor=0.0):
    return abs(a - b) / max(abs(a), abs(b), floor, 1e-300)


# A loss that has converged to round-off level (e.g. 1e-30 after a catapult) is compared
# relative to this fraction of the initial loss instead of to itself.
LOSS_FLOOR = 1e-12


def single(directory, name, check=True):
    meta = json.load(open(f"{directory}/{name}/meta.json"))
    x, y, u, v = load(f"{directory}/{name}", "", meta)
    eta = meta["eta"]
    # 1. Agreement with the Rust trajectory over the exported steps (skipped with --no-check).
    net = TwoLayerNet(meta, x, y, u, v)
    worst = {"loss": 0.0, "lambda_hat": 0.0, "lambda_hat_2": 0.0}
    for t in range(meta["steps"] + 1 if check else 0):
        loss, (l1, l2), _ = net.step(eta)
        worst["loss"] = max(worst["loss"], rel(loss, meta["loss"][t], LOSS_FLOOR * meta["loss"][0]))
        worst["lambda_hat"] = max(worst["lambda_hat"], rel(l1, meta["lambda_hat"][t]))
        if meta["n"] > 1:
            worst["lambda_hat_2"] = max(worst["lambda_hat_2"], rel(l2, meta["lambda_hat_2"][t]))
    agree = all(e < 1e-6 for e in worst.values()) if check else None
    # 2. Timing of the same number of steps the Rust bench times, from init.
    steps = meta.get("reference_steps", meta["timed_steps"])
    net = TwoLayerNet(meta, x, y, u, v)
    started = time.perf_counter()
    for _ in range(steps):
        net.step(eta)
    secs = time.perf_counter() - started
    return {"name": name, "steps": steps, "secs": secs, "ms_per_step": 1e3 * secs / steps,
            "agree": agree, "max_rel_err": worst}


class SgdRun:
    """W5: SGD on the exported batches, measuring what the Rust run measures every step: the
    loss, the top two eigenvalues of the full-data K_hat (structured dense kernel +
    numpy.linalg.eigvalsh), the test loss, the AGOP alignment cos(G, G*) with
    G = (1/n) sum_i grad_x f(x_i) grad_x f(x_i)^T, and the batch's critical rate 2 / lambda_max
    of its b x b K_hat (before the update, as in Rust)."""

    def __init__(self, meta, directory, x, y, u, v):
        self.net = TwoLayerNet(meta, x, y, u, v)
        sgd = meta["sgd"]
        self.b, self.s_batch, self.s_test = sgd["batch_size"], sgd["s_batch"], sgd["s_test"]
        f = lambda name: np.fromfile(f"{directory}/{name}.f64", dtype="<f8")
        d = meta["d"]
        self.test_x, self.test_y = f("test_x").reshape(-1, d), f("test_y")
        self.target = f("agop_target").reshape(d, d)
        self.batches = f("batches").astype(np.int64).reshape(-1, self.b)

    def measure(self):
        net = self.net
        z = net.x @ net.u.T * net.s_inv
        g = np.where(z >= 0.0, 1.0, net.a_neg)
        gz = g * z
        r = net.c * (gz @ net.v) - net.y
        loss = net.s * (r @ r)
        k = net.c**2 * (net.gram * ((g * net.v**2) @ g.T) + gz @ gz.T)
        evals = np.linalg.eigvalsh(2.0 * net.s * k)
        zt = self.test_x @ net.u.T * net.s_inv
        rt = net.c * (np.where(zt >= 0.0, 1.0, net.a_neg) * zt @ net.v) - self.test_y
        test_loss = self.s_test * (rt @ rt)
        grads = (net.c * net.s_inv) * ((g * net.v) @ net.u)  # n x d
        agop = grads.T @ grads / len(net.y)
        alignment = np.sum(agop * self.target) / np.sqrt(np.sum(agop * agop) * np.sum(self.target * self.target))
        return loss, (evals[-1], evals[-2]), test_loss, alignment

    def step(self, t, eta):
        """SGD step t (0-based) on its batch; returns the batch's critical rate (before the update)."""
        net, idx = self.net, self.batches[t]
        xb, yb = net.x[idx], net.y[idx]
        z = xb @ net.u.T * net.s_inv  # b x m
        g = np.where(z >= 0.0, 1.0, net.a_neg)
        gz = g * z
        kb = net.c**2 * ((xb @ xb.T) * net.s_inv**2 * ((g * net.v**2) @ g.T) + gz @ gz.T)
        crit = 2.0 / np.linalg.eigvalsh(2.0 * self.s_batch * kb)[-1]
        r = net.c * (gz @ net.v) - yb
        t_ = g * (2.0 * self.s_batch * r)[:, None]
        net.u -= eta * (net.c * net.s_inv) * (t_.T @ xb) * net.v[:, None]
        net.v -= eta * net.c * np.einsum("ij,ij->j", t_, z)
        return crit


def sgd_single(directory, name, check=True):
    meta = json.load(open(f"{directory}/{name}/meta.json"))
    x, y, u, v = load(f"{directory}/{name}", "", meta)
    eta, sgd = meta["eta"], meta["sgd"]
    keys = ["loss", "lambda_hat", "lambda_hat_2", "test_loss", "agop_alignment", "batch_crit_eta"]
    worst = {k: 0.0 for k in keys}
    run = SgdRun(meta, f"{directory}/{name}", x, y, u, v)
    want = {k: (meta[k] if k in meta else sgd[k]) for k in keys}
    for t in range(meta["steps"] + 1 if check else 0):
        crit = run.step(t - 1, eta) if t > 0 else None
        loss, (l1, l2), test_loss, alignment = run.measure()
        got = {"loss": loss, "lambda_hat": l1, "lambda_hat_2": l2, "test_loss": test_loss, "agop_alignment": alignment, "batch_crit_eta": crit}
        for k in keys:
            if got[k] is not None:
                worst[k] = max(worst[k], rel(got[k], want[k][t]))
    agree = all(e < 1e-6 for e in worst.values()) if check else None
    steps = meta.get("reference_steps", meta["timed_steps"])
    run = SgdRun(meta, f"{directory}/{name}", x, y, u, v)
    started = time.perf_counter()
    for t in range(steps):
        run.step(t, eta)
        run.measure()
    secs = time.perf_counter() - started
    return {"name": name, "steps": steps, "secs": secs, "ms_per_step": 1e3 * secs / steps,
            "agree": agree, "max_rel_err": worst}


def sweep(directory):
    """W4: for each width, the 64 learning rates run together (a batch of nets, vectorized
    over the learning rates), 500 steps, one example. Diverged runs are frozen."""
    meta = json.load(open(f"{directory}/W4/meta.json"))
    etas_scaled = np.array(meta["eta_scaled"])
    steps = meta["steps"]
    started = time.perf_counter()
    total_steps = 0
    for wm in meta["widths"]:
        x, y, u0, v0 = load(f"{directory}/W4", wm["prefix"], wm)
        c, s_inv, a_neg, s = wm["c_m"], wm["s_inv"], wm["a_neg"], wm["s"]
        runs = len(etas_scaled)
        eta = (etas_scaled / wm["lambda0"])[:, None]
        xv = x[0]  # one example
        u = np.repeat(u0[None, :, :], runs, axis=0)  # runs x m x d
        v = np.repeat(v0[None, :], runs, axis=0)
        alive = np.ones(runs, dtype=bool)
        loss0 = None
        for _ in range(steps + 1):
            z = (u @ xv) * s_inv  # runs x m
            g = np.where(z >= 0.0, 1.0, a_neg)
            f = c * np.einsum("rm,rm->r", g * z, v)
            r = f - y[0]
            loss = s * r * r
            lam = 2.0 * s * c**2 * ((xv @ xv) * s_inv**2 * np.einsum("rm,rm->r", g, v * v) + np.einsum("rm,rm->r", g * z, g * z))
            if loss0 is None:
                loss0, lam0 = loss.copy(), lam.copy()
            alive &= np.isfinite(loss) & (loss <= 1e8 * loss0) & (lam <= 10 * lam0)
            total_steps += int(alive.sum())
            gr = (2.0 * s * r)[:, None] * g * c
            step_u = (eta * gr * v * s_inv)[:, :, None] * xv[None, None, :]
            step_v = eta * gr * z
            u -= np.where(alive[:, None, None], step_u, 0.0)
            v -= np.where(alive[:, None], step_v, 0.0)
    secs = time.perf_counter() - started
    return {"name": "W4", "steps": total_steps, "secs": secs, "ms_per_step": 1e3 * secs / max(total_steps, 1),
            "agree": None, "max_rel_err": None}


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
