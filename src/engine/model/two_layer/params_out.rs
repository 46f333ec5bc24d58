//! The two-layer net's layers for `run --params-out` (SPEC §10 layer names): W1 = u (m × d,
//! row k = u_k) and W2 = v (1 × m), at init and now, no biases; f(x) = c_m W2 σ(W1 x / s_d).

use super::*;
use crate::engine::model::LayerParams;

impl TwoLayer {
    pub(super) fn layers_out(&self) -> Vec<LayerParams> {
        let split = self.m * self.d;
        vec![
            LayerParams { rows: self.m, cols: self.d, weight_init: self.w0[..split].to_vec(), weight_now: self.w[..split].to_vec(), bias_init: None, bias_now: None },
            LayerParams { rows: 1, cols: self.m, weight_init: self.w0[split..].to_vec(), weight_now: self.w[split..].to_vec(), bias_init: None, bias_now: None },
        ]
    }
}
