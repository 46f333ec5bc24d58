//! The two-layer net's dense kernel in square output tiles, for shapes whose scaled neuron
//! copies fit in memory at once (m·n ≤ `TILED_ENTRIES`: the SGD presets' n = 1000, m = 512,
//! the image presets). Each tile of the upper triangle is three matrix products — the two Gram
//! blocks over all m neurons and the XXᵀ block over the d inputs — combined at once into K and
//! its mirror, optionally scaled by W^{1/2} on both sides (the normalized kernel the solver
//! wants). No n × n partial sums are zeroed, accumulated or added, and K is written once.
//! A tile is the same fixed GEMM calls whichever thread computes it, so the result is
//! bit-identical across thread counts. The X Xᵀ blocks do not change with the weights: they are
//! multiplied once for the training rows and kept. Large m (W2: m = 20 000) keeps the neuron-chunked
//! form of `gram.rs`.

use super::*;
use super::fused;

/// Largest m·n for which the tiled form is used (its two m × n copies take 16 MB·(m·n / 2²⁰)).
pub(super) const TILED_ENTRIES: usize = 1 << 21;
/// Rows and columns of an output tile; a row block's tiles start at its diagonal, so only the
/// lower triangle of one TILE_ROWS × TILE_ROWS square per row block is computed in vain. On the
/// AMD EPYC (Zen 5) machine of the sixth session, one W5 Gram in column-major tiles on both
/// cores (min of 40): 32 × 1000 2.34–2.37 ms, 32 × 512 2.42–2.43, 64 × 512 2.47–2.57, 64 × 256
/// 2.53–2.57, 16 × 256 2.90–3.09; W5 12.6–13.9 → 12.1–12.6 ms/step (five interleaved pairs).
/// (On the earlier Intel machine 64–128 × 128–1000 had measured within noise of each other.)
/// `config::estimated_bytes` counts the kept X Xᵀ tiles as n(n + TILE_ROWS)/2 entries: change
/// it with TILE_ROWS.
const TILE_ROWS: usize = 32;
const TILE_COLS: usize = 1024;
/// Most entries of X Xᵀ tiles kept between steps (16 MB; W5's n = 1000 needs 5 MB).
const INPUT_TILE_ENTRIES: usize = 1 << 21;

thread_local! {
    /// Per-thread scratch for one tile's three products.
    static TILE_SCRATCH: std::cell::RefCell<Vec<f64>> = const { std::cell::RefCell::new(Vec::new()) };
}

/// The kernel's storage, shared by the tile tasks; each writes a disjoint set of entries.
#[derive(Clone, Copy)]
struct SharedOut(*mut f64);
// SAFETY: the tasks of `kernel_tiled` write pairwise disjoint entries (see there).
unsafe impl Sync for SharedOut {}
unsafe impl Send for SharedOut {}

impl TwoLayer {
    /// Whether `kernel_tiled` serves this net (cached m × n rows, not too many of them).
    pub(super) fn tiled_kernel_applies(&self) -> bool {
        !self.recompute && self.m * self.n <= TILED_ENTRIES
    }

