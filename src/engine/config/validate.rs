//! Reading and checking presets: JSON parsing with `--set KEY=VALUE` overrides on the raw JSON,
//! validation whose every error names the file, the dotted key and (for ranges) the value and
//! the allowed range, and the memory and work estimates that refuse runs too large to fit.

use super::*;
use serde_json::Value;
use std::fmt;
use std::path::Path;

/// A rejected preset or override: which file, which dotted key, what is wrong.
#[derive(Clone, Debug, PartialEq)]
pub struct ConfigError {
    pub file: String,
    pub key: String,
    pub message: String,
}

impl fmt::Display for ConfigError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.key.is_empty() {
            write!(f, "{}: {}", self.file, self.message)
        } else {
            write!(f, "{}: key `{}`: {}", self.file, self.key, self.message)
        }
    }
}

impl std::error::Error for ConfigError {}

fn err(file: &str, key: &str, message: impl Into<String>) -> ConfigError {
    ConfigError { file: file.to_string(), key: key.to_string(), message: message.into() }
}

/// Parses a preset from raw bytes, applies `--set` overrides, then validates.
/// `file` is only used to name the source in errors; relative data paths stay as written
/// (relative to the working directory).
pub fn parse_preset(bytes: &[u8], file: &str, overrides: &[(String, Value)]) -> Result<Preset, ConfigError> {
    parse_preset_in(bytes, file, overrides, None)
}

/// `parse_preset` for a preset read from a folder: relative `data.path` / `data.test_path`
/// resolve against `folder` (the preset file's), not the working directory.
pub fn parse_preset_in(bytes: &[u8], file: &str, overrides: &[(String, Value)], folder: Option<&Path>) -> Result<Preset, ConfigError> {
    let text = std::str::from_utf8(bytes)
        .map_err(|e| err(file, "", format!("not valid UTF-8 text (bad byte at offset {})", e.valid_up_to())))?;
    let mut value: Value = serde_json::from_str(text)
        .map_err(|e| err(file, "", format!("not valid JSON: {e}")))?;
    if !value.is_object() {
        return Err(err(file, "", "a preset must be a JSON object"));
    }
    for (key, v) in overrides {
        set_dotted(&mut value, key, v.clone()).map_err(|m| err(file, key, m))?;
        // Overriding the learning rate in one unit replaces the file's rate in the other.
        let replaced = match key.as_str() {
            "train.eta" => Some("eta_scaled"),
            "train.eta_scaled" => Some("eta"),
            _ => None,
        };
        if let (Some(other), Some(train)) = (replaced, value.get_mut("train").and_then(Value::as_object_mut)) {
            train.remove(other);
        }
    }
    default_mlp_a_neg(&mut value);
    match value.get("version") {
        None => return Err(err(file, "version", format!("missing; this program reads version {PRESET_VERSION}"))),
        Some(Value::Number(n)) if n.as_u64() == Some(PRESET_VERSION as u64) => {}
        Some(other) => {
            return Err(err(file, "version", format!("is {other}; this program reads version {PRESET_VERSION}")));
        }
    }
    let preset: Preset = serde_path_to_error::deserialize(&value).map_err(|e| {
        let path = e.path().to_string();
        let key = if path == "." { String::new() } else { path };
        let inner = e.into_inner().to_string();
        err(file, &key, inner)
    })?;
    let mut preset = preset;
    if let Some(folder) = folder {
        for path in [&mut preset.data.path, &mut preset.data.test_path].into_iter().flatten() {
            if Path::new(path.as_str()).is_relative() {
                *path = folder.join(path.as_str()).to_string_lossy().to_string();
            }
        }
    }
    validate(&preset, file)?;
    Ok(preset)
}

/// An `mlp` whose JSON (after the `--set` overrides) does not give `model.a_neg` gets 0, a true
/// ReLU (SPEC §10), not the two-layer net's linear default of 1.
fn default_mlp_a_neg(value: &mut Value) {
    if let Some(model) = value.get_mut("model").and_then(Value::as_object_mut) {
        if model.get("kind").and_then(Value::as_str) == Some("mlp") && !model.contains_key("a_neg") {
            model.insert("a_neg".to_string(), Value::from(0.0));
        }
    }
}

