//! The two-layer net in d = 1 (SPEC §2): every neuron's gate row is one of three sign-class
//! rows, so outputs, gradient and kernel come from three sums over the neurons, O(m + n) per
//! step (exact); one example on the line is a single fused pass over the neurons (update,
//! output, kernel, norms, alignment). The loops are compiled for AVX2/AVX-512 (`simd`).

use super::*;

impl TwoLayer {
    /// `forward` in recompute mode (d = 1): outputs and the negative-gate count, no caches.
    pub(super) fn forward_recompute(&mut self, data: &Dataset, out: &mut [f64]) {
        let (m, n, c) = (self.m, self.n, self.c);
        let linearized = self.approx == Approx::Linearized;
        if n == 1 {
            let (xs, a_neg) = (data.x[0] * self.s_inv, self.a_neg);
            let gate = move |z: f64| gate_of(z, a_neg);
            let f = match self.approx {
                Approx::Network => self.neuron_sum(|u, _, v, _| v * gate(u * xs) * (u * xs)),
                Approx::Quadratic => self.neuron_sum(|u, u0, v, _| v * gate(u0 * xs) * (u * xs)),
                Approx::Linearized => self.neuron_sum(|u, u0, v, v0| {
                    let (z, z0) = (u * xs, u0 * xs);
                    gate(z0) * (v0 * (z - z0) + (v - v0) * z0)
                }),
            };
            if a_neg < 1.0 {
                let negative = self.neuron_sum(|u, _, _, _| (u * xs < 0.0) as u8 as f64);
                self.negative_fraction = negative / m as f64;
            }
            out[0] = c * f + if linearized { self.f0[0] } else { 0.0 };
            return;
        }
        // n > 1: neuron k's output row is c v_k g^σ(k) ∘ (u_k s x) (network; see
        // `line_class_weights` and `line_class_forward` for the Taylor models), so
        // f_i = c s x_i Σ_σ g^σ(x_i) F_σ with one sum F_σ per class: O(m + n).
        let partials = self.map_chunks_for(LINE_PASS, |range| {
            let (u, u0) = (&self.w[range.clone()], &self.w0[range.clone()]);
            let (v, v0) = (&self.w[m + range.start..m + range.end], &self.w0[m + range.start..m + range.end]);
            line_class_forward([u, u0, v, v0], self.approx)
        });
        let mut sums = [0.0; LINE_FORWARD_SUMS];
        for part in partials {
            for (t, p) in sums.iter_mut().zip(part) {
                *t += p;
            }
        }
        let [f_pos, f_neg, f_zero, u_pos, u_neg] = sums;
        let (x_pos, x_neg) = (data.x.iter().filter(|&&x| x > 0.0).count() as f64, data.x.iter().filter(|&&x| x < 0.0).count() as f64);
        // u_k x_i < 0 exactly when u_k and x_i have opposite signs.
        self.negative_fraction = (u_pos * x_neg + u_neg * x_pos) / (m * n) as f64;
        for (i, o) in out.iter_mut().enumerate() {
            let x = data.x[i];
            let classes = self.line_class_gate(0, x) * f_pos + self.line_class_gate(1, x) * f_neg + f_zero;
            *o = c * self.s_inv * x * classes + if linearized { self.f0[i] } else { 0.0 };
        }
    }

    /// d = 1: every gate row is one of three vectors, fixed by the sign class of the weight
    /// that sets the gates (u, or u0 for the Taylor models): g⁺ = σ'(x), g⁻ = σ'(−x), g⁰ = 1;
    /// and b_k = q_k s x. So K = c² s² Σ_σ W_σ (g^σ∘x)(g^σ∘x)ᵀ, W_σ = Σ_{k∈σ} (a_k² + q_k²),
    /// exact, in O(m + n²) instead of O(n² m). Returns [W⁺, W⁻, W⁰].
    pub(super) fn line_class_weights(&self) -> [f64; 3] {
        // a² is the u layer's part, q² the v layer's (a frozen layer's factor is 0).
        let [ku, kv] = self.layer_factors();
        let terms = |u: f64, u0: f64, v: f64, v0: f64| -> (f64, f64) {
            match self.approx {
                Approx::Network => (u, ku * (v * v) + kv * (u * u)),
                Approx::Quadratic => (u0, ku * (v * v) + kv * (u * u)),
                Approx::Linearized => (u0, ku * (v0 * v0) + kv * (u0 * u0)),
            }
        };
        // One pass: 8 partial sums per class, in fixed chunks.
        let m = self.m;
        let partials = self.map_chunks_for(LINE_PASS, |range| {
            let (u, u0) = (&self.w[range.clone()], &self.w0[range.clone()]);
            let (v, v0) = (&self.w[m + range.start..m + range.end], &self.w0[m + range.start..m + range.end]);
            let mut acc = [[0.0; 8]; 3];
            for (j, (((&u, &u0), &v), &v0)) in u.iter().zip(u0).zip(v).zip(v0).enumerate() {
                let (q, w) = terms(u, u0, v, v0);
                let l = j % 8;
                acc[0][l] += (q > 0.0) as u8 as f64 * w;
                acc[1][l] += (q < 0.0) as u8 as f64 * w;
                acc[2][l] += (q == 0.0) as u8 as f64 * w;
            }
            acc.map(|a| ((a[0] + a[4]) + (a[1] + a[5])) + ((a[2] + a[6]) + (a[3] + a[7])))
        });
        let mut total = [0.0; 3];
        for p in partials {
            for (t, x) in total.iter_mut().zip(p) {
                *t += x;
            }
        }
        total
    }

