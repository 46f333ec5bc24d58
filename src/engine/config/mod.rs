//! The preset format (SPEC §8): the serde types of a preset and their documented defaults, and
//! the one-line description of a preset's model. Reading and checking presets is `validate`.

use serde::{Deserialize, Serialize};

mod measure_keys;
mod optim_keys;
mod validate;
pub mod share;
pub use measure_keys::{HESSIAN_EVERY_MAX, TOP_S_CHOICES};
pub use validate::{ConfigError, data_shape, estimated_bytes, estimated_work_per_step, load_preset_file, parse_override, parse_preset, preset_to_json, set_dotted, validate};

/// The only preset format version this program reads and writes.
pub const PRESET_VERSION: u32 = 1;
/// Memory the engine may use for one run's model and data before it refuses (bytes).
pub const MEMORY_LIMIT_BYTES: f64 = 8.0 * 1024.0 * 1024.0 * 1024.0;

/// A preset: everything needed to reproduce one run bit for bit.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Preset {
    pub version: u32,
    #[serde(default)]
    pub name: String,
    #[serde(default)]
    pub notes: String,
    #[serde(default)]
    pub seed: u64,
    #[serde(default)]
    pub model: ModelConfig,
    #[serde(default)]
    pub data: DataConfig,
    #[serde(default)]
    pub loss: LossConfig,
    #[serde(default)]
    pub train: TrainConfig,
    /// What is measured beyond the per-step basics (SPEC §11).
    #[serde(default, skip_serializing_if = "is_default")]
    pub measure: MeasureConfig,
}

/// `measure.*` (SPEC §11).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct MeasureConfig {
    /// λ_max of the loss Hessian every this many steps (0 = off; absent = automatic: every step
    /// where it costs less than two gradient steps, else every 10).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub hessian_every: Option<usize>,
    /// s of the top-s loss split L_{≤s} / L_{>s}: 1, 2, 5 or 10.
    pub top_s: usize,
}

