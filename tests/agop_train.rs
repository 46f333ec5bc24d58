//! The AGOP alignment cos(G, G*) on teacher data is measured from the training inputs, with or
//! without a test split; the AGOP of a large training set taken a block of rows at a time
//! equals the one-product form; the layered net's cached training-input gradients equal the
//! recomputed ones.

use catapult_lab::engine::config::{Preset, parse_preset};
use catapult_lab::engine::model::{dot, norm_sq};
use catapult_lab::engine::sim::Simulation;

fn preset(model: &str, test_n: usize) -> Preset {
    let json = format!(
        r#"{{"version": 1, "seed": 2, "model": {model},
            "data": {{"kind": "teacher", "teacher": "rank2", "n": 60, "d": 9, "noise": 0.05, "test_n": {test_n}}},
            "loss": {{"kind": "mse", "reduction": "half_mean"}}, "train": {{"eta_scaled": 1.5, "steps": 6}}}}"#
    );
    parse_preset(json.as_bytes(), "test", &[]).unwrap_or_else(|e| panic!("{e}: {json}"))
}

const TWO_LAYER: &str = r#"{"kind": "two_layer", "width": 40}"#;
const MLP: &str = r#"{"kind": "mlp", "depth": 3, "width": 24, "activation": "relu"}"#;

fn rel(a: &[f64], b: &[f64]) -> f64 {
    let diff: Vec<f64> = a.iter().zip(b).map(|(x, y)| x - y).collect();
    (norm_sq(&diff) / norm_sq(b)).sqrt()
}

#[test]
fn alignment_is_measured_without_a_test_split() {
    for model in [TWO_LAYER, MLP] {
        let mut sim = Simulation::new(&preset(model, 0)).unwrap();
        assert!(sim.test_data().is_none());
        for _ in 0..3 {
            let sample = sim.step().expect("the run goes on");
            assert!(sample.test_loss.is_none(), "{model}: no test set, no test loss");
            let alignment = sample.agop_alignment.unwrap_or_else(|| panic!("{model}: alignment measured at step {}", sample.step));
            let g = sim.agop().unwrap();
            let target = sim.agop_target().unwrap();
            let expected = dot(&g, target) / (norm_sq(&g) * norm_sq(target)).sqrt();
            assert!((alignment - expected).abs() < 1e-12, "{model}: {alignment} vs {expected}");
            assert!(alignment > -1.0 && alignment < 1.0);
        }
    }
}

#[test]
fn agop_by_blocks_equals_the_one_product_form() {
    for model in [TWO_LAYER, MLP] {
        for test_n in [0, 20] {
            let mut sim = Simulation::new(&preset(model, test_n)).unwrap();
            sim.step();
            sim.step();
            let whole = sim.agop().unwrap();
            for rows in [1, 7, 60, 1000] {
                let blocked = sim.agop_by_blocks(rows).unwrap();
                let err = rel(&blocked, &whole);
                assert!(err < 1e-13, "{model} test_n={test_n} rows={rows}: blocked AGOP differs by {err:.2e}");
                // G is symmetric by construction.
                let d = (whole.len() as f64).sqrt() as usize;
                assert!((0..d).all(|a| (0..a).all(|b| blocked[a * d + b] == blocked[b * d + a])));
            }
        }
    }
}
