//! `run --params-out FILE.npz` round trip: NumPy (python3, where it is installed; the test says
//! so and passes without checking otherwise) loads the archive, recomputes λ̂0 (the top
//! eigenvalue of the normalized kernel K̂ = 2sK, SPEC §3, from the explicit Jacobian of the
//! two-layer net f(x) = c W2 σ(W1 x / s_d)) and L0 from the init arrays, and the final loss from
//! the final arrays, and they match the CSV's first and last rows to 1e-9 (the last: or 1e-12 of L0). Also: the archive's
//! arrays have the documented names and shapes, and a path that cannot be written exits 2.

use std::path::Path;
use std::process::Command;

const CHECK: &str = r#"
import json, sys
import numpy as np
z = np.load(sys.argv[1])
preset = json.loads(bytes(z["preset_json"]).decode())
X, y = z["x_train"], z["y_train"]
s = float(z["loss_scale"][0])
a_neg = float(z["a_neg"][0])
scales = z["layer_scales"]
kind = preset["model"]["kind"]

def outputs_and_kernel(tag):
    if kind == "two_layer":
        W1, W2 = z["W1_" + tag], z["W2_" + tag][0]
        s_in, c = scales
        Z = s_in * X @ W1.T                      # n x m pre-activations
        G = np.where(Z >= 0, 1.0, a_neg)         # sigma'
        H = Z * G                                # sigma(z)
        f = c * H @ W2
        Ju = (c * s_in) * (G * W2)[:, :, None] * X[:, None, :]   # n x m x d
        J = np.concatenate([Ju.reshape(len(X), -1), c * H], axis=1)
    elif kind == "mlp":                          # z_l = c_l W_l h_{l-1} + beta b_l, relu/linear gates
        L = len(scales)
        beta = preset["model"].get("bias_scale", 1.0)
        Ws = [z[f"W{l}_" + tag] for l in range(1, L + 1)]
        bs = [z[f"b{l}_" + tag] if f"b{l}_" + tag in z.files else None for l in range(1, L + 1)]
        hs, gates, h = [X], [], X
        for l in range(L):
            zl = scales[l] * h @ Ws[l].T + (beta * bs[l] if bs[l] is not None else 0.0)
            if l < L - 1:
                g = np.where(zl >= 0, 1.0, a_neg)
                gates.append(g)
                h = g * zl
                hs.append(h)
        f = zl[:, 0]
        delta, blocks = np.ones((len(X), 1)), []
        for l in range(L - 1, -1, -1):           # explicit Jacobian rows, layer by layer
            block = [(scales[l] * delta[:, :, None] * hs[l][:, None, :]).reshape(len(X), -1)]
            if bs[l] is not None:
                block.append(beta * delta)
            blocks = block + blocks
            if l > 0:
                delta = scales[l] * (delta @ Ws[l]) * gates[l - 1]
        J = np.concatenate(blocks, axis=1)
    else:
        W1 = z["W1_" + tag][0]
        f = scales[0] * X @ W1
        J = scales[0] * X
    return f, J @ J.T

f0, K0 = outputs_and_kernel("init")
lam0 = np.linalg.eigvalsh(2 * s * K0).max()      # MSE: K-hat = 2 s K
loss0 = s * np.sum((f0 - y) ** 2)
f1, _ = outputs_and_kernel("final")
loss1 = s * np.sum((f1 - y) ** 2)
assert np.allclose(z["w_init"][: z["W1_init"].size], z["W1_init"].ravel()), "w_init starts with W1"
print(json.dumps({"lambda0": float(lam0), "loss0": float(loss0), "final_loss": float(loss1),
                  "has_test": "x_test" in z.files, "names": sorted(z.files)}))
"#;

fn numpy_available() -> bool {
    Command::new("python3").args(["-c", "import numpy"]).output().is_ok_and(|o| o.status.success())
}

fn csv_rows(path: &Path) -> (Vec<String>, Vec<Vec<f64>>) {
    let text = std::fs::read_to_string(path).unwrap();
    let mut lines = text.lines();
    let header: Vec<String> = lines.next().unwrap().split(',').map(String::from).collect();
    let rows = lines.map(|l| l.split(',').map(|c| c.parse().unwrap_or(f64::NAN)).collect()).collect();
    (header, rows)
}

fn rel_err(a: f64, b: f64) -> f64 {
    (a - b).abs() / a.abs().max(b.abs()).max(1e-300)
}