/// Reads and parses a preset file.
pub fn load_preset_file(path: &Path, overrides: &[(String, Value)]) -> Result<Preset, ConfigError> {
    let file = path.display().to_string();
    let bytes = std::fs::read(path).map_err(|e| err(&file, "", format!("cannot read file: {e}")))?;
    parse_preset_in(&bytes, &file, overrides, Some(path.parent().unwrap_or(Path::new("."))))
}

/// Serializes a preset as pretty JSON (the form the app saves).
pub fn preset_to_json(preset: &Preset) -> String {
    serde_json::to_string_pretty(preset).expect("a preset always serializes")
}

/// Parses one `KEY=VALUE` override: the value as JSON, or else as a plain string.
pub fn parse_override(text: &str) -> Result<(String, Value), String> {
    let (key, raw) = text
        .split_once('=')
        .ok_or_else(|| format!("--set `{text}`: expected KEY=VALUE, e.g. model.width=4000"))?;
    let key = key.trim();
    if key.is_empty() || key.split('.').any(|part| part.is_empty()) {
        return Err(format!("--set `{text}`: `{key}` is not a dotted preset key"));
    }
    let value = serde_json::from_str(raw).unwrap_or_else(|_| Value::String(raw.to_string()));
    Ok((key.to_string(), value))
}

/// Sets `a.b.c` in a JSON object, creating intermediate objects.
pub fn set_dotted(root: &mut Value, key: &str, value: Value) -> Result<(), String> {
    let parts: Vec<&str> = key.split('.').collect();
    let mut node = root;
    for (i, part) in parts.iter().enumerate() {
        let map = node
            .as_object_mut()
            .ok_or_else(|| format!("cannot set inside `{}`: it is not an object", parts[..i].join(".")))?;
        if i + 1 == parts.len() {
            map.insert(part.to_string(), value);
            return Ok(());
        }
        node = map.entry(part.to_string()).or_insert_with(|| Value::Object(Default::default()));
    }
    Ok(())
}

fn check_finite(file: &str, key: &str, value: f64) -> Result<(), ConfigError> {
    if value.is_finite() { Ok(()) } else { Err(err(file, key, format!("value {value} is not a finite number"))) }
}

fn check_range(file: &str, key: &str, value: f64, lo: f64, hi: f64, what: &str) -> Result<(), ConfigError> {
    check_finite(file, key, value)?;
    if value < lo || value > hi {
        return Err(err(file, key, format!("value {value} is out of range; allowed: {what}")));
    }
    Ok(())
}

/// Number of points and input dimension a data config describes (before generating it).
pub fn data_shape(data: &DataConfig) -> (usize, usize) {
    match data.kind {
        DataKind::Single => match &data.x {
            Some(XSpec::One(x)) => (1, x.len()),
            Some(XSpec::Many(rows)) => (rows.len(), rows.first().map_or(0, |r| r.len())),
            None => (1, data.d),
        },
        DataKind::Points => match &data.x {
            Some(XSpec::Many(rows)) => (rows.len(), rows.first().map_or(0, |r| r.len())),
            Some(XSpec::One(x)) => (x.len(), 1),
            None => (0, 0),
        },
        DataKind::Clusters | DataKind::Teacher | DataKind::Sphere => (data.n, data.d),
        DataKind::Digits => (data.n, 64),
        DataKind::Mnist | DataKind::FashionMnist => (data.n, (28 / data.downsample.max(1)).pow(2)),
        DataKind::Csv => match data.path.as_deref().map(|p| crate::engine::csv_data::load(Path::new(p), data.label_column.as_deref(), false)) {
            Some(Ok(set)) => (set.n, set.d),
            _ => (0, 0),
        },
    }
}

