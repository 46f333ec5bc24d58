//! A helper shared by the tests that run the real binary (tests/reliability.rs,
//! tests/speed_exact.rs): `catapult-lab run` on a preset with extra environment variables,
//! returning the CSV it wrote.

use std::process::Command;

/// The CSV bytes of `catapult-lab run --preset P --steps S` with `env` set (panics on failure
/// with the command's error output).
pub fn csv_with_env(preset: &str, steps: &str, env: &[(&str, &str)]) -> Vec<u8> {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("out.csv");
    let out = Command::new(env!("CARGO_BIN_EXE_catapult-lab"))
        .args(["run", "--preset", preset, "--steps", steps, "--csv", path.to_str().unwrap()])
        .envs(env.iter().copied())
        .output()
        .unwrap();
    assert!(out.status.success(), "{preset}: {}", String::from_utf8_lossy(&out.stderr));
    std::fs::read(&path).unwrap()
}
