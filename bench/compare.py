#!/usr/bin/env python3
"""Side-by-side speed comparison (issue 6): exports W1-W4 from the Rust engine, runs the NumPy
reference (bench/reference.py) on the same data and initial weights, checks that both compute
the same trajectories (loss and lambda_hat over the first 100 steps, 1e-6 relative), times both
on this machine, and prints the ratio per workload.

The two sides are timed in interleaved rounds (Rust W1, NumPy W1, Rust W2, NumPy W2, ...,
then again), so that a slow spell of a shared machine hits both; the table gives each side's
median over the rounds and the ratio of the medians, with the lowest and highest per-round
ratio beside it.

Usage: python3 bench/compare.py [--only W1,W2] [--quick] [--rounds N] [--bin PATH]
(build first: cargo build --release; the binary defaults to
$CARGO_TARGET_DIR/release/catapult-lab, else target/release/catapult-lab)."""
import json
import os
import statistics
import subprocess
import sys
import tempfile

here = os.path.dirname(os.path.abspath(__file__))
args = sys.argv[1:]
only = (args[args.index("--only") + 1] if "--only" in args else "W1,W2,W3,W4").split(",")
rounds = int(args[args.index("--rounds") + 1]) if "--rounds" in args else 3
target = os.environ.get("CARGO_TARGET_DIR", os.path.join(here, "..", "target"))
binary = args[args.index("--bin") + 1] if "--bin" in args else os.path.join(target, "release", "catapult-lab")


def rust_run(tmp, name):
    """One Rust timing of one workload: (ms per step or seconds for W4, machine, gemm GFLOP/s)."""
    out = os.path.join(tmp, f"rust-{name}.json")
    cmd = [binary, "bench", "--only", name, "--json", out] + (["--quick"] if "--quick" in args else [])
    subprocess.run(cmd, check=True, stdout=subprocess.DEVNULL)
    report = json.load(open(out))
    w = report["workloads"][0]
    value = w["secs"] if name == "W4" else 1e3 * w["secs"] / w["steps"]
    return value, report["machine"], report["gemm_gflops"]


def numpy_run(tmp, name, check):
    """One NumPy timing of one workload (the agreement check only when `check`)."""
    cmd = [sys.executable, os.path.join(here, "reference.py"), tmp, "--only", name] + ([] if check else ["--no-check"])
    result = json.loads(subprocess.run(cmd, check=True, capture_output=True, text=True).stdout.strip().split("\n")[-1])
    value = result["secs"] if name == "W4" else result["ms_per_step"]
    return value, result


with tempfile.TemporaryDirectory() as tmp:
    subprocess.run([binary, "bench", "--export", tmp], check=True, stdout=subprocess.DEVNULL)
    times = {name: {"rust": [], "numpy": []} for name in only}
    checks, machine, gemm = {}, "", []
    for r in range(rounds):
        for name in only:
            value, machine, rate = rust_run(tmp, name)
            times[name]["rust"].append(value)
            gemm.append(rate)
            value, result = numpy_run(tmp, name, check=(r == 0))
            times[name]["numpy"].append(value)
            if r == 0:
                checks[name] = result
        print(f"round {r + 1}/{rounds} done", file=sys.stderr, flush=True)

print(f"\nmachine: {machine}")
print(f"measured matrix-product rate over the rounds: {min(gemm):.0f}-{max(gemm):.0f} GFLOP/s")
print(f"{rounds} interleaved rounds; medians, ratio of the medians, [lowest-highest ratio of a round]")
print(f"{'':4} {'NumPy':>12} {'Rust':>12} {'ratio':>7} {'range':>15}  agreement (max rel. err., first 100 steps)")
for name in only:
    rust, ref = times[name]["rust"], times[name]["numpy"]
    per_round = [p / q for p, q in zip(ref, rust)]
    spread = f"[{min(per_round):.1f}-{max(per_round):.1f}]"
    unit = "s" if name == "W4" else "ms"
    ratio = statistics.median(ref) / statistics.median(rust)
    line = f"{name:4} {statistics.median(ref):>9.3f} {unit:<2} {statistics.median(rust):>9.3f} {unit:<2} {ratio:>6.1f}x {spread:>15}"
    if name == "W4":
        print(f"{line}  (whole sweep; NumPy batched over the 64 rates)")
        continue
    check = checks[name]
    agree = "OK" if check["agree"] else "DISAGREE"
    errs = ", ".join(f"{k} {v:.1e}" for k, v in check["max_rel_err"].items())
    print(f"{line}  {agree} ({errs})")
