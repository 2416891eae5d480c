//! A Gaussian MLP ([`sbi_nn::GaussianMlp`]) on the host: forward with a cache and
//! the hand-derived backward pass, on `f32` row-major buffers.
//!
//! Layout: every weight matrix is `[d_in, d_out]` row-major (Burn's `Linear`
//! layout, `y = x·W + b`), stored in one flat parameter vector (`super::vae::Params`)
//! at the offsets kept here.

use sbi_nn::Activation;

use super::exp::exp;
use super::gemm::{self, Start};

/// One linear layer: offsets of its weight `[d_in, d_out]` and bias `[d_out]`
/// in the flat parameter vector.
#[derive(Clone, Debug)]
pub(crate) struct Dense {
    pub d_in: usize,
    pub d_out: usize,
    pub w: usize,
    pub b: usize,
}

/// A Gaussian MLP: hidden layers (activation, optional residual), then a head
/// `[width, 2d]` read as mean and raw log-variance, soft-clamped into `(lo, hi)`.
#[derive(Clone, Debug)]
pub(crate) struct HostNet {
    pub layers: Vec<Dense>,
    pub residual: Vec<bool>,
    pub head: Dense,
    pub activation: Activation,
    /// Dimension of the output Gaussian.
    pub d: usize,
    pub lo: f32,
    pub hi: f32,
}

/// What the backward pass needs from a forward pass over `n` rows.
#[derive(Default, Debug)]
pub(crate) struct NetCache {
    pub n: usize,
    /// `hs[l]`: input of hidden layer `l` (`hs[0]` is the network input);
    /// `hs[L]` is the input of the head.
    pub hs: Vec<Vec<f32>>,
    /// Pre-activations of the hidden layers.
    pub pre: Vec<Vec<f32>>,
    /// Means `[n, d]`.
    pub mean: Vec<f32>,
    /// Derivatives of the soft clamp at the raw log-variances, `[n, d]`.
    pub dclamp: Vec<f32>,
    /// Soft-clamped log-variances `[n, d]`.
    pub log_var: Vec<f32>,
    /// Scratch: the head output `[n, 2d]`, then its gradient.
    out: Vec<f32>,
    /// Scratch: exponentials of the soft clamp, `[n, d]`.
    e: Vec<f32>,
    /// Scratch gradients of the hidden states and pre-activations.
    g_h: Vec<f32>,
    g_prev: Vec<f32>,
    g_pre: Vec<f32>,
}

/// `(softplus(x), σ(x))` from `e = e^−|x|`.
#[inline(always)]
pub(crate) fn softplus_sigmoid(x: f32, e: f32) -> (f32, f32) {
    let r = 1.0 / (1.0 + e);
    // ln(1 + e) = e − e²/2 + e³/3 − …: for e < 1e-3 the first two terms are
    // within 3.4e-7 relative of it (below f32's rounding of the sum), and much cheaper.
    let l = if e < 1e-3 { e * (1.0 - 0.5 * e) } else { e.ln_1p() };
    (x.max(0.0) + l, if x >= 0.0 { r } else { e * r })
}

/// `1 / (1 + e^-x)`.
#[inline(always)]
pub(crate) fn sigmoid(x: f32) -> f32 {
    1.0 / (1.0 + exp(-x))
}

/// Sizes a buffer to `len`; its old values are kept (every caller overwrites
/// all of them), so a reused buffer costs no zeroing.
#[inline(always)]
pub(super) fn resize(v: &mut Vec<f32>, len: usize) {
    if v.len() != len {
        v.resize(len, 0.0);
    }
}

impl Dense {
    /// `y[n, d_out] = x[n, d_in]·W + b`.
    #[inline(always)]
    fn forward(&self, params: &[f32], x: &[f32], n: usize, y: &mut Vec<f32>) {
        resize(y, n * self.d_out);
        let bias = &params[self.b..self.b + self.d_out];
        let w = &params[self.w..self.w + self.d_in * self.d_out];
        gemm::ab(x, w, y, [n, self.d_in, self.d_out], Start::Row(bias));
    }