fn run_with_params_out(sets: &[&str], dir: &Path) -> (std::path::PathBuf, std::path::PathBuf) {
    let (csv, npz) = (dir.join("run.csv"), dir.join("params.npz"));
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_catapult-lab"));
    cmd.args(["run", "--preset", "catapult-uv"]);
    for s in sets {
        cmd.args(["--set", s]);
    }
    let out = cmd.arg("--csv").arg(&csv).arg("--params-out").arg(&npz).output().unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    (csv, npz)
}

#[test]
fn numpy_recomputes_lambda0_and_the_loss_from_the_archive() {
    if !numpy_available() {
        println!("SKIPPED: python3 with numpy is not available here; the .npz round trip was not checked");
        return;
    }
    let cases: [(&str, &[&str]); 5] = [
        ("mlp with biases", &[r#"model={"kind":"mlp","depth":2,"width":7,"bias":true,"bias_scale":0.5}"#, r#"data={"kind":"teacher","n":10,"d":3,"teacher":"rank2","test_n":0}"#, r#"loss={"kind":"mse","reduction":"mean"}"#, "train.eta_scaled=2.5", "train.steps=6"]),
        ("relu teacher", &["model.width=50", "model.a_neg=0", r#"data={"kind":"teacher","n":20,"d":4,"teacher":"rank2","test_n":7}"#, r#"loss={"kind":"mse","reduction":"mean"}"#, "train.steps=8"]),
        ("leaky mean-field", &["model.width=30", "model.a_neg=0.3", "model.parameterization=mean_field", "model.input_norm=none", r#"data={"kind":"clusters","n":12,"d":3}"#, "train.eta_scaled=1.5", "train.steps=5"]),
        ("catapult-uv", &["train.steps=20"]),
        ("linear predictor", &[r#"model={"kind":"linear_predictor","w0":[0.1,-0.3,0.2]}"#, r#"data={"kind":"clusters","n":9,"d":3}"#, r#"loss={"kind":"mse","reduction":"half_mean"}"#, "train.steps=4"]),
    ];
    for (label, sets) in cases {
        let dir = tempfile::tempdir().unwrap();
        let (csv, npz) = run_with_params_out(sets, dir.path());
        let out = Command::new("python3").args(["-c", CHECK]).arg(&npz).output().unwrap();
        assert!(out.status.success(), "{label}: python failed: {}", String::from_utf8_lossy(&out.stderr));
        let got: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
        let (header, rows) = csv_rows(&csv);
        let col = |name: &str| header.iter().position(|h| h == name).unwrap();
        let (first, last) = (&rows[0], rows.last().unwrap());
        let lambda0 = got["lambda0"].as_f64().unwrap();
        assert!(rel_err(lambda0, first[col("lambda_hat")]) < 1e-9, "{label}: λ̂0 numpy {lambda0} vs CSV {}", first[col("lambda_hat")]);
        assert!(rel_err(got["loss0"].as_f64().unwrap(), first[col("loss")]) < 1e-9, "{label}: L0 numpy {} vs CSV {}", got["loss0"], first[col("loss")]);
        // The final loss can be ~1e-19 (a converged catapult), where rounding in f − y dominates:
        // relative 1e-9, or 1e-12 of L0.
        let (final_np, final_csv) = (got["final_loss"].as_f64().unwrap(), last[col("loss")]);
        assert!((final_np - final_csv).abs() <= 1e-9 * final_np.abs().max(final_csv.abs()) + 1e-12 * first[col("loss")], "{label}: final loss numpy {final_np} vs CSV {final_csv}");
        assert_eq!(got["has_test"].as_bool().unwrap(), label == "relu teacher", "{label}: x_test present only with a test split");
        let names: Vec<&str> = got["names"].as_array().unwrap().iter().map(|v| v.as_str().unwrap()).collect();
        let layered: &[&str] = match label {
            "linear predictor" => &["W1_final", "W1_init"],
            "mlp with biases" => &["W1_init", "b1_init", "W2_final", "b2_final", "W3_init", "b3_final"],
            _ => &["W1_final", "W1_init", "W2_final", "W2_init"],
        };
        for name in layered.iter().chain(&["x_train", "y_train", "w_init", "w_final", "layer_scales", "a_neg", "loss_scale", "preset_json"]) {
            assert!(names.contains(name), "{label}: no {name} in {names:?}");
        }
    }
}

#[test]
fn an_unwritable_params_out_path_exits_2() {
    let out = Command::new(env!("CARGO_BIN_EXE_catapult-lab"))
        .args(["run", "--preset", "catapult-uv", "--steps", "2", "--params-out", "/nonexistent-dir/p.npz"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("/nonexistent-dir/p.npz"));
}
