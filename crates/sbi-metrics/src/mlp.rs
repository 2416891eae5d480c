//! A fused CPU multilayer perceptron with scikit-learn `MLPClassifier` semantics for
//! binary problems (spec `sbibm-tasks.md` §2 step 3).
//!
//! What is reproduced from scikit-learn (`sklearn/neural_network/_multilayer_perceptron.py`,
//! version 1.9):
//! * ReLU hidden layers, one logistic output unit, binary log-loss with the probability
//!   clipped to `[eps, 1 − eps]` (`eps` = machine epsilon).
//! * Glorot-uniform initialisation: weights *and* biases of a layer drawn from
//!   `U(−b, b)` with `b = sqrt(6 / (fan_in + fan_out))`, layer by layer (weights first).
//! * Adam (`lr = 1e-3`, `β = (0.9, 0.999)`, `ε = 1e-8`) over all weights and biases with
//!   the bias-corrected step `lr·sqrt(1 − β₂ᵗ)/(1 − β₁ᵗ) · m / (sqrt(v) + ε)`.
//! * L2 penalty as `_backprop` applies it: each minibatch of size `B` adds
//!   `0.5·α·Σ‖W‖² / B` to its loss and `α·W / B` to each weight gradient (not to biases).
//! * Minibatches of `min(200, n)` rows in an order reshuffled every epoch, the last batch
//!   holding the remainder; the epoch loss is `Σ_batches loss_b · B_b / n`.
//! * Stopping: a counter grows when the epoch loss exceeds `best − tol` and is reset
//!   otherwise; training stops once it exceeds `n_iter_no_change` (i.e. after 11 epochs
//!   without an improvement of `tol`), or after `max_epochs` epochs.
//! * Prediction: class 1 when the output probability is strictly above 0.5.
//!
//! Not reproduced: numpy's random streams (we use ChaCha8), so initial weights and batch
//! orders differ from scikit-learn's draw by draw while following the same distributions.
//!
//! Implementation: a fused CPU kernel, generic over `f32`/`f64` ([`Real`]). Parameters,
//! gradients and Adam moments live in flat vectors; hidden layers are zero-padded to a
//! multiple of 16 units (padded units have zero weights, zero activations and zero
//! gradients, so they stay exactly zero and change nothing); the matrix products use the
//! register-tiled kernels of `crate::gemm`, run under `crate::simd::dispatch` so that
//! they vectorise for AVX-512 or AVX2 + FMA. One training step allocates nothing.

use ndarray::{Array1, Array2, ArrayView2};
use rand::Rng;
use rand::seq::SliceRandom;

pub use crate::gemm::Real;
use crate::gemm::{Epilogue, Lhs, dot, gemm};
use crate::simd::{Kernel, dispatch, ln_pos, sigmoid};

/// Classifier hyper-parameters; [`Default`] gives scikit-learn's `MLPClassifier` defaults
/// with sbibm's `max_iter = 10000` and hidden sizes `(10·d, 10·d)`.
#[derive(Debug, Clone, PartialEq)]
pub struct MlpConfig {
    /// Hidden layer sizes; `None` means sbibm's two layers of `10·d` units.
    pub hidden: Option<Vec<usize>>,
    /// L2 penalty `α` (scikit-learn `alpha`, default 1e-4).
    pub alpha: f64,
    /// Adam learning rate (`learning_rate_init`, default 1e-3).
    pub learning_rate: f64,
    /// Adam `β₁` (default 0.9).
    pub beta1: f64,
    /// Adam `β₂` (default 0.999).
    pub beta2: f64,
    /// Adam `ε` (default 1e-8).
    pub epsilon: f64,
    /// Minibatch size; `None` means scikit-learn's `"auto"`, `min(200, n)`.
    pub batch_size: Option<usize>,
    /// Required improvement of the training loss (`tol`, default 1e-4).
    pub tol: f64,
    /// Epochs without improvement tolerated (`n_iter_no_change`, default 10).
    pub n_iter_no_change: usize,
    /// Maximum number of epochs (`max_iter`, sbibm uses 10,000).
    pub max_epochs: usize,
}

