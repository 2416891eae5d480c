//! CP-VAE and UP-VAE losses with their hand-derived gradients on the host
//! (spec `methods.md` §1), and the conversion from and to the Burn modules.

use std::ops::Range;

use sbi_nn::burn::module::Param;
use sbi_nn::burn::nn::Linear;
use sbi_nn::burn::tensor::{Device, TensorData};
use sbi_nn::{CpVae, GaussianMlp, LN_2PI, UpVae};

use super::exp::exp_into;
use super::net::{Dense, HostNet, NetCache, resize};
use crate::TrainError;

/// All parameters of a model in one vector, with the range of each Burn
/// parameter tensor (gradient clipping and the optimiser work per tensor, as Burn's do).
#[derive(Clone, Debug, Default)]
pub(crate) struct Params {
    pub values: Vec<f32>,
    pub tensors: Vec<Range<usize>>,
}

impl Params {
    fn push(&mut self, values: Vec<f32>) -> usize {
        let start = self.values.len();
        self.values.extend(values);
        self.tensors.push(start..self.values.len());
        start
    }
}

fn read(t: sbi_nn::burn::tensor::Tensor<1>) -> Vec<f32> {
    t.into_data().try_into_vec_as::<f32>().expect("f32 data")
}

fn dense_from(linear: &Linear, params: &mut Params) -> Result<Dense, TrainError> {
    let [d_in, d_out] = linear.weight.val().dims();
    let w = params.push(read(linear.weight.val().reshape([d_in * d_out])));
    let bias = linear.bias.as_ref().ok_or_else(|| {
        TrainError::InvalidConfig("the fused engine needs linear layers with a bias".into())
    })?;
    let b = params.push(read(bias.val()));
    Ok(Dense { d_in, d_out, w, b })
}

fn net_from(net: &GaussianMlp, params: &mut Params) -> Result<HostNet, TrainError> {
    let mut layers = Vec::new();
    let mut residual = Vec::new();
    for layer in &net.trunk.layers {
        if layer.norm.is_some() {
            return Err(TrainError::InvalidConfig(
                "the fused engine does not implement layer normalisation: use engine = \"burn\"".into(),
            ));
        }
        layers.push(dense_from(&layer.linear, params)?);
        residual.push(layer.residual);
    }
    let head = dense_from(&net.head.linear, params)?;
    Ok(HostNet {
        layers,
        residual,
        head,
        activation: net.trunk.activation,
        d: net.head.d_output,
        lo: net.head.min_log_var as f32,
        hi: net.head.max_log_var as f32,
    })
}

/// A linear layer holding `dense`'s weights from `values`.
fn linear_from(dense: &Dense, values: &[f32], device: &Device) -> Linear {
    let w = values[dense.w..dense.w + dense.d_in * dense.d_out].to_vec();
    let b = values[dense.b..dense.b + dense.d_out].to_vec();
    Linear {
        weight: Param::from_data(TensorData::new(w, [dense.d_in, dense.d_out]), device),
        bias: Some(Param::from_data(TensorData::new(b, [dense.d_out]), device)),
    }
}

fn net_with(mut net: GaussianMlp, host: &HostNet, values: &[f32], device: &Device) -> GaussianMlp {
    let layers = std::mem::take(&mut net.trunk.layers);
    net.trunk.layers = layers
        .into_iter()
        .zip(&host.layers)
        .map(|(mut layer, dense)| {
            layer.linear = linear_from(dense, values, device);
            layer
        })
        .collect();
    net.head.linear = linear_from(&host.head, values, device);
    net
}

/// Which VAE, with its loss weights.
#[derive(Clone, Copy, Debug, PartialEq)]
pub(crate) enum Kind {
    /// CP-VAE: networks encoder, conditional prior, decoder.
    Cp,
    /// UP-VAE: networks encoder, θ decoder, x decoder; `x_weight` λ.
    Up { x_weight: f32 },
}

/// A VAE on the host: its networks (in the Burn module's field order) and parameters.
#[derive(Clone, Debug)]
pub(crate) struct HostVae {
    pub kind: Kind,
    pub nets: Vec<HostNet>,
    pub params: Params,
    pub d_theta: usize,
    pub d_x: usize,
    pub dz: usize,
    /// The model's KL weight β.
    pub beta: f64,
}