    /// Accumulates `dW += xᵀ·g`, `db += Σ_rows g` into `grads` and, when
    /// `g_x` is given, writes `g_x = g·Wᵀ` (`[n, d_in]`); `params_t` holds the
    /// weights transposed ([`HostNet::transpose_weights`]).
    #[allow(clippy::too_many_arguments)]
    #[inline(always)]
    fn backward(
        &self,
        params_t: &[f32],
        x: &[f32],
        g: &[f32],
        n: usize,
        grads: &mut [f32],
        g_x: Option<&mut Vec<f32>>,
    ) {
        let (d_in, d_out) = (self.d_in, self.d_out);
        let gw = &mut grads[self.w..self.w + d_in * d_out];
        gemm::atb(x, g, gw, [d_in, n, d_out], true);
        let gb = &mut grads[self.b..self.b + d_out];
        for row in g.chunks_exact(d_out) {
            let row = &row[..d_out];
            for j in 0..d_out {
                gb[j] += row[j];
            }
        }
        if let Some(g_x) = g_x {
            resize(g_x, n * d_in);
            let wt = &params_t[self.w..self.w + d_in * d_out];
            gemm::ab(g, wt, g_x, [n, d_out, d_in], Start::Zero);
        }
    }
}

impl HostNet {
    /// Writes the transpose `[d_out, d_in]` of each weight matrix of this network
    /// into `params_t` at the matrix's offset (`params_t` is laid out as `params`;
    /// biases are not copied), for the backward passes.
    pub fn transpose_weights(&self, params: &[f32], params_t: &mut [f32]) {
        for layer in self.layers.iter().chain([&self.head]) {
            let (d_in, d_out) = (layer.d_in, layer.d_out);
            let w = &params[layer.w..layer.w + d_in * d_out];
            let wt = &mut params_t[layer.w..layer.w + d_in * d_out];
            for (i, row) in w.chunks_exact(d_out).enumerate() {
                for (j, v) in row.iter().enumerate() {
                    wt[j * d_in + i] = *v;
                }
            }
        }
    }

    /// Input width.
    #[inline(always)]
    pub fn d_input(&self) -> usize {
        self.layers.first().map_or(self.head.d_in, |l| l.d_in)
    }

    /// Forward pass over `n` rows whose input `[n, d_input]` the caller has
    /// written into `cache.hs[0]` (see [`HostNet::input`]). Fills the means,
    /// the clamped log-variances and everything the backward pass needs.
    #[inline(always)]
    pub fn forward(&self, params: &[f32], cache: &mut NetCache, n: usize) {
        let n_layers = self.layers.len();
        cache.n = n;
        cache.hs.resize_with(n_layers + 1, Vec::new);
        cache.pre.resize_with(n_layers, Vec::new);
        for (l, layer) in self.layers.iter().enumerate() {
            let (before, after) = cache.hs.split_at_mut(l + 1);
            let h_in = &before[l];
            let pre = &mut cache.pre[l];
            layer.forward(params, h_in, n, pre);
            let h_out = &mut after[0];
            resize(h_out, n * layer.d_out);
            let len = n * layer.d_out;
            let (h, p) = (&mut h_out[..len], &pre[..len]);
            match self.activation {
                Activation::Relu => (0..len).for_each(|k| h[k] = p[k].max(0.0)),
                Activation::Tanh => (0..len).for_each(|k| h[k] = p[k].tanh()),
                Activation::Silu => (0..len).for_each(|k| h[k] = p[k] * sigmoid(p[k])),
            }
            if self.residual[l] {
                let x = &h_in[..len];
                (0..len).for_each(|k| h[k] += x[k]);
            }
        }
        self.head.forward(params, &cache.hs[n_layers], n, &mut cache.out);
        let d = self.d;
        resize(&mut cache.mean, n * d);
        resize(&mut cache.dclamp, n * d);
        resize(&mut cache.log_var, n * d);
        let (lo, hi) = (self.lo, self.hi);
        for (i, row) in cache.out.chunks_exact(2 * d).enumerate() {
            cache.mean[i * d..(i + 1) * d].copy_from_slice(&row[..d]);
            cache.log_var[i * d..(i + 1) * d].copy_from_slice(&row[d..]);
        }
        // sbi_nn::soft_clamp of the raw log-variances r: y = lo + softplus(r − lo), then
        // hi − softplus(hi − y); its derivative is σ(r − lo) · σ(hi − y). The
        // exponentials are computed in passes of their own, which vectorise.
        let (log_var, dclamp, e) = (&mut cache.log_var, &mut cache.dclamp, &mut cache.e);
        resize(e, n * d);
        e.iter_mut().zip(log_var.iter()).for_each(|(e, r)| *e = exp(-(r - lo).abs()));
        for ((l, g), e) in log_var.iter_mut().zip(dclamp.iter_mut()).zip(e.iter()) {
            let (sp1, sg1) = softplus_sigmoid(*l - lo, *e);
            *l = lo + sp1;
            *g = sg1;
        }
        e.iter_mut().zip(log_var.iter()).for_each(|(e, y)| *e = exp(-(hi - y).abs()));
        for ((l, g), e) in log_var.iter_mut().zip(dclamp.iter_mut()).zip(e.iter()) {
            let (sp2, sg2) = softplus_sigmoid(hi - *l, *e);
            *l = hi - sp2;
            *g *= sg2;
        }
    }

