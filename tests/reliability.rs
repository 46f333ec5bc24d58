//! Reliability of the engine (issue 7): the corpus of hand-made bad presets with their
//! expected messages, a seeded property test ("fuzzer") over the preset loader with arbitrary
//! JSON and arbitrary bytes, numerical extremes of every control, and bit-identical output
//! across runs and thread counts.

use catapult_lab::engine::config::{self, parse_preset};
use catapult_lab::engine::library;
use catapult_lab::engine::sim::Simulation;
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use serde_json::{Value, json};
use std::path::Path;

mod cli_run;
use cli_run::csv_with_env;

#[test]
fn bad_preset_corpus_gives_the_expected_messages() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/bad_presets");
    let mut checked = 0;
    for entry in std::fs::read_dir(&dir).unwrap() {
        let path = entry.unwrap().path();
        if path.extension().is_none_or(|e| e != "json") {
            continue;
        }
        let expected = std::fs::read_to_string(path.with_extension("expected")).expect("each bad preset has a .expected file");
        let err = config::load_preset_file(&path, &[]).expect_err(&format!("{} must be rejected", path.display()));
        let message = err.to_string();
        let file_name = path.file_name().unwrap().to_str().unwrap();
        assert!(message.contains(file_name), "{message} names the file");
        assert!(message.contains(expected.trim()), "{file_name}:\n  got      {message}\n  expected {expected}");
        checked += 1;
    }
    assert!(checked >= 25, "corpus has {checked} files");
}

/// A random JSON value, biased toward the shapes a preset has.
fn random_value(rng: &mut ChaCha8Rng, depth: u32) -> Value {
    match rng.random_range(0..if depth > 3 { 6 } else { 8 }) {
        0 => Value::Null,
        1 => Value::Bool(rng.random()),
        2 => json!(rng.random_range(-5i64..100_000)),
        3 => json!([1e-300, -1.0, 0.0, 0.5, 2.6, 1e6, 1e300, f64::MAX][rng.random_range(0..8)]),
        4 => json!(rng.random_range(-1e9f64..1e9)),
        5 => {
            let words = ["two_layer", "quadratic", "network", "mse", "mean", "clusters", "single", "points", "", "é", "relu"];
            Value::String(words[rng.random_range(0..words.len())].into())
        }
        6 => Value::Array((0..rng.random_range(0..4)).map(|_| random_value(rng, depth + 1)).collect()),
        _ => {
            let keys = ["kind", "width", "x", "y", "n", "d", "eta", "eta_scaled", "steps", "schedule", "a_neg", "zzz"];
            Value::Object(
                (0..rng.random_range(0..4))
                    .map(|_| (keys[rng.random_range(0..keys.len())].to_string(), random_value(rng, depth + 1)))
                    .collect(),
            )
        }
    }
}

/// A shipped preset with random keys replaced, deleted or added.
fn mutated_preset(rng: &mut ChaCha8Rng) -> Value {
    let (_, text) = library::SHIPPED[rng.random_range(0..library::SHIPPED.len())];
    let mut value: Value = serde_json::from_str(text).unwrap();
    for _ in 0..rng.random_range(1..4) {
        let section = ["model", "data", "loss", "train"][rng.random_range(0..4)];
        let keys = ["kind", "width", "a_neg", "approx", "init_scale", "x", "y", "n", "d", "separation", "flip", "reduction",
            "eta", "eta_scaled", "steps", "batch_size", "schedule", "divergence_factor", "w0", "gamma", "bogus"];
        let key = keys[rng.random_range(0..keys.len())];
        let Some(obj) = value.get_mut(section).and_then(Value::as_object_mut) else { continue };
        match rng.random_range(0..3) {
            0 => {
                obj.remove(key);
            }
            _ => {
                obj.insert(key.into(), random_value(rng, 1));
            }
        }
    }
    value
}