impl Default for MlpConfig {
    fn default() -> Self {
        Self {
            hidden: None,
            alpha: 1e-4,
            learning_rate: 1e-3,
            beta1: 0.9,
            beta2: 0.999,
            epsilon: 1e-8,
            batch_size: None,
            tol: 1e-4,
            n_iter_no_change: 10,
            max_epochs: 10_000,
        }
    }
}

impl MlpConfig {
    /// Hidden layer sizes for input width `d`.
    pub fn hidden_sizes(&self, d: usize) -> Vec<usize> {
        self.hidden.clone().unwrap_or_else(|| vec![10 * d, 10 * d])
    }

    /// Returns a description of the first invalid setting, if any.
    pub fn validate(&self) -> Result<(), String> {
        if let Some(h) = &self.hidden
            && h.contains(&0)
        {
            return Err(format!("hidden layer sizes must be positive, got {h:?}"));
        }
        let positive = [("learning_rate", self.learning_rate), ("epsilon", self.epsilon)];
        for (name, v) in positive {
            if !(v.is_finite() && v > 0.0) {
                return Err(format!("{name} must be finite and > 0, got {v}"));
            }
        }
        let non_negative = [("alpha", self.alpha), ("tol", self.tol)];
        for (name, v) in non_negative {
            if !(v.is_finite() && v >= 0.0) {
                return Err(format!("{name} must be finite and >= 0, got {v}"));
            }
        }
        for (name, v) in [("beta1", self.beta1), ("beta2", self.beta2)] {
            if !(0.0..1.0).contains(&v) {
                return Err(format!("{name} must lie in [0, 1), got {v}"));
            }
        }
        if self.batch_size == Some(0) {
            return Err("batch_size must be positive".into());
        }
        if self.max_epochs == 0 {
            return Err("max_epochs must be positive".into());
        }
        Ok(())
    }
}

/// A network with ReLU hidden layers and one logistic output unit.
#[derive(Debug, Clone, PartialEq)]
pub struct Mlp<F> {
    /// True layer widths `[d, h₁, …, 1]`.
    sizes: Vec<usize>,
    /// Stored widths: hidden ones rounded up to a multiple of 16.
    padded: Vec<usize>,
    /// All weights (layer `l` row-major `[P_l, P_{l+1}]`), then all biases.
    params: Vec<F>,
    /// Offset of each layer's weights in `params`.
    w_off: Vec<usize>,
    /// Offset of each layer's biases in `params`.
    b_off: Vec<usize>,
    /// Number of weight entries (the L2 penalty applies to `params[..n_weights]`).
    n_weights: usize,
}

/// What happened during [`Mlp::fit`].
#[derive(Debug, Clone, PartialEq)]
pub struct FitReport {
    /// Epochs run (scikit-learn's `n_iter_`).
    pub epochs: usize,
    /// Training loss per epoch (scikit-learn's `loss_curve_`).
    pub loss_curve: Vec<f64>,
    /// Whether the `tol` criterion stopped training (false: `max_epochs` reached).
    pub converged: bool,
}

/// Stored width of a hidden layer of `s` units: a multiple of 16 (112 for sbibm's 10-D
/// classifier), whole 16-lane vectors for the AVX-512 `f32` kernels of [`crate::gemm`]
/// (with them the 10-D fit takes ~10 % less time than with 104 and the generic kernels).
fn pad_width(s: usize) -> usize {
    s.div_ceil(16) * 16
}

/// Per-sample binary log-loss with scikit-learn's clipping of `p` to `[eps, 1 − eps]`.
#[inline(always)]
fn log_loss<const FMA: bool>(y: f64, p: f64, eps: f64) -> f64 {
    let q = if y > 0.5 { p } else { 1.0 - p };
    -ln_pos::<FMA>(q.clamp(eps, 1.0 - eps))
}

