#!/usr/bin/env python3
"""Side-by-side speed comparison (issues 6, 14): exports W1-W4 (and W5, SGD) from the Rust engine, runs the
NumPy reference (bench/reference.py) and, when jax is installed, the JAX reference
(bench/reference_jax.py) on the same data and initial weights, checks that each computes the
same trajectories as Rust (loss and lambda_hat over the first 100 steps, 1e-6 relative), times
all sides on this machine, and prints the ratios per workload.

The sides are timed in interleaved rounds (Rust W1, NumPy W1, JAX W1, Rust W2, NumPy W2, ...,
then again), so that a slow spell of a shared machine hits all; the table gives each side's
median over the rounds and the ratio of the medians (reference time / Rust time, i.e. how many
times faster Rust is), with the lowest and highest per-round ratio beside it.

Usage: python3 bench/compare.py [--only W1,W2] [--quick] [--rounds N] [--bin PATH] [--no-jax]
  --only W1,W3  run only these workloads (default W1,W2,W3,W4,W5,W6; W5 = zhu-sgd-batch-5: the
                references time 10 steps and check 20, each decomposing the 1000 x 1000 kernel;
                W6 is the 4-layer mlp, its references in bench/reference_w6.py)
  --quick       Rust's quick bench (W1-W3 fewer timed steps; W4 sweeps 8 rates, not 64)
  --rounds N    interleaved rounds (default 3)
  --bin PATH    the catapult-lab binary (build first: cargo build --release; defaults to
                $CARGO_TARGET_DIR/release/catapult-lab, else target/release/catapult-lab)
  --no-jax      leave out the JAX column even when jax is installed"""
import json
import os
import statistics
import subprocess
import sys
import tempfile

if "--help" in sys.argv[1:] or "-h" in sys.argv[1:]:
    print(__doc__)
    sys.exit(0)

here = os.path.dirname(os.path.abspath(__file__))
args = sys.argv[1:]
only = (args[args.index("--only") + 1] if "--only" in args else "W1,W2,W3,W4,W5,W6").split(",")
rounds = int(args[args.index("--rounds") + 1]) if "--rounds" in args else 3
target = os.environ.get("CARGO_TARGET_DIR", os.path.join(here, "..", "target"))
binary = args[args.index("--bin") + 1] if "--bin" in args else os.path.join(target, "release", "catapult-lab")
jax_version = None
if "--no-jax" not in args:
    try:
        import jax

        jax_version = jax.__version__
    except ImportError:
        print('jax not installed: pip install "jax[cpu]" to add the JAX column', flush=True)
sides = ["numpy"] + (["jax"] if jax_version else [])
labels = {"numpy": "NumPy", "jax": "JAX"}


def rust_run(tmp, name):
    """One Rust timing of one workload: (ms per step or seconds for W4, machine, gemm GFLOP/s)."""
    out = os.path.join(tmp, f"rust-{name}.json")
    cmd = [binary, "bench", "--only", name, "--json", out] + (["--quick"] if "--quick" in args else [])
    subprocess.run(cmd, check=True, stdout=subprocess.DEVNULL)
    report = json.load(open(out))
    w = report["workloads"][0]
    value = w["secs"] if name == "W4" else 1e3 * w["secs"] / w["steps"]
    return value, report["machine"], report["gemm_gflops"]


def reference_run(side, tmp, name, check):
    """One NumPy or JAX timing of one workload (the agreement check only when `check`)."""
    if name == "W6":  # the layered net: both sides in one script (bench/reference_w6.py)
        cmd = [sys.executable, os.path.join(here, "reference_w6.py"), tmp, "--side", side] + ([] if check else ["--no-check"])
    else:
        script = {"numpy": "reference.py", "jax": "reference_jax.py"}[side]
        cmd = [sys.executable, os.path.join(here, script), tmp, "--only", name] + ([] if check else ["--no-check"])
    result = json.loads(subprocess.run(cmd, check=True, capture_output=True, text=True).stdout.strip().split("\n")[-1])
    value = result["secs"] if name == "W4" else result["ms_per_step"]
    return value, result


with tempfile.TemporaryDirectory() as tmp:
    subprocess.run([binary, "bench", "--export", tmp], check=True, stdout=subprocess.DEVNULL)
    times = {name: {side: [] for side in ["rust"] + sides} for name in only}
    checks, machine, gemm = {side: {} for side in sides}, "", []
    for r in range(rounds):
        for name in only:
            value, machine, rate = rust_run(tmp, name)
            times[name]["rust"].append(value)
            gemm.append(rate)
            for side in sides:
                value, result = reference_run(side, tmp, name, check=(r == 0))
                times[name][side].append(value)
                if r == 0:
                    checks[side][name] = result
        print(f"round {r + 1}/{rounds} done", file=sys.stderr, flush=True)

print(f"\nmachine: {machine}")
if jax_version:
    print(f"JAX {jax_version} (float64, jit; compile time excluded)")
print(f"measured matrix-product rate over the rounds: {min(gemm):.0f}-{max(gemm):.0f} GFLOP/s")
print(f"{rounds} interleaved rounds; medians, ratio of the medians (reference / Rust time), [lowest-highest ratio of a round]")
fmt = lambda ratio: f"{ratio:.1f}" if ratio >= 0.95 else f"{ratio:.2f}"  # below 1: the reference is faster
head = f"{'':4}" + "".join(f" {labels[side]:>12}" for side in sides) + f" {'Rust':>12}"
head += "".join(f" {labels[side] + '/Rust':>10} {'range':>13}" for side in sides)
print(f"{head}  agreement (max rel. err., first 100 steps; W5 20 steps)")
for name in only:
    rust = times[name]["rust"]
    unit = "s" if name == "W4" else "ms"
    line = f"{name:4}" + "".join(f" {statistics.median(times[name][side]):>9.3f} {unit:<2}" for side in sides)
    line += f" {statistics.median(rust):>9.3f} {unit:<2}"
    for side in sides:
        ref = times[name][side]
        per_round = [p / q for p, q in zip(ref, rust)]
        spread = f"[{fmt(min(per_round))}-{fmt(max(per_round))}]"
        ratio = statistics.median(ref) / statistics.median(rust)
        line += f" {fmt(ratio):>9}x {spread:>13}"
    if name == "W4":
        note = "whole sweep; references batched over the 64 rates"
        if "--quick" in args:
            note += "; --quick: Rust sweeps 8 rates, so this ratio overstates Rust"
        print(f"{line}  ({note})")
        continue
    agreement = []
    for side in sides:
        check = checks[side][name]
        errs = ", ".join(f"{k} {v:.1e}" for k, v in check["max_rel_err"].items())
        agreement.append(f"{labels[side]} {'OK' if check['agree'] else 'DISAGREE'} ({errs})")
    print(f"{line}  {'; '.join(agreement)}")