/// Per-thread buffers of one shard of a batch.
#[derive(Default, Debug)]
pub(crate) struct Shard {
    caches: [NetCache; 3],
    /// Parameter gradients (same layout as [`Params::values`]).
    pub grads: Vec<f32>,
    /// The weights transposed, laid out as the parameters ([`HostVae::transpose_weights`]).
    pub params_t: Vec<f32>,
    g_mean: Vec<f32>,
    g_lv: Vec<f32>,
    g_mean2: Vec<f32>,
    g_lv2: Vec<f32>,
    g_in: Vec<f32>,
    g_in2: Vec<f32>,
    z: Vec<f32>,
    /// The encoder's standard deviations e^(log σ²/2), `[n, d_z]`.
    sig: Vec<f32>,
    /// Scratch exponentials, `[n, d]`.
    e1: Vec<f32>,
    e2: Vec<f32>,
}

/// The inputs of one loss evaluation ([`HostVae::loss`]): the weights `params`
/// (laid out as [`HostVae::params`]), `n` z-scored rows `theta: [n, d_θ]`,
/// `x: [n, d_x]` with their noise `eps: [n, d_z]`, the KL weight (β times the
/// schedule's factor) and, when gradients are wanted, the factor `grad_scale`
/// they are scaled by.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Batch<'a> {
    pub params: &'a [f32],
    pub theta: &'a [f32],
    pub x: &'a [f32],
    pub eps: &'a [f32],
    pub kl_weight: f32,
    pub grad_scale: Option<f32>,
}

impl<'a> Batch<'a> {
    /// The rows `r` of this batch of `vae`'s inputs (the same weights, KL weight and scale).
    pub fn rows(self, vae: &HostVae, r: Range<usize>) -> Batch<'a> {
        let part = |v: &'a [f32], d: usize| &v[r.start * d..r.end * d];
        Batch {
            theta: part(self.theta, vae.d_theta),
            x: part(self.x, vae.d_x),
            eps: part(self.eps, vae.dz),
            ..self
        }
    }
}

/// Writes the rows `[a_i, b_i]` into `out` (`a: [n, da]`, `b: [n, db]`).
#[inline(always)]
fn concat_rows(a: &[f32], da: usize, b: &[f32], db: usize, out: &mut [f32]) {
    for ((o, ra), rb) in out.chunks_exact_mut(da + db).zip(a.chunks_exact(da)).zip(b.chunks_exact(db)) {
        o[..da].copy_from_slice(ra);
        o[da..].copy_from_slice(rb);
    }
}

/// Gaussian negative log-likelihood of `target` (spec §1; `sbi_nn::DiagGaussian::nll`)
/// summed per row into `loss` (weighted by `w`), and its gradients (times `scale·w`)
/// with respect to the mean and log-variance; `inv` is scratch for e^(−log σ²).
#[allow(clippy::too_many_arguments)]
#[inline(always)]
fn gaussian_nll(
    target: &[f32],
    mean: &[f32],
    log_var: &[f32],
    inv: &mut Vec<f32>,
    d: usize,
    w: f32,
    scale: f32,
    loss: &mut [f64],
    grads: Option<(&mut Vec<f32>, &mut Vec<f32>)>,
) {
    let c = 0.5 * LN_2PI * d as f64;
    let n = loss.len();
    let mut g = grads.map(|(gm, gl)| {
        resize(gm, n * d);
        resize(gl, n * d);
        (gm, gl)
    });
    exp_into(inv, &log_var[..n * d], -1.0);
    for (i, l) in loss.iter_mut().enumerate() {
        let mut row = 0f64;
        for j in 0..d {
            let k = i * d + j;
            let inv = inv[k];
            let diff = target[k] - mean[k];
            let q = diff * diff * inv;
            row += f64::from(q + log_var[k]);
            if let Some((gm, gl)) = g.as_mut() {
                gm[k] = -scale * w * diff * inv;
                gl[k] = 0.5 * scale * w * (1.0 - q);
            }
        }
        *l += f64::from(w) * (0.5 * row + c);
    }
}

impl HostVae {
    /// Reads the weights of the three networks `nets` (in the Burn module's field order).
    fn read(
        kind: Kind,
        nets: [&GaussianMlp; 3],
        dims: (usize, usize, usize),
        beta: f64,
    ) -> Result<Self, TrainError> {
        let mut params = Params::default();
        let nets = nets.into_iter().map(|n| net_from(n, &mut params)).collect::<Result<_, _>>()?;
        let (d_theta, d_x, dz) = dims;
        Ok(HostVae { kind, nets, params, d_theta, d_x, dz, beta })
    }