/// Up to 8 output rows: probabilities `sigmoid(z)`, log-loss added to `lanes` (row `r`
/// of the chunk to lane `r`) and the output delta `p − y`.
///
/// A function rather than a closure: closures are not always inlined, and outside
/// [`dispatch`]'s target features `mul_add` becomes a library call.
#[inline(always)]
fn output_rows<F: Real, const FMA: bool>(z: &[F], y: &[F], delta: &mut [F], lanes: &mut [f64; 8], eps: f64) {
    for (((&z, &yr), delta), lane) in z.iter().zip(y).zip(delta).zip(lanes.iter_mut()) {
        let p = sigmoid::<FMA>(z.to_f64());
        let yr = yr.to_f64();
        *lane += log_loss::<FMA>(yr, p, eps);
        *delta = F::from_f64(p - yr);
    }
}

/// `Σ w²` in `f64`, weight `i` added to lane `i % 8` in order (vectorisable).
#[inline(always)]
fn sum_sq<F: Real>(w: &[F]) -> f64 {
    let mut lanes = [0.0f64; 8];
    let mut chunks = w.chunks_exact(8);
    for c in &mut chunks {
        for (s, &v) in lanes.iter_mut().zip(c) {
            let v = v.to_f64();
            *s += v * v;
        }
    }
    for (s, &v) in lanes.iter_mut().zip(chunks.remainder()) {
        let v = v.to_f64();
        *s += v * v;
    }
    lanes.iter().sum()
}

/// `sums[j] = Σ_i m[i, j]` for `m: [rows, sums.len()]` row-major, each column added in
/// row order; 16 columns at a time in registers.
#[inline(always)]
fn column_sums<F: Real>(m: &[F], sums: &mut [F]) {
    let nn = sums.len();
    let whole = nn / 16 * 16;
    for (c, out) in sums[..whole].chunks_exact_mut(16).enumerate() {
        let mut acc = [F::ZERO; 16];
        for row in m.chunks_exact(nn) {
            let r: &[F; 16] = row[c * 16..c * 16 + 16].try_into().expect("16 columns");
            for (a, &v) in acc.iter_mut().zip(r) {
                *a = *a + v;
            }
        }
        out.copy_from_slice(&acc);
    }
    let rest = &mut sums[whole..];
    rest.iter_mut().for_each(|g| *g = F::ZERO);
    for row in m.chunks_exact(nn) {
        for (g, &v) in rest.iter_mut().zip(&row[whole..]) {
            *g = *g + v;
        }
    }
}

/// Buffers of one forward/backward pass over up to `rows` rows.
struct Work<F> {
    /// `acts[0]`: input rows `[rows, d]`; `acts[l]`: output of layer `l − 1`,
    /// `[rows, P_l]`, after ReLU for hidden layers (the last is the logit, `[rows]`).
    acts: Vec<Vec<F>>,
    /// `deltas[l]`: loss gradient w.r.t. the pre-activation of layer `l`'s output,
    /// `[rows, P_{l+1}]`.
    deltas: Vec<Vec<F>>,
}

impl<F: Real> Work<F> {
    fn new(padded: &[usize], rows: usize) -> Self {
        let acts = padded.iter().map(|&p| vec![F::ZERO; rows * p]).collect();
        let deltas = padded[1..].iter().map(|&p| vec![F::ZERO; rows * p]).collect();
        Self { acts, deltas }
    }
}

impl<F: Real> Mlp<F> {
    /// Glorot-uniform initialisation for true layer widths `sizes = [d, h₁, …, 1]`: per
    /// layer, the `fan_in × fan_out` weights (row-major) then the biases, each from
    /// `U(−b, b)`, `b = sqrt(6 / (fan_in + fan_out))` (scikit-learn `_init_coef`).
    pub fn init(sizes: &[usize], rng: &mut impl Rng) -> Self {
        assert!(sizes.len() >= 2 && sizes[sizes.len() - 1] == 1, "layer widths [d, …, 1]");
        let last = sizes.len() - 1;
        let padded: Vec<usize> = sizes
            .iter()
            .enumerate()
            .map(|(i, &s)| if i == 0 || i == last { s } else { pad_width(s) })
            .collect();
        let mut w_off = Vec::new();
        let mut total = 0;
        for l in 0..last {
            w_off.push(total);
            total += padded[l] * padded[l + 1];
        }
        let n_weights = total;
        let mut b_off = Vec::new();
        for l in 0..last {
            b_off.push(total);
            total += padded[l + 1];
        }
        let mut params = vec![F::ZERO; total];
        for l in 0..last {
            let (fan_in, fan_out) = (sizes[l], sizes[l + 1]);
            let bound = (6.0 / (fan_in + fan_out) as f64).sqrt();
            for i in 0..fan_in {
                for j in 0..fan_out {
                    params[w_off[l] + i * padded[l + 1] + j] = F::from_f64(rng.random_range(-bound..bound));
                }
            }
            for j in 0..fan_out {
                params[b_off[l] + j] = F::from_f64(rng.random_range(-bound..bound));
            }
        }
        Self { sizes: sizes.to_vec(), padded, params, w_off, b_off, n_weights }
    }