    /// K (n × n, row-major) into `out`, entry (i, j) multiplied by root_i root_j when `root`
    /// is given: K = c²[(XXᵀ/s_d²)∘(G diag(a²) Gᵀ) + (G∘B)(G∘B)ᵀ], frozen layers left out.
    pub(super) fn kernel_tiled(&self, data: &Dataset, root: Option<&[f64]>, out: &mut [f64]) {
        let (m, n, d) = (self.m, self.n, self.d);
        assert!(out.len() >= n * n && data.n == n);
        let a = self.a_coeffs();
        let (gate_all, b): (&[f64], &[f64]) = (&self.gate, self.b_cache());
        let (network, a_neg) = (self.approx == Approx::Network, self.a_neg);
        let mut buffer = self.gram_partials.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
        buffer.resize(2 * m * n, 0.0);
        let (ga, gb) = buffer.split_at_mut(m * n);
        // The scaled copies, neuron-major: ga_ki = |a_k| g_ki and gb_ki = g_ki b_ki.
        let rows_per_task = CHUNK_MIN;
        let fill = |(c, (rows_a, rows_b)): (usize, (&mut [f64], &mut [f64]))| {
            for (r, (row_a, row_b)) in rows_a.chunks_mut(n).zip(rows_b.chunks_mut(n)).enumerate() {
                let k = c * rows_per_task + r;
                let bk = &b[k * n..(k + 1) * n];
                let a_abs = a[k].abs();
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
        };
        let parallel = self.parallel();
        if parallel {
            ga.par_chunks_mut(rows_per_task * n).zip(gb.par_chunks_mut(rows_per_task * n)).enumerate().for_each(fill);
        } else {
            ga.chunks_mut(rows_per_task * n).zip(gb.chunks_mut(rows_per_task * n)).enumerate().for_each(fill);
        }
        let (ga, gb): (&[f64], &[f64]) = (ga, gb);
        let (tr, tc) = (TILE_ROWS, TILE_COLS);
        // (first row, first column) of every tile: row blocks of tr rows, each covered from its
        // diagonal on by tiles of tc columns.
        let tiles: Vec<(usize, usize)> = (0..n).step_by(tr).flat_map(|i0| (i0..n).step_by(tc).map(move |j0| (i0, j0))).collect();
        let (c2, s2) = (self.c * self.c, self.s_inv * self.s_inv);
        let [ku, kv] = self.layer_factors();
        let (cu, cv) = (c2 * ku * s2, c2 * kv);
        let shared = SharedOut(out.as_mut_ptr());
        let x = &data.x;
        // X[i0..] X[j0..]ᵀ (inner d, column-major like the other two) of every tile, one after
        // the other (tile t's ri·cj entries from `starts[t]`): made once for these rows (the same
        // GEMM calls each time, so the same bits) and kept when small enough.
        let input_tile = |&(i0, j0): &(usize, usize), tx: &mut [f64]| {
            let (ri, cj) = (tr.min(n - i0), tc.min(n - j0));
            gemm(ri, d, cj, 1.0, &x[i0 * d..], (d as isize, 1), &x[j0 * d..], (1, d as isize), 0.0, tx, (1, ri as isize));
        };
        // Entries of a tile (its last row and column blocks are cut at n).
        let extent = |&(i0, j0): &(usize, usize)| tr.min(n - i0) * tc.min(n - j0);
        let starts: Vec<usize> = tiles.iter().scan(0, |next, tile| {
            let start = *next;
            *next += extent(tile);
            Some(start)
        }).collect();
        let kept_len = tiles.iter().map(extent).sum();
        let keep = kept_len <= INPUT_TILE_ENTRIES;
        let kept = keep.then(|| {
            crate::engine::model::kept_for_rows(&self.input_tiles, &x[..n * d], kept_len, || {
                let mut t = vec![0.0; kept_len];
                let mut parts: Vec<&mut [f64]> = Vec::with_capacity(tiles.len());
                let mut rest = &mut t[..];
                for tile in &tiles {
                    let (part, tail) = rest.split_at_mut(extent(tile));
                    parts.push(part);
                    rest = tail;
                }
                if parallel {
                    parts.into_par_iter().zip(tiles.par_iter()).for_each(|(tx, tile)| input_tile(tile, tx));
                } else {
                    parts.into_iter().zip(tiles.iter()).for_each(|(tx, tile)| input_tile(tile, tx));
                }
                t
            })
        });
        let input_tiles: Option<&[f64]> = kept.as_ref().and_then(|k| k.as_ref()).map(|(_, t)| &t[..]);
        let tile = |(index, &(i0, j0)): (usize, &(usize, usize))| {
            let shared = shared;
            let (ri, cj) = (tr.min(n - i0), tc.min(n - j0));
            TILE_SCRATCH.with_borrow_mut(|buf| {
                buf.resize(3 * tr * tc, 0.0);
                let (ta, rest) = buf.split_at_mut(tr * tc);
                let (tb, tx) = rest.split_at_mut(tr * tc);
                let ns = n as isize;
                // (Gᵀ diag|a|)(diag|a| G) and (G∘B)ᵀ(G∘B) blocks: A[:, i0..]ᵀ A[:, j0..], inner m.
                gemm(ri, m, cj, 1.0, &ga[i0..], (1, ns), &ga[j0..], (ns, 1), 0.0, ta, (1, ri as isize));
                gemm(ri, m, cj, 1.0, &gb[i0..], (1, ns), &gb[j0..], (ns, 1), 0.0, tb, (1, ri as isize));
                let tx: &[f64] = match input_tiles {
                    Some(t) => &t[starts[index]..starts[index] + ri * cj],
                    None => {
                        input_tile(&(i0, j0), tx);
                        tx
                    }
                };
                // Tiles are column-major (the gemm crate writes them 15 % faster so, with the same
                // bits): entry (i, j) is t[j·ri + i] = K[i0 + i, j0 + j], and column j of the tile
                // is row j0 + j of K from column i0 on (K is symmetric). Only the global upper
                // triangle (j0 + j ≥ i0 + i) is combined and written, with its mirror.
                let upper = |j: usize| (j0 + j + 1).saturating_sub(i0).min(ri);
                for j in 0..cj {
                    let (col, last) = (j * ri, upper(j));
                    let scale = root.map(|root| (root[j0 + j], &root[i0..i0 + last]));
                    combine_row(&mut ta[col..col + last], &tb[col..col + last], &tx[col..col + last], cu, cv, scale);
                }
                // SAFETY: this task writes out[(j0+j)·n + i0+i] where i0+i ≤ j0+j (the global
                // lower triangle, diagonal included) and the mirror out[(i0+i)·n + j0+j] where
                // i0+i < j0+j (strictly upper). The tiles partition the upper triangle's
                // (row, column) pairs, so no entry is written by two tasks; every index is
                // < n·n ≤ out.len().
                unsafe {
                    for j in 0..cj {
                        let last = upper(j);
                        std::slice::from_raw_parts_mut(shared.0.add((j0 + j) * n + i0), last).copy_from_slice(&ta[j * ri..j * ri + last]);
                    }
                    // The mirror, 8 columns at a time: each row of K gets one cache line of 8
                    // entries (column j gets rows i with i0 + i < j0 + j).
                    for jb in (0..cj).step_by(8) {
                        let width = 8.min(cj - jb);
                        let lasts: [usize; 8] = std::array::from_fn(|jj| if jj < width { (j0 + jb + jj).saturating_sub(i0).min(ri) } else { 0 });
                        let common = lasts[..width].iter().copied().min().unwrap_or(0);
                        for i in 0..common {
                            let dst = std::slice::from_raw_parts_mut(shared.0.add((i0 + i) * n + j0 + jb), width);
                            for (jj, d) in dst.iter_mut().enumerate() {
                                *d = ta[(jb + jj) * ri + i];
                            }
                        }
                        for (jj, &last) in lasts[..width].iter().enumerate() {
                            for i in common..last {
                                *shared.0.add((i0 + i) * n + j0 + jb + jj) = ta[(jb + jj) * ri + i];
                            }
                        }
                    }
                }
            });
        };
        if parallel {
            tiles.par_iter().enumerate().for_each(tile);
        } else {
            tiles.iter().enumerate().for_each(tile);
        }
    }
}

simd::multiversion! {
    /// One tile column of K from its three products: k ← (cu·x·k + cv·b)·(r_j·r_i) (without
    /// the factor when `scale` is None), one loop per case so it vectorizes; the same expression
    /// per entry at every level.
    fn combine_row(k: &mut [f64], b: &[f64], x: &[f64], cu: f64, cv: f64, scale: Option<(f64, &[f64])>) -> () {
        let entries = k.iter_mut().zip(b).zip(x);
        match scale {
            Some((r_j, r)) => entries.zip(r).for_each(|(((k, &b), &x), &r_i)| {
                let k_ij = cu * x * *k + cv * b;
                *k = k_ij * (r_j * r_i);
            }),
            None => entries.for_each(|((k, &b), &x)| *k = cu * x * *k + cv * b),
        }
    }
}
