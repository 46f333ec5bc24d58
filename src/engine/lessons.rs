//! Lessons: guided sequences of runs stored as JSON files under `assets/lessons/`, compiled into
//! the binary like the presets. A lesson is `{version, name, title, summary, steps}`; each step
//! has `text`, `preset` (a shipped preset, or "continue" to keep the run on screen), optional
//! `set` overrides, `run` (`{"to_step": N}` or `{"until": "peak" | "edge" | "divergence"}`), a
//! `highlight` (`{"plot": "loss" | "kernel" | "weights" | "phase_plane", "label": …}`: a callout
//! ring on that plot at the point where the step's run stopped) and an optional `question` with
//! its `answer`. `parse` refuses a lesson with an error naming the file, the step and the key.

use crate::engine::config::ConfigError;
use crate::engine::library;
use serde::{Deserialize, Serialize};
use serde_json::Value;

/// The only lesson format version this program reads.
pub const LESSON_VERSION: u32 = 1;

/// (name, JSON text) of every shipped lesson, in the order the Lessons menu lists them.
pub const SHIPPED: &[(&str, &str)] = &[
    ("three-phases", include_str!("../../assets/lessons/three-phases.json")),
    ("why-the-kernel-falls", include_str!("../../assets/lessons/why-the-kernel-falls.json")),
    ("multiple-catapults", include_str!("../../assets/lessons/multiple-catapults.json")),
    ("sgd-spikes", include_str!("../../assets/lessons/sgd-spikes.json")),
    ("network-nqm-linearized", include_str!("../../assets/lessons/network-nqm-linearized.json")),
];

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Lesson {
    pub version: u32,
    pub name: String,
    pub title: String,
    /// One line for `catapult-lab lessons` and the menu.
    pub summary: String,
    pub steps: Vec<LessonStep>,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LessonStep {
    pub text: String,
    /// A shipped preset name, or "continue" (keep the run on screen and go on from its step).
    pub preset: String,
    /// Overrides of the preset, dotted keys as `--set` takes them.
    #[serde(default, skip_serializing_if = "serde_json::Map::is_empty")]
    pub set: serde_json::Map<String, Value>,
    pub run: RunTarget,
    pub highlight: Highlight,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub question: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub answer: Option<String>,
}

/// How far a step runs: to an absolute step, or until an event.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, untagged)]
pub enum RunTarget {
    ToStep { to_step: u64 },
    Until { until: Event },
}

/// Events a step can run until.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Event {
    /// The loss has risen (to more than twice its value where the step started) and turns down:
    /// the step stops at the peak.
    Peak,
    /// η·λ̂ falls below 2 after being at or above it during the step.
    Edge,
    /// The run diverged.
    Divergence,
}

/// The plots a step can point at.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum PlotName {
    Loss,
    Kernel,
    Weights,
    PhasePlane,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Highlight {
    pub plot: PlotName,
    /// The callout's text next to the ring.
    pub label: String,
}

impl LessonStep {
    /// The step's overrides as `(key, value)` pairs.
    pub fn overrides(&self) -> Vec<(String, Value)> {
        self.set.iter().map(|(k, v)| (k.clone(), v.clone())).collect()
    }

    pub fn continues(&self) -> bool {
        self.preset == "continue"
    }
}

fn err(file: &str, key: String, message: impl Into<String>) -> ConfigError {
    ConfigError { file: file.to_string(), key, message: message.into() }
}

/// `step N` (1-based) plus the key inside the step, from a serde path like `steps[2].run.until`.
fn step_key(path: &str) -> String {
    if let Some(rest) = path.strip_prefix("steps[")
        && let Some((index, key)) = rest.split_once(']')
        && let Ok(i) = index.parse::<usize>()
    {
        let key = key.trim_start_matches('.');
        return if key.is_empty() { format!("step {}", i + 1) } else { format!("step {}: {key}", i + 1) };
    }
    path.to_string()
}