/// Bytes one run of this preset needs for its model state and caches (an estimate, ±2×).
pub fn estimated_bytes(preset: &Preset) -> f64 {
    let (n, d) = data_shape(&preset.data);
    let (n, d) = (n.max(1) as f64, d.max(1) as f64);
    let m = preset.model.width as f64;
    let floats = match preset.model.kind {
        // u, v, u0, v0, gradient, two Lanczos work vectors; per-sample caches z, z0, gates; the
        // tiled kernel's kept X Xᵀ tiles (n(n + 32)/2 for its 32-row tiles, `gram_tiled.rs`;
        // kept up to 2²¹ entries) or the chunked
        // kernel's kept x_i·x_j (n², up to 2²¹ entries).
        ModelKind::TwoLayer => {
            let limit = (1u64 << 21) as f64;
            let tiles = if m * n <= limit && n * (n + 32.0) / 2.0 <= limit { n * (n + 32.0) / 2.0 } else if m * n > limit && n * n <= limit { n * n } else { 0.0 };
            8.0 * m * (d + 1.0) + 4.0 * n * m + 4.0 * n * d + tiles
        }
        ModelKind::Quadratic | ModelKind::LinearPredictor => 8.0 * d + 4.0 * n * d,
        // Parameters as for the two-layer net; per example and unit z, h, ∂f/∂h, Δ twice (the
        // network's fused step keeps the old and the new state; the quadratic model's tangents;
        // the linearized model once), and the n × n kernel with its per-layer Gram products (two
        // per layer, at most 256 MB of them at once, at least two); with fewer examples than
        // inputs also the input layer's product kept in the rows' space (X, X Xᵀ, n × n_1;
        // at most 2²² entries).
        ModelKind::Mlp => {
            let (p, units) = mlp_shape(&preset.model, d);
            let per_unit = if preset.model.approx == Approx::Linearized { 4.0 } else { 8.0 };
            let nn = n * n.min(1e5);
            let grams = (2.0 * (preset.model.depth as f64 + 1.0)).min((32.0 * 1024.0 * 1024.0 / nn.max(1.0)).max(2.0));
            let first_width = preset.model.widths.as_ref().and_then(|w| w.first().copied()).unwrap_or(preset.model.width) as f64;
            let kept = if n < d && n * (d + n + first_width) <= (1u64 << 22) as f64 { n * d + nn + n * first_width } else { 0.0 };
            8.0 * p + per_unit * n * units + (1.0 + grams) * nn + kept
        }
    };
    (floats + hessian_basis_floats(preset)) * 8.0
}

/// Floats of the λ_H measurement's Lanczos basis (`sim::lanczos_basis_len(P)` vectors of length
/// P and four work vectors) while it is measured (`measure.hessian_every` absent or above 0):
/// for wide nets the largest buffer a run holds (1 GiB and more from P ≈ 2.2 million on).
pub fn hessian_basis_floats(preset: &Preset) -> f64 {
    if preset.measure.hessian_every == Some(0) {
        return 0.0;
    }
    let p = parameter_count(preset);
    (crate::engine::sim::lanczos_basis_len(p as usize) as f64 + 4.0) * p
}

/// The number of trained and frozen parameters P of this preset's model.
fn parameter_count(preset: &Preset) -> f64 {
    let d = data_shape(&preset.data).1.max(1) as f64;
    match preset.model.kind {
        ModelKind::TwoLayer => preset.model.width as f64 * (d + 1.0),
        ModelKind::Quadratic | ModelKind::LinearPredictor => d,
        ModelKind::Mlp => mlp_shape(&preset.model, d).0,
    }
}

/// Floating-point operations one training step of this preset costs, roughly (±3×): the
/// forward and backward passes (4·n·m·d for the two-layer net) plus the top-2 eigenvalues
/// (a dense n×n kernel, 2·n²·m, for small n; about 20 Lanczos products of 4·n·m·d otherwise),
/// plus, for the adaptive optimizers, the preconditioned sharpness's Hessian-vector products.
/// The app uses it to refuse controls that would take many seconds per step.
pub fn estimated_work_per_step(preset: &Preset) -> f64 {
    let (n, d) = data_shape(&preset.data);
    let (n, d) = (n.max(1) as f64, d.max(1) as f64);
    let p = parameter_count(preset);
    let pass = 2.0 * n * p;
    let dense_kernel = match preset.model.kind {
        // Two Gram products per layer over its inputs and outputs (SPEC §10).
        ModelKind::Mlp => 4.0 * n * n * mlp_shape(&preset.model, d).1,
        _ => n * n * p / d.max(1.0) * 2.0,
    };
    let kernel = if n <= 64.0 { dense_kernel } else { 20.0 * 2.0 * pass };
    // Adam, RMSprop, Adagrad: the preconditioned sharpness, about 20 Lanczos Hessian-vector
    // products (each a J·w, a Jᵀ·z and the residual term: about three passes).
    let precond = if preset.train.optimizer.adaptive() { 20.0 * 3.0 * pass } else { 0.0 };
    2.0 * pass + kernel + precond
}