    /// The input buffer of the next forward pass, sized `[n, d_input]`.
    #[inline(always)]
    pub fn input<'a>(&self, cache: &'a mut NetCache, n: usize) -> &'a mut Vec<f32> {
        if cache.hs.is_empty() {
            cache.hs.push(Vec::new());
        }
        let input = &mut cache.hs[0];
        resize(input, n * self.d_input());
        input
    }

    /// Backward pass of the last forward pass: accumulates the parameter
    /// gradients of the loss into `grads`, given `g_mean` and `g_log_var`
    /// (`[n, d]`, gradients with respect to the means and clamped
    /// log-variances). When `g_input` is given it receives the gradient with
    /// respect to the network input, `[n, d_input]`.
    #[inline(always)]
    #[allow(clippy::too_many_arguments)]
    pub fn backward(
        &self,
        params_t: &[f32],
        cache: &mut NetCache,
        g_mean: &[f32],
        g_log_var: &[f32],
        grads: &mut [f32],
        g_input: Option<&mut Vec<f32>>,
    ) {
        let (n, d) = (cache.n, self.d);
        let mut g_out = std::mem::take(&mut cache.out);
        resize(&mut g_out, n * 2 * d);
        for (i, row) in g_out.chunks_exact_mut(2 * d).enumerate() {
            row[..d].copy_from_slice(&g_mean[i * d..(i + 1) * d]);
            for j in 0..d {
                row[d + j] = g_log_var[i * d + j] * cache.dclamp[i * d + j];
            }
        }
        let n_layers = self.layers.len();
        let want_input = g_input.is_some();
        let mut g_h = std::mem::take(&mut cache.g_h);
        let mut g_prev = std::mem::take(&mut cache.g_prev);
        let mut g_pre = std::mem::take(&mut cache.g_pre);
        let head_gx = n_layers > 0 || want_input;
        self.head.backward(params_t, &cache.hs[n_layers], &g_out, n, grads, head_gx.then_some(&mut g_h));
        for l in (0..n_layers).rev() {
            let layer = &self.layers[l];
            let pre = &cache.pre[l];
            let len = n * layer.d_out;
            resize(&mut g_pre, len);
            let (gp, g, p) = (&mut g_pre[..len], &g_h[..len], &pre[..len]);
            match self.activation {
                Activation::Relu => {
                    for k in 0..len {
                        // Load g unconditionally so the select vectorises.
                        let gk = g[k];
                        gp[k] = if p[k] > 0.0 { gk } else { 0.0 };
                    }
                }
                Activation::Tanh => {
                    for k in 0..len {
                        let t = p[k].tanh();
                        gp[k] = g[k] * (1.0 - t * t);
                    }
                }
                Activation::Silu => {
                    for k in 0..len {
                        let s = sigmoid(p[k]);
                        gp[k] = g[k] * s * (1.0 + p[k] * (1.0 - s));
                    }
                }
            }
            if l > 0 || want_input {
                layer.backward(params_t, &cache.hs[l], &g_pre, n, grads, Some(&mut g_prev));
                if self.residual[l] {
                    g_prev.iter_mut().zip(g_h.iter()).for_each(|(a, b)| *a += b);
                }
                std::mem::swap(&mut g_h, &mut g_prev);
            } else {
                layer.backward(params_t, &cache.hs[l], &g_pre, n, grads, None);
            }
        }
        if let Some(g_input) = g_input {
            g_input.clear();
            g_input.extend_from_slice(&g_h);
        }
        cache.out = g_out;
        cache.g_h = g_h;
        cache.g_prev = g_prev;
        cache.g_pre = g_pre;
    }
}