    /// Number of layers (weight matrices).
    pub fn n_layers(&self) -> usize {
        self.sizes.len() - 1
    }

    /// Weights of layer `l`, `[fan_in, fan_out]` (scikit-learn's `coefs_[l]`).
    pub fn weights(&self, l: usize) -> Array2<F> {
        let w = &self.params[self.w_off[l]..];
        Array2::from_shape_fn((self.sizes[l], self.sizes[l + 1]), |(i, j)| w[i * self.padded[l + 1] + j])
    }

    /// Biases of layer `l`, `[fan_out]` (scikit-learn's `intercepts_[l]`).
    pub fn biases(&self, l: usize) -> Array1<F> {
        Array1::from_iter(self.params[self.b_off[l]..][..self.sizes[l + 1]].iter().copied())
    }

    /// Sets weight `(i, j)` of layer `l` (for tests and experiments).
    pub fn set_weight(&mut self, l: usize, i: usize, j: usize, value: F) {
        assert!(i < self.sizes[l] && j < self.sizes[l + 1], "weight index out of range");
        self.params[self.w_off[l] + i * self.padded[l + 1] + j] = value;
    }

    /// Trains a fresh network on `x: [n, d]` with labels `y: [n]` (0 or 1), n ≥ 1.
    ///
    /// `rng` draws the initial weights and then each epoch's batch order, in that order.
    /// The caller validates `config` (see [`MlpConfig::validate`]).
    pub fn fit(x: ArrayView2<F>, y: &[F], config: &MlpConfig, rng: &mut impl Rng) -> (Self, FitReport) {
        let (n, d) = x.dim();
        assert_eq!(y.len(), n, "one label per row");
        assert!(n > 0, "at least one training row");
        let mut sizes = vec![d];
        sizes.extend(config.hidden_sizes(d));
        sizes.push(1);
        let mut net = Self::init(&sizes, rng);
        let report = net.train(x, y, config, rng);
        (net, report)
    }

    /// Continues training from the current weights (scikit-learn's `_fit_stochastic`).
    pub fn train(&mut self, x: ArrayView2<F>, y: &[F], config: &MlpConfig, rng: &mut impl Rng) -> FitReport {
        let x = x.as_standard_layout();
        let x = x.as_slice().expect("standard layout");
        dispatch(Train { net: self, x, y, config, rng })
    }

    /// Forward pass over the first `b` rows of `work.acts[0]`; leaves the logits in
    /// `work.acts[last]`.
    #[inline(always)]
    fn forward<const FMA: bool>(&self, work: &mut Work<F>, b: usize) {
        let last = self.n_layers();
        for l in 0..last {
            let (k, n) = (self.padded[l], self.padded[l + 1]);
            let w = &self.params[self.w_off[l]..self.w_off[l] + k * n];
            let bias = &self.params[self.b_off[l]..self.b_off[l] + n];
            let (lo, hi) = work.acts.split_at_mut(l + 1);
            let input = &lo[l][..b * k];
            let out = &mut hi[0][..b * n];
            if l + 1 < last {
                // The padded input columns are zero: reduce over the true width only.
                let kt = self.sizes[l];
                let epi = Epilogue::BiasRelu(bias);
                gemm::<F, FMA>(b, n, kt, Lhs { data: input, rs: k, cs: 1 }, w, n, out, n, epi);
            } else {
                for (i, o) in out.iter_mut().enumerate() {
                    *o = dot::<F, FMA>(&input[i * k..(i + 1) * k], w) + bias[0];
                }
            }
        }
    }