/// (parameters P, hidden units Σ n_l) of an mlp on inputs of dimension d.
fn mlp_shape(m: &ModelConfig, d: f64) -> (f64, f64) {
    let widths: Vec<f64> = match &m.widths {
        Some(w) => w.iter().map(|&x| x as f64).collect(),
        None => vec![m.width as f64; m.depth],
    };
    let mut fan_in = d;
    let (mut p, mut units) = (0.0, d + 1.0);
    for &width in widths.iter().chain(std::iter::once(&1.0)) {
        p += width * fan_in + if m.bias { width } else { 0.0 };
        units += width;
        fan_in = width;
    }
    (p, units)
}

/// The layered network's own keys (SPEC §10): depth, widths, bias scale.
fn validate_mlp(m: &ModelConfig, file: &str) -> Result<(), ConfigError> {
    if m.depth < 1 || m.depth > 8 {
        return Err(err(file, "model.depth", format!("value {} is out of range; allowed: 1 to 8 hidden layers", m.depth)));
    }
    if let Some(widths) = &m.widths {
        if widths.len() != m.depth {
            return Err(err(file, "model.widths", format!("has {} entries; model.depth = {} needs one width per hidden layer", widths.len(), m.depth)));
        }
        for (i, &w) in widths.iter().enumerate() {
            if w == 0 || w > 100_000_000 {
                return Err(err(file, &format!("model.widths[{i}]"), format!("value {w} is out of range; allowed: 1 to 100000000")));
            }
        }
    }
    check_range(file, "model.bias_scale", m.bias_scale, 0.0, 1e6, "0 to 1e6")?;
    Ok(())
}

