//! Share codes: a code reopens exactly the run of the preset it was made from (same summary, same
//! CSV) for every shipped preset with random `--set` overrides; a damaged code (truncated, a
//! changed character, flipped bits, a wrong version) is refused with an error saying it is damaged.

use catapult_lab::engine::config::{self, share};
use catapult_lab::engine::library;
use catapult_lab::engine::sim::Simulation;
use catapult_lab::report::output::{SampleCsv, summary_json};
use rand::{Rng, SeedableRng};
use serde_json::Value;
use std::process::Command;

/// The summary JSON and the CSV bytes of one run.
fn outputs(preset: &config::Preset) -> (String, Vec<u8>) {
    let mut sim = Simulation::new(preset).expect("a shipped preset builds");
    let mut csv = SampleCsv::with_columns(Vec::new(), sim.extra_columns());
    let summary = sim.run(|s| csv.write(s).unwrap());
    (summary_json(&summary), csv.finish().unwrap())
}

/// Random overrides of the keys a teacher changes: seed, steps, the learning rate in either unit.
fn random_overrides(rng: &mut impl Rng, preset: &config::Preset) -> Vec<(String, Value)> {
    let mut o = vec![("train.steps".to_string(), Value::from(rng.random_range(3..25u64)))];
    if rng.random_bool(0.7) {
        o.push(("seed".into(), Value::from(rng.random_range(0..1_000_000u64))));
    }
    if preset.train.schedule.is_empty() && rng.random_bool(0.6) {
        if rng.random_bool(0.5) {
            o.push(("train.eta_scaled".into(), Value::from((rng.random_range(0.2..3.5f64) * 1000.0).round() / 1000.0)));
        } else {
            o.push(("train.eta".into(), Value::from(rng.random_range(0.01..1.5f64))));
        }
    }
    o
}

#[test]
fn share_round_trip_equals_the_presets_own_run_for_every_shipped_preset() {
    let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(17);
    let mut checked = 0;
    for (name, _) in library::SHIPPED {
        let base = library::shipped(name, &[]).unwrap().unwrap();
        for _case in 0..2 {
            let overrides = random_overrides(&mut rng, &base);
            let Ok(preset) = library::resolve(name, &overrides) else { continue };
            let code = share::encode(&preset);
            assert!(code.starts_with("cl1-") && code.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_'), "{code}");
            let reopened = library::resolve(&code, &[]).unwrap_or_else(|e| panic!("{name} {overrides:?}: {e}"));
            assert_eq!(reopened, preset, "{name} {overrides:?}: the code holds the whole preset");
            assert_eq!(outputs(&reopened), outputs(&preset), "{name} {overrides:?}: same summary and CSV");
            checked += 1;
        }
    }
    assert!(checked >= library::SHIPPED.len(), "only {checked} cases ran");
}

#[test]
fn the_cli_share_code_reopens_the_same_run() {
    let bin = env!("CARGO_BIN_EXE_catapult-lab");
    let dir = tempfile::tempdir().unwrap();
    let out = Command::new(bin).args(["share", "--preset", "catapult-uv", "--set", "train.eta_scaled=3.1", "--steps", "60"]).output().unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let code = String::from_utf8(out.stdout).unwrap().trim().to_string();
    let run = |preset: &[&str], tag: &str| {
        let csv = dir.path().join(format!("{tag}.csv"));
        let mut args = vec!["run", "--csv", csv.to_str().unwrap()];
        args.extend_from_slice(preset);
        let out = Command::new(bin).args(&args).output().unwrap();
        assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
        (out.stdout, std::fs::read(&csv).unwrap())
    };
    let direct = run(&["--preset", "catapult-uv", "--set", "train.eta_scaled=3.1", "--steps", "60"], "direct");
    let shared = run(&["--preset", &code], "shared");
    assert_eq!(direct, shared);
    assert!(String::from_utf8_lossy(&shared.0).contains("\"eta_scaled\": 3.1"));
}

#[test]
fn damaged_codes_are_refused_as_damaged() {
    let preset = library::resolve("zhu-multi-example", &[]).unwrap();
    let code = share::encode(&preset);
    let refused = |bad: &str, what: &str| {
        let e = library::resolve(bad, &[]).expect_err(what).to_string();
        assert!(e.contains("damaged"), "{what}: {e}");
    };
    for cut in [5, code.len() / 3, code.len() / 2, code.len() - 1] {
        refused(&code[..cut], &format!("truncated to {cut}"));
    }
    let body = code.as_bytes();
    let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(3);
    for _ in 0..200 {
        let mut bytes = body.to_vec();
        let i = rng.random_range(4..bytes.len());
        let alphabet = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
        let c = alphabet[rng.random_range(0..64)];
        if c == bytes[i] {
            continue;
        }
        bytes[i] = c;
        let bad = String::from_utf8(bytes).unwrap();
        // A changed last character may only change padding bits: then the code still decodes exactly.
        match library::resolve(&bad, &[]) {
            Ok(p) => assert_eq!(p, preset, "a changed character at {i} gave a different preset"),
            Err(e) => assert!(e.to_string().contains("damaged"), "{e}"),
        }
    }
    refused(&format!("cl2-{}", &code[4..]), "wrong version");
    refused(&format!("cl1-{}!", &code[4..]), "a foreign character");
    let bin = env!("CARGO_BIN_EXE_catapult-lab");
    let out = Command::new(bin).args(["run", "--preset", &code[..code.len() / 2]]).output().unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2));
    assert!(err.contains("damaged") && !err.contains("panicked") && err.trim_end().lines().count() == 1, "{err}");
}