#[test]
fn loader_property_test_never_panics_and_always_explains() {
    let mut rng = ChaCha8Rng::seed_from_u64(2026);
    let (mut accepted, mut rejected, mut ran) = (0, 0, 0);
    let cases = 30_000;
    for case in 0..cases {
        let bytes: Vec<u8> = match case % 3 {
            0 => serde_json::to_vec(&mutated_preset(&mut rng)).unwrap(),
            1 => serde_json::to_vec(&random_value(&mut rng, 0)).unwrap(),
            _ => {
                // Arbitrary bytes, often a damaged preset.
                let mut b = serde_json::to_vec(&mutated_preset(&mut rng)).unwrap();
                for _ in 0..rng.random_range(1..6) {
                    if b.is_empty() {
                        break;
                    }
                    let i = rng.random_range(0..b.len());
                    match rng.random_range(0..3) {
                        0 => b[i] = rng.random(),
                        1 => b.truncate(i),
                        _ => b.insert(i, rng.random()),
                    }
                }
                b
            }
        };
        let result = std::panic::catch_unwind(|| parse_preset(&bytes, "fuzz.json", &[]));
        let parsed = result.unwrap_or_else(|_| panic!("loader panicked on {:?}", String::from_utf8_lossy(&bytes)));
        match parsed {
            Ok(preset) => {
                accepted += 1;
                if config::estimated_bytes(&preset) < 4e6 && preset.model.width <= 20_000 {
                    let sim = std::panic::catch_unwind(|| match Simulation::new(&preset) {
                        Ok(mut sim) => {
                            for _ in 0..3 {
                                if let Some(s) = sim.step() {
                                    assert!(s.is_finite());
                                }
                            }
                        }
                        Err(message) => assert!(!message.is_empty()),
                    });
                    assert!(sim.is_ok(), "engine panicked on {}", String::from_utf8_lossy(&bytes));
                    ran += 1;
                }
            }
            Err(e) => {
                rejected += 1;
                let message = e.to_string();
                assert!(message.starts_with("fuzz.json: "), "{message}");
                assert!(!e.key.is_empty() || message.contains("JSON") || message.contains("UTF-8") || message.contains("object"), "{message}");
            }
        }
    }
    assert_eq!(accepted + rejected, cases);
    assert!(accepted > 1000 && rejected > 1000, "both paths exercised: {accepted} accepted ({ran} run), {rejected} rejected");
    eprintln!("loader property test: {cases} inputs, {accepted} accepted ({ran} simulated), {rejected} rejected");
}

#[test]
fn extremes_of_every_control_run_or_refuse_cleanly() {
    let overrides: &[&[(&str, Value)]] = &[
        &[("train.eta_scaled", json!(1e-9))],
        &[("train.eta_scaled", json!(1e5))],
        &[("train.eta", json!(1e12))],
        &[("model.width", json!(10))],
        &[("model.width", json!(3_000_000)), ("train.steps", json!(3))],
        &[("model.init_scale", json!(0.0))],
        &[("model.init_scale", json!(0.0)), ("train.eta", json!(0.5))],
        &[("model.init_scale", json!(1e6))],
        &[("model.init_scale", json!(1e-150))],
        &[("data.kind", json!("clusters")), ("data.separation", json!(0.0)), ("data.n", json!(20))],
        &[("data.kind", json!("clusters")), ("data.flip", json!(1.0)), ("data.n", json!(20)), ("loss.kind", json!("logistic"))],
        &[("data.kind", json!("clusters")), ("data.n", json!(20)), ("loss.kind", json!("exponential")), ("train.eta", json!(1e6))],
        &[("model.a_neg", json!(0.0)), ("train.eta_scaled", json!(6.0))],
        &[("model.approx", json!("linearized")), ("train.eta_scaled", json!(6.0))],
        &[("data.x", json!([1e150])), ("train.eta_scaled", json!(2.5))],
        &[("data.x", json!([1e-200])), ("train.eta_scaled", json!(2.5))],
    ];
    for set in overrides {
        let list: Vec<(String, Value)> = set.iter().map(|(k, v)| (k.to_string(), v.clone())).collect();
        let preset = library::shipped("catapult-uv", &list).unwrap().unwrap();
        let outcome = std::panic::catch_unwind(|| match Simulation::new(&preset) {
            Ok(mut sim) => {
                let mut steps = 0;
                while let Some(s) = sim.step() {
                    assert!(s.is_finite(), "{set:?}: non-finite sample {s:?}");
                    steps += 1;
                    if steps == 300 {
                        break;
                    }
                }
                let summary = sim.summary();
                let json = catapult_lab::report::output::summary_json(&summary);
                assert!(!json.contains("NaN") && !json.contains("inf"), "{set:?}: {json}");
            }
            Err(message) => assert!(message.contains("init_scale") || message.contains("eta"), "{set:?}: {message}"),
        });
        assert!(outcome.is_ok(), "panicked with {set:?}");
    }
}