/// Checks every value against its allowed range; the first problem is returned.
pub fn validate(p: &Preset, file: &str) -> Result<(), ConfigError> {
    let m = &p.model;
    if m.kind == ModelKind::Mlp {
        validate_mlp(m, file)?;
    }
    if m.parameterization == Parameterization::Standard && m.kind != ModelKind::Mlp {
        return Err(err(file, "model.parameterization", "\"standard\" is defined for model.kind = mlp only; the two-layer net uses ntk or mean_field"));
    }
    if m.width == 0 || m.width > 100_000_000 {
        return Err(err(file, "model.width", format!("value {} is out of range; allowed: 1 to 100000000", m.width)));
    }
    check_range(file, "model.a_neg", m.a_neg, 0.0, 1.0, "0 (ReLU) to 1 (linear)")?;
    check_range(file, "model.init_scale", m.init_scale, 0.0, 1e6, "0 to 1e6")?;
    check_range(file, "model.gamma", m.gamma, 0.0, 1e6, "0 to 1e6")?;
    let layers = m.layer_count();
    if let Some(scales) = &m.init_scales {
        if scales.len() != layers {
            return Err(err(file, "model.init_scales", format!("has {} entries; this model has {layers} layer(s), one scale each", scales.len())));
        }
        for (i, s) in scales.iter().enumerate() {
            check_range(file, &format!("model.init_scales[{i}]"), *s, 0.0, 1e6, "0 to 1e6")?;
        }
    }
    for (i, &layer) in p.train.frozen_layers.iter().enumerate() {
        if layer < 1 || layer > layers {
            let names = if m.kind == ModelKind::Mlp {
                format!("this mlp has {} hidden layer(s) and the output layer", m.depth)
            } else {
                "two-layer net: 1 = u, 2 = v".to_string()
            };
            return Err(err(file, &format!("train.frozen_layers[{i}]"), format!("layer {layer} does not exist; layers are numbered 1 to {layers} ({names})")));
        }
    }
    if (1..=layers).all(|l| p.train.frozen_layers.contains(&l)) {
        return Err(err(file, "train.frozen_layers", "freezes every layer; nothing would be trained"));
    }
    let (n, d) = data_shape(&p.data);
    if m.kind == ModelKind::LinearPredictor {
        match &m.w0 {
            Some(w0) => {
                for (i, w) in w0.iter().enumerate() {
                    check_finite(file, &format!("model.w0[{i}]"), *w)?;
                }
                if w0.len() != d {
                    return Err(err(
                        file,
                        "model.w0",
                        format!("has {} entries but the data has dimension {d}", w0.len()),
                    ));
                }
            }
            None => {}
        }
    }
    let data = &p.data;
    match data.kind {
        DataKind::Single => {
            match &data.x {
                Some(XSpec::One(x)) if !x.is_empty() => {
                    for (i, v) in x.iter().enumerate() {
                        check_finite(file, &format!("data.x[{i}]"), *v)?;
                    }
                }
                Some(_) => return Err(err(file, "data.x", "a single example needs x as a non-empty list of numbers, e.g. [1.0]")),
                None => {}
            }
            match &data.y {
                Some(YSpec::One(y)) => check_finite(file, "data.y", *y)?,
                Some(YSpec::Many(_)) => return Err(err(file, "data.y", "a single example needs y as one number")),
                None => {}
            }
        }
        DataKind::Points => {
            let rows = match &data.x {
                Some(XSpec::Many(rows)) if !rows.is_empty() => rows,
                _ => return Err(err(file, "data.x", "points need x as a non-empty list of lists, e.g. [[1.0], [-1.0]]")),
            };
            let d0 = rows[0].len();
            for (i, row) in rows.iter().enumerate() {
                if row.is_empty() || row.len() != d0 {
                    return Err(err(file, &format!("data.x[{i}]"), format!("has {} entries; every point needs {d0} (> 0)", row.len())));
                }
                for (j, v) in row.iter().enumerate() {
                    check_finite(file, &format!("data.x[{i}][{j}]"), *v)?;
                }
            }
            let ys = match &data.y {
                Some(YSpec::Many(ys)) => ys,
                _ => return Err(err(file, "data.y", "points need y as a list with one target per point")),
            };
            if ys.len() != rows.len() {
                return Err(err(file, "data.y", format!("has {} entries but data.x has {} points", ys.len(), rows.len())));
            }
            for (i, y) in ys.iter().enumerate() {
                check_finite(file, &format!("data.y[{i}]"), *y)?;
            }
        }
        DataKind::Csv => {
            let classification = p.loss.kind != LossKind::Mse;
            let path = data.path.as_deref().ok_or_else(|| err(file, "data.path", "csv data needs data.path, the CSV file (relative to the preset's folder)"))?;
            let train = crate::engine::csv_data::load(Path::new(path), data.label_column.as_deref(), classification).map_err(|m| err(file, "data.path", m))?;
            if let Some(test_path) = data.test_path.as_deref() {
                let test = crate::engine::csv_data::load(Path::new(test_path), data.label_column.as_deref(), classification).map_err(|m| err(file, "data.test_path", m))?;
                if test.d != train.d {
                    return Err(err(file, "data.test_path", format!("{test_path}: {} input columns, but {path} has {}", test.d, train.d)));
                }
            }
        }
        DataKind::Clusters | DataKind::Teacher | DataKind::Digits | DataKind::Mnist | DataKind::FashionMnist | DataKind::Sphere => {
            if data.n < 1 || data.n > 10_000_000 {
                return Err(err(file, "data.n", format!("value {} is out of range; allowed: 1 to 10000000", data.n)));
            }
            if matches!(data.kind, DataKind::Clusters | DataKind::Teacher | DataKind::Sphere) && (data.d < 1 || data.d > 100_000) {
                return Err(err(file, "data.d", format!("value {} is out of range; allowed: 1 to 100000", data.d)));
            }
        }
    }
    if data.kind == DataKind::Single && data.x.is_none() && (data.d < 1 || data.d > 100_000) {
        return Err(err(file, "data.d", format!("value {} is out of range; allowed: 1 to 100000", data.d)));
    }
    check_range(file, "data.separation", data.separation, -1e6, 1e6, "-1e6 to 1e6")?;
    check_range(file, "data.flip", data.flip, 0.0, 1.0, "0 to 1")?;
    check_range(file, "data.scale_first", data.scale_first, -1e6, 1e6, "-1e6 to 1e6")?;
    if data.kind == DataKind::Sphere {
        match &data.y {
            Some(YSpec::One(y)) => check_finite(file, "data.y", *y)?,
            Some(YSpec::Many(_)) => return Err(err(file, "data.y", "sphere data take one label for every point")),
            None => {}
        }
    }
    check_range(file, "data.noise", data.noise, 0.0, 1e6, "0 to 1e6")?;
    if data.classes[0] > 9 || data.classes[1] > 9 || data.classes[0] == data.classes[1] {
        return Err(err(file, "data.classes", format!("value {:?}: need two different digits 0 to 9", data.classes)));
    }
    if data.kind == DataKind::Teacher && data.d < data.teacher.min_dimension() {
        return Err(err(
            file,
            "data.d",
            format!("value {} is too small for the {:?} teacher; it needs d >= {}", data.d, data.teacher,
                data.teacher.min_dimension()).to_lowercase(),
        ));
    }
    if let Some(source) = data.kind.image_source() {
        if ![1, 2, 4].contains(&data.downsample) {
            return Err(err(file, "data.downsample", format!("value {} is not allowed; allowed: 1 (28×28), 2 (14×14) or 4 (7×7)", data.downsample)));
        }
        let available = crate::engine::assets::images_available(source, data.classes);
        if data.n + data.test_n > available {
            return Err(err(file, "data.n", format!(
                "data.n {} + data.test_n {} is more than the {available} shipped images of classes {:?}", data.n, data.test_n, data.classes)));
        }
    }
    if data.kind == DataKind::Teacher && data.test_n > 1_000_000 {
        return Err(err(file, "data.test_n", format!("value {} is out of range; allowed: 0 to 1000000", data.test_n)));
    }
    if data.kind == DataKind::Digits {
        let available = crate::engine::assets::digits_available(data.classes);
        if data.n > available {
            return Err(err(file, "data.n", format!("value {} is more than the {available} images of digits {:?}", data.n, data.classes)));
        }
    }
    if m.kind == ModelKind::LinearPredictor && m.w0.is_none() && d == 0 {
        return Err(err(file, "model.w0", "needed for the linear predictor"));
    }
    let t = &p.train;
    if t.eta.is_some() && t.eta_scaled.is_some() {
        return Err(err(file, "train.eta", "give either train.eta or train.eta_scaled, not both"));
    }
    if let Some(eta) = t.eta {
        check_range(file, "train.eta", eta, f64::MIN_POSITIVE, 1e12, "greater than 0, at most 1e12")?;
    }
    if let Some(scaled) = t.eta_scaled {
        check_range(file, "train.eta_scaled", scaled, f64::MIN_POSITIVE, 1e6, "greater than 0, at most 1e6")?;
    }
    if t.steps > 100_000_000 {
        return Err(err(file, "train.steps", format!("value {} is out of range; allowed: 0 to 100000000", t.steps)));
    }
    if t.batch_size > n {
        return Err(err(file, "train.batch_size", format!("value {} is larger than the data set (n = {n}); 0 = full batch", t.batch_size)));
    }
    let mut last_step = 0;
    for (i, (step, value)) in t.schedule.iter().enumerate() {
        let key = format!("train.schedule[{i}]");
        if *step < last_step {
            return Err(err(file, &key, format!("step {step} comes before the previous change at step {last_step}; list changes in order")));
        }
        last_step = *step;
        check_range(file, &key, *value, f64::MIN_POSITIVE, 1e12, "a learning rate greater than 0")?;
    }
    check_range(file, "train.divergence_factor", t.divergence_factor, 1.0 + 1e-12, 1e300, "greater than 1")?;
    super::optim_keys::validate_optimizer_and_schedule(t, file)?;
    super::measure_keys::validate_measure(&p.measure, file)?;
    let bytes = estimated_bytes(p);
    if bytes > MEMORY_LIMIT_BYTES {
        let gib = (1024.0f64).powi(3);
        let basis = 8.0 * hessian_basis_floats(p);
        let hessian = if basis > 0.1 * bytes { format!(" ({:.1} GiB of it the Hessian sharpness's Lanczos basis; measure.hessian_every = 0 turns that off)", basis / gib) } else { String::new() };
        return Err(err(
            file,
            "model.width",
            format!("width {} with n = {n}, d = {d} would need about {:.1} GiB{hessian}; the limit is {:.0} GiB", m.width, bytes / gib, MEMORY_LIMIT_BYTES / gib),
        ));
    }
    Ok(())
}
