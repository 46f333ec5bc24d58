//! The built-in preset library: every JSON file under `presets/`, compiled into the binary so
//! `--preset NAME` works from any directory; `resolve` also accepts a path to a file or a share code (`cl1-…`).

use crate::engine::config::{self, ConfigError, Preset};
use serde_json::Value;
use std::path::Path;

/// (name, JSON text) of every shipped preset, in the order `catapult-lab presets` lists them.
pub const SHIPPED: &[(&str, &str)] = &[
    ("lazy-uv", include_str!("../../presets/lazy-uv.json")),
    ("catapult-uv", include_str!("../../presets/catapult-uv.json")),
    ("divergent-uv", include_str!("../../presets/divergent-uv.json")),
    ("zhu-one-example-relu", include_str!("../../presets/zhu-one-example-relu.json")),
    ("zhu-multi-example", include_str!("../../presets/zhu-multi-example.json")),
    ("zhu-multi-example-nqm", include_str!("../../presets/zhu-multi-example-nqm.json")),
    ("zhu-general-quadratic", include_str!("../../presets/zhu-general-quadratic.json")),
    ("huang-exp-degenerate", include_str!("../../presets/huang-exp-degenerate.json")),
    ("zhu-one-example-nqm", include_str!("../../presets/zhu-one-example-nqm.json")),
    ("zhu-one-example-linearized", include_str!("../../presets/zhu-one-example-linearized.json")),
    ("meltzer-pure-quadratic", include_str!("../../presets/meltzer-pure-quadratic.json")),
    ("meltzer-homogeneous-05", include_str!("../../presets/meltzer-homogeneous-05.json")),
    ("meltzer-homogeneous-075", include_str!("../../presets/meltzer-homogeneous-075.json")),
    ("meltzer-relu-4-2", include_str!("../../presets/meltzer-relu-4-2.json")),
    ("huang-ex1-exponential", include_str!("../../presets/huang-ex1-exponential.json")),
    ("huang-ex1-logistic", include_str!("../../presets/huang-ex1-logistic.json")),
    ("huang-ex2-exponential", include_str!("../../presets/huang-ex2-exponential.json")),
    ("huang-ex2-logistic", include_str!("../../presets/huang-ex2-logistic.json")),
    ("huang-ex3-exponential", include_str!("../../presets/huang-ex3-exponential.json")),
    ("huang-ex3-logistic", include_str!("../../presets/huang-ex3-logistic.json")),
    ("huang-ex4-exponential", include_str!("../../presets/huang-ex4-exponential.json")),
    ("huang-ex4-logistic", include_str!("../../presets/huang-ex4-logistic.json")),
    ("zhu-sgd-batch-5", include_str!("../../presets/zhu-sgd-batch-5.json")),
    ("zhu-sgd-batch-10", include_str!("../../presets/zhu-sgd-batch-10.json")),
    ("zhu-sgd-batch-50", include_str!("../../presets/zhu-sgd-batch-50.json")),
    ("zhu-sgd-batch-full", include_str!("../../presets/zhu-sgd-batch-full.json")),
    ("zhu-sgd-spike-one-point", include_str!("../../presets/zhu-sgd-spike-one-point.json")),
    ("zhu-multiple-catapults", include_str!("../../presets/zhu-multiple-catapults.json")),
    ("huang2025-two-stage", include_str!("../../presets/huang2025-two-stage.json")),
    ("images-meltzer-mnist-fig3", include_str!("../../presets/images-meltzer-mnist-fig3.json")),
    ("images-meltzer-fashion-fig12", include_str!("../../presets/images-meltzer-fashion-fig12.json")),
    ("images-mnist-lazy", include_str!("../../presets/images-mnist-lazy.json")),
    ("images-thesis-sgd-fig46", include_str!("../../presets/images-thesis-sgd-fig46.json")),
    ("images-digits-catapult", include_str!("../../presets/images-digits-catapult.json")),
    ("images-zhu-generalization", include_str!("../../presets/images-zhu-generalization.json")),
    ("momentum-below-edge", include_str!("../../presets/momentum-below-edge.json")),
    ("momentum-above-edge", include_str!("../../presets/momentum-above-edge.json")),
    ("cyclic-catapult", include_str!("../../presets/cyclic-catapult.json")),
    ("auto-catapult", include_str!("../../presets/auto-catapult.json")),
    ("optimizers-fig411", include_str!("../../presets/optimizers-fig411.json")),
    ("deep-meltzer-3layer", include_str!("../../presets/deep-meltzer-3layer.json")),
    ("deep-relu-window", include_str!("../../presets/deep-relu-window.json")),
    ("deep-thesis-fig43", include_str!("../../presets/deep-thesis-fig43.json")),
    ("deep-thesis-fig49b", include_str!("../../presets/deep-thesis-fig49b.json")),
    ("deep-network-nqm-linearized", include_str!("../../presets/deep-network-nqm-linearized.json")),
];

/// The preset the app opens on: a catapult, so a newcomer sees one at once.
pub const DEFAULT_PRESET: &str = "catapult-uv";

/// A shipped preset by name, with overrides applied.
pub fn shipped(name: &str, overrides: &[(String, Value)]) -> Option<Result<Preset, ConfigError>> {
    SHIPPED
        .iter()
        .find(|(n, _)| *n == name)
        .map(|(n, text)| config::parse_preset(text.as_bytes(), &format!("presets/{n}.json"), overrides))
}

/// A preset from a path (if such a file exists), a share code (`cl1-…`) or else a shipped name.
pub fn resolve(name_or_path: &str, overrides: &[(String, Value)]) -> Result<Preset, ConfigError> {
    let path = Path::new(name_or_path);
    if path.is_file() {
        return config::load_preset_file(path, overrides);
    }
    if config::share::looks_like_code(name_or_path) {
        return config::share::decode(name_or_path, overrides);
    }
    let stem = name_or_path.strip_suffix(".json").unwrap_or(name_or_path);
    shipped(stem, overrides).unwrap_or_else(|| {
        let names: Vec<&str> = SHIPPED.iter().map(|(n, _)| *n).collect();
        Err(ConfigError {
            file: name_or_path.to_string(),
            key: String::new(),
            message: format!("no such file, and not a shipped preset (shipped: {})", names.join(", ")),
        })
    })
}