    /// `nets` (as given to [`HostVae::read`]) with the weights `values` (laid out as [`HostVae::params`]).
    fn write(&self, nets: [GaussianMlp; 3], values: &[f32], device: &Device) -> [GaussianMlp; 3] {
        let mut hosts = self.nets.iter();
        nets.map(|net| net_with(net, hosts.next().expect("three networks"), values, device))
    }

    /// Fills `shard.params_t` with the transposed weights of `params`, which
    /// [`HostVae::loss`] needs for its gradients.
    pub fn transpose_weights(&self, params: &[f32], shard: &mut Shard) {
        resize(&mut shard.params_t, params.len());
        for net in &self.nets {
            net.transpose_weights(params, &mut shard.params_t);
        }
    }

    /// Reads a CP-VAE's weights.
    pub fn from_cp(m: &CpVae) -> Result<Self, TrainError> {
        let nets = [&m.encoder, &m.prior, &m.decoder];
        Self::read(Kind::Cp, nets, (m.d_theta, m.d_x, m.latent_dim), m.beta)
    }

    /// Reads a UP-VAE's weights.
    pub fn from_up(m: &UpVae) -> Result<Self, TrainError> {
        let nets = [&m.encoder, &m.theta_decoder, &m.x_decoder];
        Self::read(Kind::Up { x_weight: m.x_weight as f32 }, nets, (m.d_theta, m.d_x, m.latent_dim), m.beta)
    }

    /// `model` with the weights `values` (laid out as [`HostVae::params`]).
    pub fn write_cp(&self, m: CpVae, values: &[f32], device: &Device) -> CpVae {
        let [encoder, prior, decoder] = self.write([m.encoder, m.prior, m.decoder], values, device);
        CpVae { encoder, prior, decoder, ..m }
    }

    /// `model` with the weights `values` (laid out as [`HostVae::params`]).
    pub fn write_up(&self, m: UpVae, values: &[f32], device: &Device) -> UpVae {
        let [encoder, theta_decoder, x_decoder] =
            self.write([m.encoder, m.theta_decoder, m.x_decoder], values, device);
        UpVae { encoder, theta_decoder, x_decoder, ..m }
    }

