//! The two-layer net's dense n × n kernel K = c²[(XXᵀ/s_d²)∘(G diag(a²) Gᵀ) + (G∘B)(G∘B)ᵀ]
//! as two Gram products of which only the lower triangles are multiplied, on scaled copies of
//! blocks of neurons that stay in cache, in fixed chunks summed in order (bit-identical across
//! thread counts); in d = 1 the exact sign-class form. The inputs' x_i·x_j do not change with
//! the weights: they are taken once for the training rows and kept (`input_dots`).

use super::*;
use super::fused;

/// Most x_i·x_j entries kept between steps (`input_dots`, 16 MB; W2's n = 256 needs 0.5 MB).
const INPUT_DOT_ENTRIES: usize = 1 << 21;

impl TwoLayer {
    pub(super) fn kernel_matrix(&self, data: &Dataset, out: &mut [f64]) {
        let (m, n) = (self.m, self.n);
        let a = self.a_coeffs();
        if self.recompute {
            // d = 1: K = c² s² Σ_σ W_σ (g^σ∘x)(g^σ∘x)ᵀ (see `line_class_weights`).
            let weights = self.line_class_weights();
            let scale = self.c * self.c * self.s_inv * self.s_inv;
            let h: Vec<[f64; 3]> = data.x.iter().map(|&xi| [0, 1, 2].map(|cl| self.line_class_gate(cl, xi) * xi)).collect();
            for i in 0..n {
                for j in i..n {
                    let k_ij = scale * (0..3).map(|cl| weights[cl] * h[i][cl] * h[j][cl]).sum::<f64>();
                    out[i * n + j] = k_ij;
                    out[j * n + i] = k_ij;
                }
            }
            return;
        }
        let (gate_all, b): (&[f64], &[f64]) = (&self.gate, self.b_cache());
        let (network, a_neg) = (self.approx == Approx::Network, self.a_neg);
        // A = (G diag|a|)ᵀ(G diag|a|) and B = (G∘b)ᵀ(G∘b) (G neuron-major, m × n) are Gram
        // matrices: per block of neurons, the scaled copies are made once (they stay in cache)
        // and only the lower triangle of each is multiplied (`gram_lower`); each chunk of
        // blocks accumulates one n × n partial and partials are added in chunk order, so the
        // result does not depend on the thread count. Only the lower triangles are read below.
        // Chunks of 1–4 blocks, from m alone: at least ~16 chunks when m allows, for balance.
        let chunk = GRAM_NEURONS * (m / (16 * GRAM_NEURONS)).clamp(1, GRAM_BLOCKS_PER_CHUNK);
        let chunks = m.div_ceil(chunk);
        let size = 2 * n * n;
        let work = |ch: usize, out: &mut [f64]| {
            out.iter_mut().for_each(|o| *o = 0.0);
            let (out_a, out_b) = out.split_at_mut(n * n);
            let chunk_end = ((ch + 1) * chunk).min(m);
            for k0 in (ch * chunk..chunk_end).step_by(GRAM_NEURONS) {
                let rows = (k0 + GRAM_NEURONS).min(chunk_end) - k0;
                SCRATCH.with_borrow_mut(|buf| {
                    buf.resize(2 * rows * n, 0.0);
                    let (ga, gb) = buf.split_at_mut(rows * n);
                    for r in 0..rows {
                        let k = k0 + r;
                        let bk = &b[k * n..(k + 1) * n];
                        let a_abs = a[k].abs();
                        let (row_a, row_b) = (&mut ga[r * n..(r + 1) * n], &mut gb[r * n..(r + 1) * n]);
                        if network {
                            fused::scaled_copies(bk, a_abs, a_neg, row_a, row_b);
                        } else {
                            let g = &gate_all[k * n..(k + 1) * n];
                            for (((o_a, o_b), &gi), &bi) in row_a.iter_mut().zip(row_b.iter_mut()).zip(g).zip(bk) {
                                *o_a = a_abs * gi;
                                *o_b = gi * bi;
                            }
                        }
                    }
                    gram_lower(n, rows, ga, out_a);
                    gram_lower(n, rows, gb, out_b);
                });
            }
        };
        // Waves of chunks: their partials are computed in parallel, then added to the total in
        // chunk order (so the wave size does not change the result). A wave holds at most
        // GRAM_WAVE partials and at most GRAM_WAVE_BYTES of them (n × n grows fast with n).
        let wave_len = chunks.min(GRAM_WAVE).min((GRAM_WAVE_BYTES / (8 * size)).max(1));
        let mut buffer = self.gram_partials.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
        buffer.resize((wave_len + 1) * size, 0.0);
        let (total, parts) = buffer.split_at_mut(size);
        total.iter_mut().for_each(|t| *t = 0.0);
        for first in (0..chunks).step_by(wave_len) {
            let count = wave_len.min(chunks - first);
            let wave = &mut parts[..count * size];
            if self.parallel() {
                wave.par_chunks_mut(size).enumerate().for_each(|(i, part)| work(first + i, part));
            } else {
                wave.chunks_mut(size).enumerate().for_each(|(i, part)| work(first + i, part));
            }
            for part in wave.chunks(size) {
                for (t, p) in total.iter_mut().zip(part) {
                    *t += p;
                }
            }
        }
        let total: &[f64] = total;
        let grams = [&total[..n * n], &total[n * n..]];
        let c2 = self.c * self.c;
        let s2 = self.s_inv * self.s_inv;
        // A frozen layer's Gram term is left out (factor 0; 1 when trained, exact).
        let [ku, kv] = self.layer_factors();
        let kept = self.input_dots(data);
        let dots: Option<&[f64]> = kept.as_ref().and_then(|k| k.as_ref()).map(|(_, dots)| &dots[..]);
        for j in 0..n {
            for i in 0..=j {
                let gram = match dots {
                    Some(dots) => dots[j * n + i],
                    None => crate::engine::model::dot(data.row(i), data.row(j)),
                };
                let k_ij = c2 * (ku * s2 * gram * grams[0][j * n + i] + kv * grams[1][j * n + i]);
                out[i * n + j] = k_ij;
                out[j * n + i] = k_ij;
            }
        }
    }