    /// The class gate g^σ_i (see `line_class_weights`).
    #[inline(always)]
    pub(super) fn line_class_gate(&self, class: usize, x: f64) -> f64 {
        match class {
            0 => gate_of(x, self.a_neg),
            1 => gate_of(-x, self.a_neg),
            _ => 1.0,
        }
    }

    /// One example on the line (n = d = 1): Σ_k term(u_k, u0_k, v_k, v0_k) over the neurons,
    /// in fixed chunks with 8 partial sums each (branch-free, so it vectorizes).
    pub(super) fn neuron_sum(&self, term: impl Fn(f64, f64, f64, f64) -> f64 + Sync + Send) -> f64 {
        const LANES: usize = 8;
        let m = self.m;
        let partials = self.map_chunks(|range| {
            let (u, u0) = (&self.w[range.clone()], &self.w0[range.clone()]);
            let (v, v0) = (&self.w[m + range.start..m + range.end], &self.w0[m + range.start..m + range.end]);
            let mut acc = [0.0; LANES];
            let full = u.len() / LANES * LANES;
            for base in (0..full).step_by(LANES) {
                let (u, u0, v, v0) = (&u[base..base + LANES], &u0[base..base + LANES], &v[base..base + LANES], &v0[base..base + LANES]);
                for l in 0..LANES {
                    acc[l] += term(u[l], u0[l], v[l], v0[l]);
                }
            }
            let mut tail = 0.0;
            for j in full..u.len() {
                tail += term(u[j], u0[j], v[j], v0[j]);
            }
            ((acc[0] + acc[4]) + (acc[1] + acc[5])) + ((acc[2] + acc[6]) + (acc[3] + acc[7])) + tail
        });
        partials.iter().sum()
    }
}

/// Sums of `line_class_forward`: F⁺, F⁻, F⁰ and the counts of u > 0 and u < 0.
pub(super) const LINE_FORWARD_SUMS: usize = 5;

simd::multiversion! {
    /// d = 1, one chunk of neurons [u, u0, v, v0]: the per-class output sums F_σ (classes by
    /// the sign of the weight that sets the gates: u, or u0 for the Taylor models) of
    /// v u (network, quadratic) or v0 (u − u0) + (v − v0) u0 (linearized), and the counts of
    /// positive and negative u. 8 partial sums each, selects instead of branches.
    pub(super) fn line_class_forward(w: [&[f64]; 4], approx: Approx) -> [f64; LINE_FORWARD_SUMS] {
        match approx {
            Approx::Network => line_class_forward_lanes::<NETWORK>(w),
            Approx::Quadratic => line_class_forward_lanes::<QUADRATIC>(w),
            Approx::Linearized => line_class_forward_lanes::<LINEARIZED>(w),
        }
    }
}