/// Parses and checks a lesson: the JSON, then every step (presets exist and take the overrides,
/// the first step names a preset, a question has an answer). `file` names the source in errors.
pub fn parse(text: &str, file: &str) -> Result<Lesson, ConfigError> {
    let value: Value = serde_json::from_str(text).map_err(|e| err(file, String::new(), format!("not valid JSON: {e}")))?;
    match value.get("version") {
        Some(Value::Number(n)) if n.as_u64() == Some(LESSON_VERSION as u64) => {}
        other => return Err(err(file, "version".into(), format!("is {}; this program reads lesson version {LESSON_VERSION}", other.map_or("missing".to_string(), |v| v.to_string())))),
    }
    let lesson: Lesson = serde_path_to_error::deserialize(&value).map_err(|e| {
        let path = e.path().to_string();
        let inner = e.into_inner().to_string();
        let inner = if inner.contains("did not match any variant of untagged enum RunTarget") { "expected {\"to_step\": N} or {\"until\": \"peak\" | \"edge\" | \"divergence\"}".to_string() } else { inner };
        err(file, if path == "." { String::new() } else { step_key(&path) }, inner)
    })?;
    if lesson.steps.is_empty() {
        return Err(err(file, "steps".into(), "a lesson needs at least one step"));
    }
    for (i, step) in lesson.steps.iter().enumerate() {
        let at = |key: &str| format!("step {}: {key}", i + 1);
        if step.text.trim().is_empty() {
            return Err(err(file, at("text"), "is empty"));
        }
        if step.continues() {
            if i == 0 {
                return Err(err(file, at("preset"), "the first step cannot continue: name a preset"));
            }
            if !step.set.is_empty() {
                return Err(err(file, at("set"), "a step that continues the run cannot change its preset"));
            }
        } else {
            match library::shipped(&step.preset, &step.overrides()) {
                None => return Err(err(file, at("preset"), format!("`{}` is not a shipped preset (or \"continue\")", step.preset))),
                Some(Err(e)) => return Err(err(file, at(&format!("set.{}", e.key)), e.message)),
                Some(Ok(_)) => {}
            }
        }
        if let RunTarget::ToStep { to_step: 0 } = step.run {
            return Err(err(file, at("run.to_step"), "must be at least 1"));
        }
        match (&step.question, &step.answer) {
            (Some(_), None) => return Err(err(file, at("answer"), "a question needs its answer")),
            (None, Some(_)) => return Err(err(file, at("question"), "an answer without a question")),
            _ => {}
        }
    }
    Ok(lesson)
}

/// Every shipped lesson, parsed (a shipped lesson that fails to parse is a build bug: tests check).
pub fn shipped() -> Vec<Lesson> {
    SHIPPED.iter().filter_map(|(name, text)| parse(text, &format!("assets/lessons/{name}.json")).ok()).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_shipped_lesson_parses_and_is_named_like_its_file() {
        for (name, text) in SHIPPED {
            let lesson = parse(text, name).unwrap_or_else(|e| panic!("{e}"));
            assert_eq!(&lesson.name, name);
        }
        assert_eq!(shipped().len(), SHIPPED.len());
    }

    #[test]
    fn errors_name_the_file_the_step_and_the_key() {
        let good = SHIPPED[0].1;
        let bad = good.replacen("\"until\": \"peak\"", "\"until\": \"peek\"", 1);
        let e = parse(&bad, "x.json").unwrap_err();
        assert_eq!(e.file, "x.json");
        assert!(e.key.starts_with("step "), "{e}");
        let mut value: Value = serde_json::from_str(good).unwrap();
        value["steps"][1]["highlight"]["plot"] = Value::from("lost");
        let e = parse(&value.to_string(), "y.json").unwrap_err();
        assert_eq!(e.key, "step 2: highlight.plot", "{e}");
        let mut value: Value = serde_json::from_str(good).unwrap();
        value["steps"][2]["preset"] = Value::from("no-such-preset");
        let e = parse(&value.to_string(), "z.json").unwrap_err();
        assert_eq!((e.key.as_str(), e.to_string().contains("not a shipped preset")), ("step 3: preset", true), "{e}");
        let mut value: Value = serde_json::from_str(good).unwrap();
        value["steps"][0]["set"] = serde_json::json!({"model.width": -3});
        let e = parse(&value.to_string(), "w.json").unwrap_err();
        assert_eq!(e.key, "step 1: set.model.width", "{e}");
        let mut value: Value = serde_json::from_str(good).unwrap();
        value["steps"][0]["preset"] = Value::from("continue");
        assert_eq!(parse(&value.to_string(), "v.json").unwrap_err().key, "step 1: preset");
        let mut value: Value = serde_json::from_str(good).unwrap();
        value["steps"][0]["colour"] = Value::from("red");
        let e = parse(&value.to_string(), "u.json").unwrap_err();
        assert!(e.key.starts_with("step 1") && e.message.contains("colour"), "{e}");
    }
}