    /// x_i·x_j for j ≤ i of `data` (entry [i·n + j]) from `input_dots`, made now if these are
    /// other rows (the same `dot` calls, so the same bits as taking them one by one); None
    /// above `INPUT_DOT_ENTRIES` (then the caller takes them one by one).
    fn input_dots(&self, data: &Dataset) -> Option<std::sync::MutexGuard<'_, Option<(Vec<f64>, Vec<f64>)>>> {
        let (n, d) = (data.n, data.d);
        if n * n > INPUT_DOT_ENTRIES {
            return None;
        }
        Some(crate::engine::model::kept_for_rows(&self.input_dots, &data.x[..n * d], n * n, || {
            let mut dots = vec![0.0; n * n];
            for i in 0..n {
                for j in 0..=i {
                    dots[i * n + j] = crate::engine::model::dot(data.row(j), data.row(i));
                }
            }
            dots
        }))
    }

    /// K·x without forming K (matrix-free; see `Model::kernel_apply`).
    pub(super) fn kernel_matrix_free(&self, data: &Dataset, x: &[f64], out: &mut [f64]) {
        // K x = c² Σ_k g_k ∘ [a_k² s² X (Xᵀ(g_k ∘ x)) + b_k (b_k · (g_k ∘ x))], one pass over
        // the neurons with Jᵀ and J fused (each neuron's rows are read once, from cache).
        let (d, n) = (self.d, self.n);
        let a = self.a_coeffs();
        let s2 = self.s_inv * self.s_inv;
        let c2 = self.c * self.c;
        let [ku, kv] = self.layer_factors();
        if self.recompute {
            // d = 1: K r = c² s² Σ_σ W_σ (g^σ∘x) ((g^σ∘x)·r), O(m + n).
            let weights = self.line_class_weights();
            out.iter_mut().for_each(|o| *o = 0.0);
            for (class, &w) in weights.iter().enumerate() {
                if w == 0.0 {
                    continue;
                }
                let proj: f64 = data.x.iter().zip(x).map(|(&xi, &ri)| self.line_class_gate(class, xi) * xi * ri).sum();
                for (o, &xi) in out.iter_mut().zip(&data.x) {
                    *o += w * proj * self.line_class_gate(class, xi) * xi;
                }
            }
            out.iter_mut().for_each(|o| *o *= c2 * s2);
            return;
        }
        let partials = self.map_chunks(|range| {
            let mut acc = vec![0.0; n];
            let mut gx = vec![0.0; n];
            let mut t = vec![0.0; d];
            let mut buf = vec![0.0; 2 * n];
            for k in range {
                let (g, bk) = self.rows(data, k, &mut buf);
                for ((o, &gi), &xi) in gx.iter_mut().zip(g).zip(x) {
                    *o = gi * xi;
                }
                let tv = kv * crate::engine::model::dot(&gx, bk);
                let coef = ku * a[k] * a[k] * s2;
                if d == 1 {
                    let tu = coef * crate::engine::model::dot(&gx, &data.x);
                    for (((o, &gi), &bi), &xi) in acc.iter_mut().zip(g).zip(bk).zip(&data.x) {
                        *o += gi * (tu * xi + tv * bi);
                    }
                } else {
                    t.iter_mut().for_each(|v| *v = 0.0);
                    for (i, &gxi) in gx.iter().enumerate() {
                        for (tj, xj) in t.iter_mut().zip(data.row(i)) {
                            *tj += gxi * xj;
                        }
                    }
                    for i in 0..n {
                        acc[i] += g[i] * (coef * crate::engine::model::dot(&t, data.row(i)) + tv * bk[i]);
                    }
                }
            }
            acc
        });
        sum_partials(partials, out);
        out.iter_mut().for_each(|o| *o *= c2);
    }
}