impl Default for MeasureConfig {
    fn default() -> Self {
        MeasureConfig { hessian_every: None, top_s: 2 }
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(rename_all = "snake_case")]
pub enum ModelKind {
    #[default]
    TwoLayer,
    Quadratic,
    LinearPredictor,
    /// The layered network of SPEC §10 (`model.depth` hidden layers).
    Mlp,
}

/// What is trained for the two-layer net: the net, its quadratic (NQM) or its linear Taylor model.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(rename_all = "snake_case")]
pub enum Approx {
    #[default]
    Network,
    Quadratic,
    Linearized,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(rename_all = "snake_case")]
pub enum Parameterization {
    #[default]
    Ntk,
    MeanField,
    /// c_l = 1, W ~ N(0, σ_w²/n_{l−1}) (PyTorch-style; `mlp` only, SPEC §10).
    Standard,
}

/// `model.activation` of the layered network (SPEC §10); `relu` uses `model.a_neg` as its slope
/// for z < 0 (an `mlp` preset that does not give `a_neg` gets 0, a true ReLU).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(rename_all = "snake_case")]
pub enum Activation {
    #[default]
    Relu,
    Linear,
    Tanh,
    Gelu,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(rename_all = "snake_case")]
pub enum InputNorm {
    #[default]
    SqrtD,
    None,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(rename_all = "snake_case")]
pub enum SecondLayerInit {
    #[default]
    Gaussian,
    Rademacher,
}

/// Feature map of the general quadratic model: φ(x) = x/‖x‖ or φ = 0 (pure quadratic).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(rename_all = "snake_case")]
pub enum Phi {
    #[default]
    Normalized,
    None,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct ModelConfig {
    pub kind: ModelKind,
    pub width: usize,
    /// Slope of the activation for z < 0: 0 = ReLU, 1 = linear. The two-layer net's default is
    /// 1 (linear); an `mlp` (with `activation = "relu"`) whose preset does not give it gets 0, a
    /// true ReLU (SPEC §10): `parse_preset` fills it in from the JSON, the app when it switches
    /// the kind to mlp.
    pub a_neg: f64,
    pub approx: Approx,
    pub parameterization: Parameterization,
    pub input_norm: InputNorm,
    pub second_layer_init: SecondLayerInit,
    pub init_scale: f64,
    /// Per-layer init scales [σ_1, σ_2] (two-layer net: u, v), overriding `init_scale` (SPEC §10).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub init_scales: Option<Vec<f64>>,
    pub gamma: f64,
    pub phi: Phi,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub w0: Option<Vec<f64>>,
    /// `mlp`: the number of hidden layers L (1–8).
    #[serde(skip_serializing_if = "is_one")]
    pub depth: usize,
    /// `mlp`: per-layer hidden widths [n_1, …, n_L], overriding `width`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub widths: Option<Vec<usize>>,
    /// `mlp`: the hidden activation.
    #[serde(skip_serializing_if = "is_default")]
    pub activation: Activation,
    /// `mlp`: biases β b_l in every layer (off by default).
    #[serde(skip_serializing_if = "is_default")]
    pub bias: bool,
    /// `mlp`: β, the bias scale (default 1).
    #[serde(skip_serializing_if = "is_unit")]
    pub bias_scale: f64,
}

fn is_one(value: &usize) -> bool {
    *value == 1
}

fn is_unit(value: &f64) -> bool {
    *value == 1.0
}

impl Default for ModelConfig {
    fn default() -> Self {
        ModelConfig {
            kind: ModelKind::TwoLayer,
            width: 1000,
            a_neg: 1.0,
            approx: Approx::Network,
            parameterization: Parameterization::Ntk,
            input_norm: InputNorm::SqrtD,
            second_layer_init: SecondLayerInit::Gaussian,
            init_scale: 1.0,
            init_scales: None,
            gamma: 1e-3,
            phi: Phi::Normalized,
            w0: None,
            depth: 1,
            widths: None,
            activation: Activation::Relu,
            bias: false,
            bias_scale: 1.0,
        }
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(rename_all = "snake_case")]
pub enum DataKind {
    #[default]
    Single,
    Points,
    Clusters,
    Teacher,
    Digits,
    /// n points uniform on the unit sphere in R^d, every label `data.y` (default 1); the first
    /// point and its label multiplied by `data.scale_first` (thesis Fig 4.5).
    Sphere,
    Mnist,
    FashionMnist,
    Csv,
}

impl DataKind {
    /// The shipped 28×28 image set behind this kind, if it is one.
    pub fn image_source(self) -> Option<crate::engine::assets::ImageSource> {
        match self {
            DataKind::Mnist => Some(crate::engine::assets::ImageSource::Mnist),
            DataKind::FashionMnist => Some(crate::engine::assets::ImageSource::FashionMnist),
            _ => None,
        }
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(rename_all = "snake_case")]
pub enum Teacher {
    #[default]
    Rank2,
    Rank3,
    Rank4,
    Fullrank,
}

impl Teacher {
    /// The smallest input dimension each teacher is defined for.
    pub fn min_dimension(self) -> usize {
        match self {
            Teacher::Rank2 | Teacher::Rank3 => 2,
            Teacher::Rank4 => 4,
            Teacher::Fullrank => 1,
        }
    }
}

/// `data.x`: one point (a list of numbers) or several (a list of lists).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(untagged)]
pub enum XSpec {
    One(Vec<f64>),
    Many(Vec<Vec<f64>>),
}

/// `data.y`: one target or a list of them.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(untagged)]
pub enum YSpec {
    One(f64),
    Many(Vec<f64>),
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct DataConfig {
    pub kind: DataKind,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub x: Option<XSpec>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub y: Option<YSpec>,
    pub n: usize,
    pub d: usize,
    pub separation: f64,
    pub flip: f64,
    pub teacher: Teacher,
    pub noise: f64,
    pub test_n: usize,
    pub classes: [u8; 2],
    /// mnist / fashion_mnist: average-pool factor 1 (28×28), 2 (14×14) or 4 (7×7).
    pub downsample: usize,
    /// csv: the data file (relative paths resolve against the preset file's folder).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub path: Option<String>,
    /// csv: the column holding y (default: the last).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub label_column: Option<String>,
    /// csv: an optional held-out file with the same columns.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub test_path: Option<String>,
    /// `sphere` data: the factor on the first point and its label (1 = none).
    pub scale_first: f64,
}

impl Default for DataConfig {
    fn default() -> Self {
        DataConfig {
            kind: DataKind::Single,
            x: None,
            y: None,
            n: 128,
            d: 1,
            separation: 2.0,
            flip: 0.0,
            teacher: Teacher::Rank2,
            noise: 0.1,
            test_n: 1000,
            classes: [0, 1],
            downsample: 1,
            path: None,
            label_column: None,
            test_path: None,
            scale_first: 1.0,
        }
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(rename_all = "snake_case")]
pub enum LossKind {
    #[default]
    Mse,
    Logistic,
    Exponential,
}

/// The factor s in L = s Σ ℓ: ½ (`sum_half`), 1/n (`mean`) or 1/(2n) (`half_mean`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(rename_all = "snake_case")]
pub enum Reduction {
    #[default]
    SumHalf,
    Mean,
    HalfMean,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, Default)]
#[serde(deny_unknown_fields, default)]
pub struct LossConfig {
    pub kind: LossKind,
    pub reduction: Reduction,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct TrainConfig {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub eta: Option<f64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub eta_scaled: Option<f64>,
    pub steps: usize,
    pub batch_size: usize,
    /// `[step, value]` pairs; the value is in the unit of `train` (eta or eta_scaled).
    pub schedule: Vec<(usize, f64)>,
    pub divergence_factor: f64,
    /// Layers not trained (1-based; two-layer net: 1 = u, 2 = v): not updated, and out of J,
    /// the kernel, λ̂, the batch critical rate and the trained part of the weight measurements.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub frozen_layers: Vec<usize>,
    /// The update rule (SPEC §12); `gd` is SGD when `batch_size` > 0.
    #[serde(skip_serializing_if = "is_default")]
    pub optimizer: OptimizerKind,
    /// Heavy-ball momentum β (`momentum`; default 0.9).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub beta: Option<f64>,
    /// Nesterov's form of momentum (`momentum`; default false).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub nesterov: Option<bool>,
    /// Adam's first-moment decay β1 (default 0.9).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub beta1: Option<f64>,
    /// The second-moment decay β2 (`adam`: default 0.999; `rmsprop`: default 0.99).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub beta2: Option<f64>,
    /// ε of the preconditioner √v̂ + ε (`adam`, `rmsprop`, `adagrad`; default 1e-8).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub eps: Option<f64>,
    /// How η moves over the run: the `schedule` list, a triangular cycle, or the auto-catapult.
    #[serde(skip_serializing_if = "is_default")]
    pub schedule_kind: ScheduleKind,
    /// `cyclic`: the period in steps, and the low and high rate (unit of eta / eta_scaled).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub cycle_steps: Option<usize>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub cycle_low: Option<f64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub cycle_high: Option<f64>,
    /// `auto_catapult`: the η·λ̂_t each change sets (> 2; default 2.6), and at most how many changes (default 5).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub auto_factor: Option<f64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub auto_max: Option<usize>,
}

fn is_default<T: Default + PartialEq>(value: &T) -> bool {
    *value == T::default()
}

/// `train.optimizer` (SPEC §12).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(rename_all = "snake_case")]
pub enum OptimizerKind {
    #[default]
    Gd,
    Momentum,
    Adam,
    Rmsprop,
    Adagrad,
}

impl OptimizerKind {
    pub const ALL: [OptimizerKind; 5] = [OptimizerKind::Gd, OptimizerKind::Momentum, OptimizerKind::Adam, OptimizerKind::Rmsprop, OptimizerKind::Adagrad];