    /// Copies the weights of layers `1..last` into `wt[l]` transposed, `[P_{l+1}, P_l]`.
    #[inline(always)]
    fn transpose_hidden(&self, wt: &mut [Vec<F>]) {
        for (l, t) in wt.iter_mut().enumerate().skip(1) {
            let (k, nn) = (self.padded[l], self.padded[l + 1]);
            let (kt, nt) = (self.sizes[l], self.sizes[l + 1]);
            let w = &self.params[self.w_off[l]..self.w_off[l] + k * nn];
            // Only the true block: padded entries are zero in both and never change.
            for (j, trow) in t.chunks_exact_mut(k).take(nt).enumerate() {
                for (i, tv) in trow[..kt].iter_mut().enumerate() {
                    *tv = w[i * nn + j];
                }
            }
        }
    }

    #[inline(always)]
    fn train_impl<const FMA: bool>(
        &mut self,
        x: &[F],
        y: &[F],
        config: &MlpConfig,
        rng: &mut impl Rng,
    ) -> FitReport {
        let n = y.len();
        let d = self.sizes[0];
        let last = self.n_layers();
        let bs = config.batch_size.unwrap_or(200).clamp(1, n);
        let mut work = Work::new(&self.padded, bs);
        let mut grads = vec![F::ZERO; self.params.len()];
        let mut m = vec![F::ZERO; self.params.len()];
        let mut v = vec![F::ZERO; self.params.len()];
        // Transposed copies of the hidden-to-hidden weights, `[P_{l+1}, P_l]`, for backprop.
        let mut wt: Vec<Vec<F>> =
            (0..last).map(|l| vec![F::ZERO; self.padded[l] * self.padded[l + 1]]).collect();
        self.transpose_hidden(&mut wt);
        let eps_p = F::EPS;
        let (b1, b2) = (config.beta1, config.beta2);
        let (fb1, fb2) = (F::from_f64(b1), F::from_f64(b2));
        let (f1b1, f1b2) = (F::from_f64(1.0 - b1), F::from_f64(1.0 - b2));
        let adam_eps = F::from_f64(config.epsilon);
        let mut idx: Vec<usize> = (0..n).collect();
        let mut yb = vec![F::ZERO; bs];
        let mut t: i32 = 0;
        let mut best = f64::INFINITY;
        let mut no_improvement = 0usize;
        let mut loss_curve = Vec::new();
        let mut converged = false;

        for _epoch in 0..config.max_epochs {
            idx.shuffle(rng);
            let mut acc_loss = 0.0f64;
            for batch in idx.chunks(bs) {
                let b = batch.len();
                let inv_b = 1.0 / b as f64;
                for (r, &i) in batch.iter().enumerate() {
                    work.acts[0][r * d..(r + 1) * d].copy_from_slice(&x[i * d..(i + 1) * d]);
                    yb[r] = y[i];
                }
                self.forward::<FMA>(&mut work, b);

                // Output: probabilities, log-loss and the output delta p − y.
                // Row r adds to lane r % 8 (whole chunks of 8 rows, then the remainder),
                // so that the loop vectorises.
                let mut lanes = [0.0f64; 8];
                let whole = b / 8 * 8;
                let (z_all, y_all) = (&work.acts[last][..b], &yb[..b]);
                let d_all = &mut work.deltas[last - 1][..b];
                for ((z, yr), delta) in z_all[..whole]
                    .chunks_exact(8)
                    .zip(y_all[..whole].chunks_exact(8))
                    .zip(d_all.chunks_exact_mut(8))
                {
                    output_rows::<F, FMA>(z, yr, delta, &mut lanes, eps_p);
                }
                output_rows::<F, FMA>(
                    &z_all[whole..],
                    &y_all[whole..],
                    &mut d_all[whole..],
                    &mut lanes,
                    eps_p,
                );
                let data_loss: f64 = lanes.iter().sum();
                let sq = sum_sq(&self.params[..self.n_weights]);
                acc_loss += (data_loss * inv_b + 0.5 * config.alpha * sq * inv_b) * b as f64;

                // Backward (all gradients from the pre-update weights, as scikit-learn).
                for l in (0..last).rev() {
                    let (k, nn) = (self.padded[l], self.padded[l + 1]);
                    let input = &work.acts[l][..b * k];
                    let delta = &work.deltas[l][..b * nn];
                    let gw = &mut grads[self.w_off[l]..self.w_off[l] + k * nn];
                    if nn == 1 {
                        gw.iter_mut().for_each(|g| *g = F::ZERO);
                        for (row, &dl) in input.chunks_exact(k).zip(delta) {
                            for (g, &a) in gw.iter_mut().zip(row) {
                                *g = F::fma::<FMA>(a, dl, *g);
                            }
                        }
                    } else {
                        // Rows of padded inputs keep their zero gradient (never written).
                        let kt = self.sizes[l];
                        let lhs = Lhs { data: input, rs: 1, cs: k };
                        gemm::<F, FMA>(kt, nn, b, lhs, delta, nn, gw, nn, Epilogue::None);
                    }
                    column_sums(delta, &mut grads[self.b_off[l]..self.b_off[l] + nn]);
                    if l == 0 {
                        break;
                    }
                    // Delta of layer l − 1: δ_l · W_lᵀ, zero where the ReLU was inactive.
                    let (dlo, dhi) = work.deltas.split_at_mut(l);
                    let prev = &mut dlo[l - 1][..b * k];
                    let delta = &dhi[0][..b * nn];
                    let act = &work.acts[l][..b * k];
                    if nn == 1 {
                        let w = &self.params[self.w_off[l]..self.w_off[l] + k];
                        for ((row, arow), &dl) in prev.chunks_exact_mut(k).zip(act.chunks_exact(k)).zip(delta)
                        {
                            for ((p, &a), &wj) in row.iter_mut().zip(arow).zip(w) {
                                *p = if a > F::ZERO { dl * wj } else { F::ZERO };
                            }
                        }
                    } else {
                        // Deltas of padded units are zero: reduce over the true width only.
                        let nt = self.sizes[l + 1];
                        let lhs = Lhs { data: delta, rs: nn, cs: 1 };
                        gemm::<F, FMA>(b, k, nt, lhs, &wt[l], k, prev, k, Epilogue::ReluMask(act));
                    }
                }

                // Adam on all parameters; the L2 term α·W/B on weights only.
                t += 1;
                let lr = config.learning_rate * (1.0 - b2.powi(t)).sqrt() / (1.0 - b1.powi(t));
                let flr = F::from_f64(lr);
                let scale = F::from_f64(inv_b);
                let l2 = F::from_f64(config.alpha * inv_b);
                let nw = self.n_weights;
                let step = |p: &mut F, g: F, m: &mut F, v: &mut F| {
                    *m = fb1 * *m + f1b1 * g;
                    *v = fb2 * *v + f1b2 * g * g;
                    *p = *p - flr * *m / (v.sqrt() + adam_eps);
                };
                let (pw, pb) = self.params.split_at_mut(nw);
                let (mw, mb) = m.split_at_mut(nw);
                let (vw, vb) = v.split_at_mut(nw);
                for (((p, &g), m), v) in pw.iter_mut().zip(&grads[..nw]).zip(mw).zip(vw) {
                    let g = g * scale + l2 * *p;
                    step(p, g, m, v);
                }
                for (((p, &g), m), v) in pb.iter_mut().zip(&grads[nw..]).zip(mb).zip(vb) {
                    step(p, g * scale, m, v);
                }
                self.transpose_hidden(&mut wt);
            }
            let loss = acc_loss / n as f64;
            loss_curve.push(loss);
            if loss > best - config.tol {
                no_improvement += 1;
            } else {
                no_improvement = 0;
            }
            if loss < best {
                best = loss;
            }
            if no_improvement > config.n_iter_no_change {
                converged = true;
                break;
            }
        }
        FitReport { epochs: loss_curve.len(), loss_curve, converged }
    }