#[inline(always)]
fn line_class_forward_lanes<const APPROX: u8>([u, u0, v, v0]: [&[f64]; 4]) -> [f64; LINE_FORWARD_SUMS] {
    const LANES: usize = 8;
    let neuron = |u: f64, u0: f64, v: f64, v0: f64| -> [f64; LINE_FORWARD_SUMS] {
        let q = if APPROX == NETWORK { u } else { u0 };
        let term = if APPROX == LINEARIZED { v0 * (u - u0) + (v - v0) * u0 } else { v * u };
        [
            if q > 0.0 { term } else { 0.0 },
            if q < 0.0 { term } else { 0.0 },
            if q == 0.0 { term } else { 0.0 },
            if u > 0.0 { 1.0 } else { 0.0 },
            if u < 0.0 { 1.0 } else { 0.0 },
        ]
    };
    let mut acc = [[0.0; LANES]; LINE_FORWARD_SUMS];
    let full = u.len() / LANES * LANES;
    for start in (0..full).step_by(LANES) {
        let lanes = |x: &[f64]| -> [f64; LANES] { x[start..start + LANES].try_into().expect("8 lanes") };
        let (uc, u0c, vc, v0c) = (lanes(u), lanes(u0), lanes(v), lanes(v0));
        for l in 0..LANES {
            for (a, t) in acc.iter_mut().zip(neuron(uc[l], u0c[l], vc[l], v0c[l])) {
                a[l] += t;
            }
        }
    }
    let mut out = acc.map(|a| ((a[0] + a[4]) + (a[1] + a[5])) + ((a[2] + a[6]) + (a[3] + a[7])));
    for j in full..u.len() {
        for (o, t) in out.iter_mut().zip(neuron(u[j], u0[j], v[j], v0[j])) {
            *o += t;
        }
    }
    out
}

simd::multiversion! {
    /// d = 1, one chunk of neurons [u, u0, v, v0]: the gradient rows du_k = cs a_k T_σ(k),
    /// dv_k = cs q_k T_σ(k) (see `vjp`), with T = [T⁺, T⁻, T⁰].
    pub(super) fn line_class_vjp(du: &mut [f64], dv: &mut [f64], w: [&[f64]; 4], t: [f64; 3], cs: f64, approx: Approx) -> () {
        match approx {
            Approx::Network => line_class_vjp_rows::<NETWORK>(du, dv, w, t, cs),
            Approx::Quadratic => line_class_vjp_rows::<QUADRATIC>(du, dv, w, t, cs),
            Approx::Linearized => line_class_vjp_rows::<LINEARIZED>(du, dv, w, t, cs),
        }
    }
}

#[inline(always)]
fn line_class_vjp_rows<const APPROX: u8>(du: &mut [f64], dv: &mut [f64], [u, u0, v, v0]: [&[f64]; 4], t: [f64; 3], cs: f64) {
    for k in 0..du.len() {
        let gate_weight = if APPROX == NETWORK { u[k] } else { u0[k] };
        let class_sum = if gate_weight > 0.0 {
            t[0]
        } else if gate_weight < 0.0 {
            t[1]
        } else {
            t[2]
        };
        let (a, q) = if APPROX == LINEARIZED { (v0[k], u0[k]) } else { (v[k], u[k]) };
        du[k] = cs * a * class_sum;
        dv[k] = cs * q * class_sum;
    }
}

/// Sums a fused one-example step accumulates per neuron: f/c, K/c², ‖w‖², ‖w − w0‖²,
/// Σ (u − u0), Σ v, negative pre-activations.
pub(super) const FUSED_SUMS: usize = 7;

impl TwoLayer {
    /// The fused step for n = d = 1 (see `Model::fused_one_example_step`): updates u and v in
    /// place and returns the `FUSED_SUMS` sums at the new weights. Chunks are fixed by shape
    /// and each chunk sums in 8 lanes, so results do not depend on the thread count (nor on
    /// the vector instructions, see `simd`).
    pub(super) fn fused_line_step(&mut self, xs: f64, eta: f64, z: f64) -> [f64; FUSED_SUMS] {
        let (m, approx) = (self.m, self.approx);
        let step = LineStep { xs, eta_c: eta * self.c, z, a_neg: self.a_neg };
        let size = self.chunk_for(LINE_PASS);
        let parallel = self.parallel_for(LINE_PASS);
        let (u_all, v_all) = self.w.split_at_mut(m);
        let (u0_all, v0_all) = self.w0.split_at(m);
        let chunks = u_all.chunks_mut(size).zip(v_all.chunks_mut(size)).zip(u0_all.chunks(size)).zip(v0_all.chunks(size));
        let run = |(((u, v), u0), v0): (((&mut [f64], &mut [f64]), &[f64]), &[f64])| fused_line_chunk(u, v, u0, v0, step, approx);
        let partials: Vec<[f64; FUSED_SUMS]> = if parallel { chunks.collect::<Vec<_>>().into_par_iter().map(run).collect() } else { chunks.map(run).collect() };
        let mut total = [0.0; FUSED_SUMS];
        for part in partials {
            for (t, p) in total.iter_mut().zip(part) {
                *t += p;
            }
        }
        total
    }
}