    /// Per-pair losses of the `n` rows of `batch` added into `loss: [n]`:
    /// CP-VAE `nll_θ + w·KL(q ‖ p_ψ)`, UP-VAE `nll_θ + λ·nll_x + w·KL(q ‖ N(0, I))`
    /// (the losses of `sbi_nn::CpVae::loss_terms` / `UpVae::loss_terms`).
    /// With `batch.grad_scale = Some(s)`, also accumulates `s ×` the gradient of their
    /// sum into `shard.grads` (which must be zeroed and sized by the caller, and
    /// `shard.params_t` filled by [`HostVae::transpose_weights`]).
    #[inline(always)]
    pub fn loss(&self, batch: Batch, shard: &mut Shard, loss: &mut [f64]) {
        let Batch { params, theta, x, eps, kl_weight, grad_scale } = batch;
        let n = loss.len();
        let (dt, dx, dz) = (self.d_theta, self.d_x, self.dz);
        let s = grad_scale.unwrap_or(0.0);
        let backward = grad_scale.is_some();
        let Shard { caches, grads, params_t, g_mean, g_lv, g_mean2, g_lv2, g_in, g_in2, z, sig, e1, e2 } =
            shard;
        let [c_enc, c_b, c_c] = caches;
        // Encoder q_φ(z | θ, x) and the reparameterised z = μ + σ ε.
        let enc = &self.nets[0];
        concat_rows(theta, dt, x, dx, enc.input(c_enc, n));
        enc.forward(params, c_enc, n);
        exp_into(sig, &c_enc.log_var[..n * dz], 0.5);
        resize(z, n * dz);
        for (((z, m), s), e) in z.iter_mut().zip(&c_enc.mean).zip(sig.iter()).zip(eps) {
            *z = m + s * e;
        }
        // θ decoder p_ω(θ | z, x).
        let dec = &self.nets[if self.kind == Kind::Cp { 2 } else { 1 }];
        concat_rows(z, dz, x, dx, dec.input(c_c, n));
        dec.forward(params, c_c, n);
        gaussian_nll(
            theta,
            &c_c.mean,
            &c_c.log_var,
            e1,
            dt,
            1.0,
            s,
            loss,
            backward.then_some((&mut *g_mean, &mut *g_lv)),
        );
        if backward {
            dec.backward(params_t, c_c, g_mean, g_lv, grads, Some(g_in));
        }
        // g_in: [n, dz + dx], its first dz columns are dL/dz from the θ decoder.
        match self.kind {
            Kind::Cp => {
                // Conditional prior p_ψ(z | x) and KL(q ‖ p) (sbi_nn::kl_diag).
                let prior = &self.nets[1];
                prior.input(c_b, n).copy_from_slice(x);
                prior.forward(params, c_b, n);
                if backward {
                    resize(g_mean2, n * dz);
                    resize(g_lv2, n * dz);
                    resize(g_mean, n * dz);
                    resize(g_lv, n * dz);
                }
                exp_into(e1, &c_b.log_var[..n * dz], -1.0);
                exp_into(e2, &c_enc.log_var[..n * dz], 1.0);
                for i in 0..n {
                    let mut row = 0f64;
                    for j in 0..dz {
                        let k = i * dz + j;
                        let (mq, lq, mp, lp) = (c_enc.mean[k], c_enc.log_var[k], c_b.mean[k], c_b.log_var[k]);
                        let (inv_p, var_q) = (e1[k], e2[k]);
                        let diff = mq - mp;
                        let ratio = (var_q + diff * diff) * inv_p;
                        row += f64::from(lp - lq + ratio - 1.0);
                        if backward {
                            let gz = g_in[i * (dz + dx) + j];
                            let w = s * kl_weight;
                            g_mean[k] = w * diff * inv_p + gz;
                            g_lv[k] = w * 0.5 * (var_q * inv_p - 1.0) + gz * eps[k] * 0.5 * sig[k];
                            g_mean2[k] = -w * diff * inv_p;
                            g_lv2[k] = w * 0.5 * (1.0 - ratio);
                        }
                    }
                    loss[i] += f64::from(kl_weight) * 0.5 * row;
                }
                if backward {
                    prior.backward(params_t, c_b, g_mean2, g_lv2, grads, None);
                    enc.backward(params_t, c_enc, g_mean, g_lv, grads, None);
                }
            }
            Kind::Up { x_weight } => {
                // x decoder p_η(x | z), skipped when λ = 0 (its term and gradients vanish).
                let xdec = &self.nets[2];
                if x_weight != 0.0 {
                    xdec.input(c_b, n).copy_from_slice(z);
                    xdec.forward(params, c_b, n);
                    gaussian_nll(
                        x,
                        &c_b.mean,
                        &c_b.log_var,
                        e1,
                        dx,
                        x_weight,
                        s,
                        loss,
                        backward.then_some((&mut *g_mean2, &mut *g_lv2)),
                    );
                    if backward {
                        xdec.backward(params_t, c_b, g_mean2, g_lv2, grads, Some(g_in2));
                    }
                }
                if backward {
                    resize(g_mean, n * dz);
                    resize(g_lv, n * dz);
                }
                // KL(q ‖ N(0, I)) (sbi_nn::kl_std_normal).
                exp_into(e1, &c_enc.log_var[..n * dz], 1.0);
                for i in 0..n {
                    let mut row = 0f64;
                    for j in 0..dz {
                        let k = i * dz + j;
                        let (m, lv) = (c_enc.mean[k], c_enc.log_var[k]);
                        let var = e1[k];
                        row += f64::from(var + m * m - 1.0 - lv);
                        if backward {
                            let mut gz = g_in[i * (dz + dx) + j];
                            if x_weight != 0.0 {
                                gz += g_in2[k];
                            }
                            let w = s * kl_weight;
                            g_mean[k] = w * m + gz;
                            g_lv[k] = w * 0.5 * (var - 1.0) + gz * eps[k] * 0.5 * sig[k];
                        }
                    }
                    loss[i] += f64::from(kl_weight) * 0.5 * row;
                }
                if backward {
                    enc.backward(params_t, c_enc, g_mean, g_lv, grads, None);
                }
            }
        }
    }
}