    /// Output probabilities of class 1 for `x: [m, d]`, `[m]`.
    pub fn predict_proba(&self, x: ArrayView2<F>) -> Vec<f64> {
        let x = x.as_standard_layout();
        let x = x.as_slice().expect("standard layout");
        dispatch(Predict { net: self, x })
    }

    #[inline(always)]
    fn predict_impl<const FMA: bool>(&self, x: &[F]) -> Vec<f64> {
        const CHUNK: usize = 256;
        let d = self.sizes[0];
        let rows = x.len() / d.max(1);
        let mut work = Work::new(&self.padded, CHUNK.min(rows.max(1)));
        let mut out = Vec::with_capacity(rows);
        for chunk in x.chunks(CHUNK * d) {
            let b = chunk.len() / d;
            work.acts[0][..chunk.len()].copy_from_slice(chunk);
            self.forward::<FMA>(&mut work, b);
            // A plain loop: the closure of `map` would not be inlined (see `output_rows`).
            for &z in &work.acts[self.n_layers()][..b] {
                out.push(sigmoid::<FMA>(z.to_f64()));
            }
        }
        out
    }
}

/// [`Mlp::train`] as a [`Kernel`].
struct Train<'a, F, R> {
    net: &'a mut Mlp<F>,
    x: &'a [F],
    y: &'a [F],
    config: &'a MlpConfig,
    rng: &'a mut R,
}