/// The scalars of one fused n = d = 1 step: x/s_d, η·c, the loss derivative z, a_neg.
#[derive(Clone, Copy)]
struct LineStep {
    xs: f64,
    eta_c: f64,
    z: f64,
    a_neg: f64,
}

simd::multiversion! {
    /// One chunk of `fused_line_step`, the approximation fixed outside the loop.
    fn fused_line_chunk(u: &mut [f64], v: &mut [f64], u0: &[f64], v0: &[f64], step: LineStep, approx: Approx) -> [f64; FUSED_SUMS] {
        match approx {
            Approx::Network => fused_line_lanes::<NETWORK>(u, v, u0, v0, step),
            Approx::Quadratic => fused_line_lanes::<QUADRATIC>(u, v, u0, v0, step),
            Approx::Linearized => fused_line_lanes::<LINEARIZED>(u, v, u0, v0, step),
        }
    }
}

const NETWORK: u8 = 0;
const QUADRATIC: u8 = 1;
const LINEARIZED: u8 = 2;

/// The fused pass over one chunk in blocks of 8 neurons held in fixed-size arrays, so every
/// line of the loop body is one vector operation; 8 partial sums per quantity.
#[inline(always)]
fn fused_line_lanes<const APPROX: u8>(u: &mut [f64], v: &mut [f64], u0: &[f64], v0: &[f64], step: LineStep) -> [f64; FUSED_SUMS] {
    const LANES: usize = 8;
    let LineStep { xs, eta_c, z, a_neg } = step;
    // One neuron: update, then its contributions at the new weights.
    let neuron = |u: &mut f64, v: &mut f64, u0: f64, v0: f64| -> [f64; FUSED_SUMS] {
        let z_old = *u * xs;
        let z0 = u0 * xs;
        let g = gate_of(if APPROX == NETWORK { z_old } else { z0 }, a_neg);
        let (a, b) = if APPROX == LINEARIZED { (v0, z0) } else { (*v, z_old) };
        *u -= eta_c * a * g * xs * z;
        *v -= eta_c * g * b * z;
        let z_new = *u * xs;
        let g_new = if APPROX == NETWORK { gate_of(z_new, a_neg) } else { g };
        let (a_new, b_new) = if APPROX == LINEARIZED { (v0, z0) } else { (*v, z_new) };
        let f = if APPROX == LINEARIZED { g * (v0 * (z_new - z0) + (*v - v0) * z0) } else { *v * g_new * z_new };
        let (du, dv) = (*u - u0, *v - v0);
        [f, g_new * g_new * (a_new * a_new * xs * xs + b_new * b_new), *u * *u + *v * *v, du * du + dv * dv, du, *v, if z_new < 0.0 { 1.0 } else { 0.0 }]
    };
    let mut acc = [[0.0; LANES]; FUSED_SUMS];
    let full = u.len() / LANES * LANES;
    let (u_body, u_tail) = u.split_at_mut(full);
    let (v_body, v_tail) = v.split_at_mut(full);
    for (((uc, vc), u0c), v0c) in u_body.chunks_exact_mut(LANES).zip(v_body.chunks_exact_mut(LANES)).zip(u0.chunks_exact(LANES)).zip(v0.chunks_exact(LANES)) {
        let (uc, vc): (&mut [f64; LANES], &mut [f64; LANES]) = (uc.try_into().expect("8 lanes"), vc.try_into().expect("8 lanes"));
        let (u0c, v0c): (&[f64; LANES], &[f64; LANES]) = (u0c.try_into().expect("8 lanes"), v0c.try_into().expect("8 lanes"));
        for l in 0..LANES {
            let terms = neuron(&mut uc[l], &mut vc[l], u0c[l], v0c[l]);
            for (a, t) in acc.iter_mut().zip(terms) {
                a[l] += t;
            }
        }
    }
    let mut out = [0.0; FUSED_SUMS];
    for (o, a) in out.iter_mut().zip(&acc) {
        *o = ((a[0] + a[4]) + (a[1] + a[5])) + ((a[2] + a[6]) + (a[3] + a[7]));
    }
    for (j, (uu, vv)) in u_tail.iter_mut().zip(v_tail.iter_mut()).enumerate() {
        let terms = neuron(uu, vv, u0[full + j], v0[full + j]);
        for (o, t) in out.iter_mut().zip(terms) {
            *o += t;
        }
    }
    out
}