fn csv_of(preset: &str, threads: &str, steps: &str) -> Vec<u8> {
    csv_with_env(preset, steps, &[("RAYON_NUM_THREADS", threads)])
}

/// The hot loops compiled for wider vector units (model::simd) give the same bits as the
/// baseline build: no fused multiply-add, fixed reduction lanes. On a CPU without AVX2 both
/// runs use the baseline and the test still checks run-to-run identity.
#[test]
fn output_is_bit_identical_across_vector_instruction_sets() {
    println!("this CPU: {:?}", catapult_lab::engine::model::simd::detected());
    // One example (the fused step) for the three approximations and a leaky gate, and the
    // d = 1 multi-example sign-class sums at a size that takes the parallel paths.
    for (preset, steps) in [
        ("catapult-uv", "200"),
        ("zhu-one-example-relu", "200"),
        ("zhu-one-example-nqm", "200"),
        ("zhu-one-example-linearized", "200"),
        ("meltzer-homogeneous-05", "200"),
        ("zhu-multi-example", "15"),
        ("zhu-multi-example-nqm", "15"),
    ] {
        let widest = csv_with_env(preset, steps, &[]);
        assert!(widest.len() > 1000, "{preset}");
        for level in ["baseline", "avx2"] {
            assert!(widest == csv_with_env(preset, steps, &[("CATAPULT_SIMD", level)]), "{preset}: {level} differs from the widest level");
        }
    }
}

#[test]
fn output_is_bit_identical_across_runs_and_thread_counts() {
    // zhu-multi-example is large enough (n·m = 640 000) to take the parallel paths.
    let one = csv_of("zhu-multi-example", "1", "15");
    let two = csv_of("zhu-multi-example", "2", "15");
    let four = csv_of("zhu-multi-example", "4", "15");
    assert!(one.len() > 1000);
    assert_eq!(one, two, "1 vs 2 threads");
    assert_eq!(one, four, "1 vs 4 threads");
    assert_eq!(csv_of("catapult-uv", "2", "200"), csv_of("catapult-uv", "2", "200"), "run vs rerun");
    // d = 50, n = 1000: the cached m × n paths, blocked matrix products and the formed kernel.
    let one = csv_of("zhu-sgd-batch-full", "1", "4");
    assert_eq!(one, csv_of("zhu-sgd-batch-full", "2", "4"), "teacher data, 1 vs 2 threads");
    assert_eq!(one, csv_of("zhu-sgd-batch-full", "3", "4"), "teacher data, 1 vs 3 threads");
}

/// What the app's Save as… writes (`config::preset_to_json`) loads back identical, for every
/// shipped preset and for randomly mutated presets the loader accepts.
#[test]
fn saved_presets_load_back_identical() {
    let mut presets: Vec<config::Preset> =
        library::SHIPPED.iter().map(|(name, _)| library::shipped(name, &[]).unwrap().unwrap()).collect();
    let mut rng = ChaCha8Rng::seed_from_u64(7);
    while presets.len() < 300 {
        let bytes = serde_json::to_vec(&mutated_preset(&mut rng)).unwrap();
        if let Ok(p) = parse_preset(&bytes, "mutated.json", &[]) {
            presets.push(p);
        }
    }
    for preset in presets {
        let text = config::preset_to_json(&preset);
        let back = parse_preset(text.as_bytes(), "saved.json", &[]).unwrap_or_else(|e| panic!("{e}\n{text}"));
        assert_eq!(back, preset, "{text}");
        assert_eq!(config::preset_to_json(&back), text, "saving twice gives the same bytes");
    }
}