    /// The preset spelling.
    pub fn key(self) -> &'static str {
        match self {
            OptimizerKind::Gd => "gd",
            OptimizerKind::Momentum => "momentum",
            OptimizerKind::Adam => "adam",
            OptimizerKind::Rmsprop => "rmsprop",
            OptimizerKind::Adagrad => "adagrad",
        }
    }

    /// True for the diagonally preconditioned rules (their edge is on λ_max(P⁻¹∇²L)).
    pub fn adaptive(self) -> bool {
        matches!(self, OptimizerKind::Adam | OptimizerKind::Rmsprop | OptimizerKind::Adagrad)
    }
}

/// `train.schedule_kind` (SPEC §12).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(rename_all = "snake_case")]
pub enum ScheduleKind {
    #[default]
    Piecewise,
    Cyclic,
    AutoCatapult,
}

impl ScheduleKind {
    pub const ALL: [ScheduleKind; 3] = [ScheduleKind::Piecewise, ScheduleKind::Cyclic, ScheduleKind::AutoCatapult];

    pub fn key(self) -> &'static str {
        match self {
            ScheduleKind::Piecewise => "piecewise",
            ScheduleKind::Cyclic => "cyclic",
            ScheduleKind::AutoCatapult => "auto_catapult",
        }
    }
}

impl Default for TrainConfig {
    fn default() -> Self {
        TrainConfig {
            eta: None,
            eta_scaled: None,
            steps: 1000,
            batch_size: 0,
            schedule: Vec::new(),
            divergence_factor: 1e8,
            frozen_layers: Vec::new(),
            optimizer: OptimizerKind::Gd,
            beta: None,
            nesterov: None,
            beta1: None,
            beta2: None,
            eps: None,
            schedule_kind: ScheduleKind::Piecewise,
            cycle_steps: None,
            cycle_low: None,
            cycle_high: None,
            auto_factor: None,
            auto_max: None,
        }
    }
}

/// How the learning rate is given: directly, or in units of 1/λ̂0.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum EtaSpec {
    Raw(f64),
    Scaled(f64),
}

impl ModelConfig {
    /// The init scale of layer `layer` (1-based): `init_scales[layer − 1]` if given, else `init_scale`.
    pub fn layer_init_scale(&self, layer: usize) -> f64 {
        self.init_scales.as_ref().and_then(|s| s.get(layer - 1).copied()).unwrap_or(self.init_scale)
    }

