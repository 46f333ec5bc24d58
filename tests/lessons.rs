//! `catapult-lab lessons`: lists every shipped lesson (name, title, one line); `--check FILE`
//! accepts a valid lesson file and refuses a broken one with one line naming file, step and key.

use catapult_lab::engine::lessons;
use std::process::Command;

fn bin() -> Command {
    Command::new(env!("CARGO_BIN_EXE_catapult-lab"))
}

#[test]
fn lessons_lists_every_shipped_lesson() {
    let out = bin().arg("lessons").output().unwrap();
    assert!(out.status.success());
    let text = String::from_utf8(out.stdout).unwrap();
    assert_eq!(text.lines().count(), lessons::SHIPPED.len());
    assert!(lessons::SHIPPED.len() >= 5);
    for (line, lesson) in text.lines().zip(lessons::shipped()) {
        assert!(line.starts_with(&lesson.name) && line.contains(&lesson.title) && line.contains(&lesson.summary), "{line}");
    }
}

#[test]
fn a_broken_lesson_file_is_refused_with_file_step_and_key() {
    let dir = tempfile::tempdir().unwrap();
    let good = dir.path().join("good.json");
    std::fs::write(&good, lessons::SHIPPED[1].1).unwrap();
    let out = bin().args(["lessons", "--check", good.to_str().unwrap()]).output().unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let mut value: serde_json::Value = serde_json::from_str(lessons::SHIPPED[1].1).unwrap();
    value["steps"][3]["run"] = serde_json::json!({"until": "the end"});
    let bad = dir.path().join("bad.json");
    std::fs::write(&bad, value.to_string()).unwrap();
    let out = bin().args(["lessons", "--check", bad.to_str().unwrap()]).output().unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{err}");
    assert!(err.contains("bad.json") && err.contains("step 4") && err.contains("run") && !err.contains("panicked"), "{err}");
    assert_eq!(err.trim_end().lines().count(), 1, "{err}");
}
