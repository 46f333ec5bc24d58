#!/usr/bin/env python3
"""Side-by-side speed comparison (issue 6): exports W1-W4 from the Rust engine, runs the NumPy
reference (bench/reference.py) on the same data and initial weights, checks that both compute
the same trajectories (loss and lambda_hat over the first 100 steps, 1e-6 relative), times both
on this machine, and prints the ratio per workload.

Usage: python3 bench/compare.py [--only W1,W2] [--quick] [--bin PATH]
(build first: cargo build --release; the binary defaults to
$CARGO_TARGET_DIR/release/catapult-lab, else target/release/catapult-lab)."""
import json
import os
import subprocess
import sys
import tempfile

here = os.path.dirname(os.path.abspath(__file__))
args = sys.argv[1:]
only = args[args.index("--only") + 1] if "--only" in args else "W1,W2,W3,W4"
target = os.environ.get("CARGO_TARGET_DIR", os.path.join(here, "..", "target"))
binary = args[args.index("--bin") + 1] if "--bin" in args else os.path.join(target, "release", "catapult-lab")

with tempfile.TemporaryDirectory() as tmp:
    subprocess.run([binary, "bench", "--export", tmp], check=True)
    rust_json = os.path.join(tmp, "rust.json")
    cmd = [binary, "bench", "--only", only, "--json", rust_json] + (["--quick"] if "--quick" in args else [])
    subprocess.run(cmd, check=True)
    rust = {w["name"]: w for w in json.load(open(rust_json))["workloads"]}
    machine = json.load(open(rust_json))["machine"]
    ref_out = subprocess.run([sys.executable, os.path.join(here, "reference.py"), tmp, "--only", only],
                             check=True, capture_output=True, text=True).stdout
    ref = {r["name"]: r for r in map(json.loads, ref_out.split("\n")[:-1])}

print(f"\nmachine: {machine}")
print(f"{'':4} {'NumPy ms/step':>14} {'Rust ms/step':>13} {'ratio':>8}  agreement (max rel. err., first 100 steps)")
for name in only.split(","):
    r, p = rust[name], ref[name]
    if name == "W4":
        print(f"{name:4} {p['secs']:>12.2f} s {r['secs']:>11.2f} s {p['secs'] / r['secs']:>7.1f}x  (whole sweep; NumPy batched over the 64 rates)")
        continue
    rust_ms = 1e3 * r["secs"] / r["steps"]
    agree = "OK" if p["agree"] else "DISAGREE"
    errs = ", ".join(f"{k} {v:.1e}" for k, v in p["max_rel_err"].items())
    print(f"{name:4} {p['ms_per_step']:>14.3f} {rust_ms:>13.3f} {p['ms_per_step'] / rust_ms:>7.1f}x  {agree} ({errs})")