    /// How many layers this model has (the numbering of `init_scales` and `frozen_layers`).
    pub fn layer_count(&self) -> usize {
        match self.kind {
            ModelKind::TwoLayer => 2,
            ModelKind::Quadratic | ModelKind::LinearPredictor => 1,
            ModelKind::Mlp => self.depth + 1,
        }
    }
}

impl TrainConfig {
    /// True when layer `layer` (1-based) is trained.
    pub fn trains_layer(&self, layer: usize) -> bool {
        !self.frozen_layers.contains(&layer)
    }
}

impl TrainConfig {
    /// β of heavy ball (default 0.9).
    pub fn beta_or_default(&self) -> f64 {
        self.beta.unwrap_or(0.9)
    }
    /// β1 of Adam (default 0.9).
    pub fn beta1_or_default(&self) -> f64 {
        self.beta1.unwrap_or(0.9)
    }
    /// β2: 0.999 for Adam, 0.99 for RMSprop (PyTorch's defaults).
    pub fn beta2_or_default(&self) -> f64 {
        self.beta2.unwrap_or(if self.optimizer == OptimizerKind::Rmsprop { 0.99 } else { 0.999 })
    }
    /// ε of the adaptive rules (default 1e-8).
    pub fn eps_or_default(&self) -> f64 {
        self.eps.unwrap_or(1e-8)
    }
    /// η·λ̂_t set by each auto-catapult change (default 2.6).
    pub fn auto_factor_or_default(&self) -> f64 {
        self.auto_factor.unwrap_or(2.6)
    }
    /// At most this many auto-catapult changes (default 5).
    pub fn auto_max_or_default(&self) -> usize {
        self.auto_max.unwrap_or(5)
    }

    /// The learning rate as given; `eta_scaled = 1.5` when neither key is present.
    pub fn eta_spec(&self) -> EtaSpec {
        match (self.eta, self.eta_scaled) {
            (Some(eta), _) => EtaSpec::Raw(eta),
            (None, Some(scaled)) => EtaSpec::Scaled(scaled),
            (None, None) => EtaSpec::Scaled(1.5),
        }
    }
}

impl Preset {
    /// A one-line description of a preset's model.
    pub fn describe_model(&self) -> String {
        let m = &self.model;
        match m.kind {
            ModelKind::TwoLayer => {
                let act = if m.a_neg == 1.0 {
                    "linear".to_string()
                } else if m.a_neg == 0.0 {
                    "ReLU".to_string()
                } else {
                    format!("leaky a_neg={}", m.a_neg)
                };
                format!("two_layer {act} m={} {:?}", m.width, m.approx).to_lowercase()
            }
            ModelKind::Quadratic => format!("quadratic gamma={}", m.gamma),
            ModelKind::LinearPredictor => "linear_predictor".to_string(),
            ModelKind::Mlp => {
                let act = match m.activation {
                    Activation::Relu if m.a_neg == 0.0 => "relu".to_string(),
                    Activation::Relu if m.a_neg == 1.0 => "linear".to_string(),
                    Activation::Relu => format!("leaky a_neg={}", m.a_neg),
                    other => format!("{other:?}").to_lowercase(),
                };
                let widths = match &m.widths {
                    Some(w) => format!("widths={}", w.iter().map(|x| x.to_string()).collect::<Vec<_>>().join("/")),
                    None => format!("m={}", m.width),
                };
                let bias = if m.bias { format!(" bias={}", m.bias_scale) } else { String::new() };
                format!("mlp depth={} {act} {widths} {:?} {:?}{bias}", m.depth, m.parameterization, m.approx).to_lowercase()
            }
        }
    }
}
