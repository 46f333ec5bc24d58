//! Benchmark W6 (issue 15): the layered ReLU net (4 hidden layers of 1024, 128 MNIST 0/1 images
//! of d = 784, mean MSE, full-batch GD with the top-2 λ̂ every step), and its export for the
//! NumPy and JAX references in `bench/reference_w6.py` (data, every layer's initial weights,
//! the layer factors c_l (`Model::layer_scales`) and the first steps of the Rust trajectory).

use super::bench::{EXPORT_STEPS, Workload, reduction_scale, write_f64};
use crate::engine::config::ConfigError;
use crate::engine::library;
use crate::engine::sim::Simulation;
use serde_json::{Value, json};
use std::path::Path;

/// W6's preset: `images-meltzer-mnist-fig3`'s 128 images under a 4-layer ReLU net of width 1024,
/// mean MSE, no test set and no Hessian sharpness (W6 times the training step, λ̂ and the
/// weight norms; `run_workload` also skips the u column's h², which the references do not
/// compute).
pub fn workload() -> Result<Workload, ConfigError> {
    let set = |k: &str, v: Value| (k.to_string(), v);
    let preset = library::resolve(
        "images-meltzer-mnist-fig3",
        &[
            set("model.kind", json!("mlp")),
            set("model.depth", json!(4)),
            set("model.width", json!(1024)),
            set("model.a_neg", json!(0.0)),
            set("loss.reduction", json!("mean")),
            set("data.test_n", json!(0)),
            set("train.eta_scaled", json!(1.0)),
            set("measure.hessian_every", json!(0)),
        ],
    )?;
    Ok(Workload { name: "W6", what: "4 hidden ReLU layers of 1024 (mlp), 128 MNIST 0/1 images d=784, mean MSE, GD, top-2 kernel", preset, steps: 40 })
}

/// Writes `dir/W6`: x, y, W1 … W{L+1} (row-major, outputs × inputs) and meta.json.
pub fn export(dir: &Path) -> Result<(), String> {
    let w = workload().map_err(|e| e.to_string())?;
    let sub = dir.join("W6");
    std::fs::create_dir_all(&sub).map_err(|e| format!("{}: {e}", sub.display()))?;
    let mut preset = w.preset.clone();
    preset.train.steps = EXPORT_STEPS;
    let mut sim = Simulation::new(&preset)?;
    let data = sim.data().clone();
    write_f64(&sub.join("x.f64"), &data.x)?;
    write_f64(&sub.join("y.f64"), &data.y)?;
    let layers = sim.model().layer_params();
    let mut sizes = vec![data.d];
    for (l, layer) in layers.iter().enumerate() {
        if layer.cols != *sizes.last().unwrap() || layer.bias_init.is_some() {
            return Err(format!("W6 export: layer {} is {} × {} with bias {}, not a chain from d = {}", l + 1, layer.rows, layer.cols, layer.bias_init.is_some(), data.d));
        }
        write_f64(&sub.join(format!("W{}.f64", l + 1)), &layer.weight_init)?;
        sizes.push(layer.rows);
    }
    let (mut loss, mut lambda, mut lambda2) = (Vec::new(), Vec::new(), Vec::new());
    sim.run(|s| {
        loss.push(s.loss);
        lambda.push(s.lambda_hat);
        lambda2.push(s.lambda_hat_2);
    });
    let n = data.n;
    let s = reduction_scale(&preset, n);
    let meta = json!({
        "n": n, "d": data.d, "widths": sizes[1..sizes.len() - 1], "c": sim.model().layer_scales(),
        "a_neg": preset.model.a_neg, "s": s, "eta": sim.eta(), "lambda0": sim.lambda0(),
        "steps": EXPORT_STEPS, "timed_steps": w.steps, "what": w.what,
        "loss": loss, "lambda_hat": lambda, "lambda_hat_2": lambda2,
    });
    std::fs::write(sub.join("meta.json"), meta.to_string()).map_err(|e| e.to_string())?;
    eprintln!("bench: exported W6");
    Ok(())
}