impl<F: Real, R: Rng> Kernel for Train<'_, F, R> {
    type Output = FitReport;
    #[inline(always)]
    fn run<const FMA: bool>(self) -> FitReport {
        self.net.train_impl::<FMA>(self.x, self.y, self.config, self.rng)
    }
}

/// [`Mlp::predict_proba`] as a [`Kernel`].
struct Predict<'a, F> {
    net: &'a Mlp<F>,
    x: &'a [F],
}

impl<F: Real> Kernel for Predict<'_, F> {
    type Output = Vec<f64>;
    #[inline(always)]
    fn run<const FMA: bool>(self) -> Vec<f64> {
        self.net.predict_impl::<FMA>(self.x)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::SeedableRng;
    use rand_chacha::ChaCha8Rng;

    /// scikit-learn's full-batch loss: mean log-loss + 0.5·α·Σ‖W‖²/n.
    fn total_loss(net: &Mlp<f64>, x: ArrayView2<f64>, y: &[f64], alpha: f64) -> f64 {
        let p = net.predict_proba(x);
        let n = y.len() as f64;
        let data: f64 =
            p.iter().zip(y).map(|(&p, &y)| log_loss::<false>(y, p, f64::EPSILON)).sum::<f64>() / n;
        let sq: f64 = (0..net.n_layers()).map(|l| net.weights(l).iter().map(|w| w * w).sum::<f64>()).sum();
        data + 0.5 * alpha * sq / n
    }

    /// A direct forward pass through the unpadded weights.
    fn direct_proba(net: &Mlp<f64>, x: ArrayView2<f64>) -> Vec<f64> {
        x.rows()
            .into_iter()
            .map(|row| {
                let mut a = row.to_owned();
                for l in 0..net.n_layers() {
                    let mut z = a.dot(&net.weights(l)) + net.biases(l);
                    if l + 1 < net.n_layers() {
                        z.mapv_inplace(|v| v.max(0.0));
                    }
                    a = z;
                }
                1.0 / (1.0 + (-a[0]).exp())
            })
            .collect()
    }

    #[test]
    fn padded_forward_pass_matches_a_direct_one() {
        let mut rng = ChaCha8Rng::seed_from_u64(2);
        let net = Mlp::<f64>::init(&[3, 13, 5, 1], &mut rng);
        let x = Array2::from_shape_fn((300, 3), |_| rng.random_range(-2.0..2.0));
        let (a, b) = (net.predict_proba(x.view()), direct_proba(&net, x.view()));
        for (p, q) in a.iter().zip(&b) {
            assert!((p - q).abs() < 1e-14, "{p} vs {q}");
        }
        // Glorot bounds: |w| ≤ sqrt(6 / (fan_in + fan_out)), biases likewise.
        let bound = (6.0f64 / 16.0).sqrt();
        assert!(net.weights(0).iter().chain(net.biases(0).iter()).all(|w| w.abs() <= bound));
        assert!(net.weights(0).iter().any(|w| w.abs() > 0.8 * bound));
    }

    #[test]
    fn one_adam_step_follows_the_gradient_of_the_sklearn_loss() {
        // With a single full batch, the first Adam step moves each parameter by exactly
        // −lr·g/(|g| + ε/sqrt(1 − β₂)) (the bias corrections cancel): compare with g from
        // central finite differences of the scikit-learn loss, for weights of every layer.
        let mut rng = ChaCha8Rng::seed_from_u64(3);
        let n = 12;
        let x = Array2::from_shape_fn((n, 3), |(i, j)| ((i * 7 + j * 3) % 5) as f64 * 0.4 - 0.8);
        let y: Vec<f64> = (0..n).map(|i| (i % 2) as f64).collect();
        let config = MlpConfig { hidden: Some(vec![4, 5]), alpha: 0.3, max_epochs: 1, ..Default::default() };
        let init = Mlp::<f64>::init(&[3, 4, 5, 1], &mut rng);
        let mut trained = init.clone();
        let report = trained.train(x.view(), &y, &config, &mut ChaCha8Rng::seed_from_u64(9));
        assert_eq!(report.epochs, 1);
        let loss0 = total_loss(&init, x.view(), &y, config.alpha);
        assert!((report.loss_curve[0] - loss0).abs() < 1e-12, "{} vs {}", report.loss_curve[0], loss0);
        let h = 1e-6;
        let mut checked = 0;
        for l in 0..init.n_layers() {
            let (w0, w1) = (init.weights(l), trained.weights(l));
            for ((i, j), &w) in w0.indexed_iter() {
                let mut plus = init.clone();
                let mut minus = init.clone();
                plus.set_weight(l, i, j, w + h);
                minus.set_weight(l, i, j, w - h);
                let g = (total_loss(&plus, x.view(), &y, config.alpha)
                    - total_loss(&minus, x.view(), &y, config.alpha))
                    / (2.0 * h);
                if g.abs() > 1e-4 {
                    let expected =
                        -config.learning_rate * g / (g.abs() + config.epsilon / (1.0 - config.beta2).sqrt());
                    let step = w1[[i, j]] - w;
                    assert!(
                        (step - expected).abs() < 1e-6 * config.learning_rate,
                        "layer {l} ({i},{j}): {step} vs {expected}"
                    );
                    checked += 1;
                }
            }
        }
        assert!(checked > 20, "only {checked} weights had a usable gradient");
    }

    #[test]
    fn learns_a_separable_problem_and_stops_on_tol() {
        let mut rng = ChaCha8Rng::seed_from_u64(5);
        let n = 400;
        let x = Array2::from_shape_fn((n, 2), |(i, _)| {
            let c = if i < n / 2 { -2.0 } else { 2.0 };
            c + rng.random_range(-1.0..1.0)
        });
        let y: Vec<f32> = (0..n).map(|i| f32::from(u8::from(i >= n / 2))).collect();
        let xf = x.mapv(|v| v as f32);
        let (net, report) = Mlp::<f32>::fit(xf.view(), &y, &MlpConfig::default(), &mut rng);
        assert!(report.converged);
        let p = net.predict_proba(xf.view());
        let correct = p.iter().zip(&y).filter(|&(p, y)| (*p > 0.5) == (*y > 0.5)).count();
        assert_eq!(correct, n);
        // Replaying scikit-learn's counter over the loss curve, it first exceeds
        // n_iter_no_change = 10 at the last epoch.
        let (mut best, mut count) = (f64::INFINITY, 0usize);
        for (e, &l) in report.loss_curve.iter().enumerate() {
            count = if l > best - 1e-4 { count + 1 } else { 0 };
            best = best.min(l);
            assert_eq!(count > 10, e + 1 == report.epochs, "epoch {e}");
        }
    }
}
