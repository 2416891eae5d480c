//! An exponential moving average of a Burn module's weights (Polyak averaging,
//! `TrainConfig::ema_decay`) for the Burn engine's training loop; the fused
//! engine keeps the same average on the host (`fused/fit.rs`).
//!
//! After each optimiser step `w̄ ← d·w̄ + (1 − d)·w` for every float parameter,
//! starting from the initial weights. The average is computed on detached
//! tensors, so it adds nothing to the autodiff graph.

use burn::module::{Module, ModuleMapper, ModuleVisitor, Param};
use burn::tensor::Tensor;
use sbi_nn::burn;

/// The averaged weights of a module of type `M`.
#[derive(Clone, Debug)]
pub(crate) struct WeightAverage<M> {
    decay: f64,
    avg: M,
}

impl<M: Module> WeightAverage<M> {
    /// An average with decay `decay` in [0, 1), starting at `model`'s weights.
    pub fn new(model: &M, decay: f64) -> Self {
        WeightAverage { decay, avg: model.clone() }
    }

    /// Takes one step of the average towards `model`'s weights.
    pub fn update(&mut self, model: &M) {
        let mut current = Collect(Vec::new());
        model.visit(&mut current);
        let mut blend = Blend { current: current.0.into_iter(), decay: self.decay };
        self.avg = self.avg.clone().map(&mut blend);
        debug_assert!(blend.current.next().is_none(), "the average and the model have the same parameters");
    }

    /// The averaged module.
    pub fn model(&self) -> &M {
        &self.avg
    }

    /// The averaged module, by value.
    pub fn into_model(self) -> M {
        self.avg
    }
}

/// The float parameters of a module, flattened and detached, in visiting order.
struct Collect(Vec<Tensor<1>>);

impl ModuleVisitor for Collect {
    fn visit_float<const D: usize>(&mut self, param: &Param<Tensor<D>>) {
        let t = param.val().detach();
        let n = t.shape().num_elements();
        self.0.push(t.reshape([n]));
    }
}

/// Replaces each float parameter `w̄` by `d·w̄ + (1 − d)·w`, `w` from [`Collect`].
struct Blend {
    current: std::vec::IntoIter<Tensor<1>>,
    decay: f64,
}

impl ModuleMapper for Blend {
    fn map_float<const D: usize>(&mut self, param: Param<Tensor<D>>) -> Param<Tensor<D>> {
        let w = self.current.next().expect("the average and the model have the same parameters");
        let d = self.decay;
        param.map(|avg| {
            let (shape, trained) = (avg.shape(), avg.is_require_grad());
            // A new leaf: detached inputs, and the parameter's gradient tracking kept (a
            // sequential method trains the returned model again in its next round).
            (avg.detach().mul_scalar(d) + w.reshape(shape).mul_scalar(1.0 - d))
                .detach()
                .set_require_grad(trained)
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use burn::tensor::{Device, TensorData};
    use rand::SeedableRng;
    use rand_chacha::ChaCha8Rng;
    use sbi_nn::DeviceChoice;

    fn values(l: &burn::nn::Linear) -> Vec<f32> {
        let mut v = l.weight.val().into_data().try_into_vec_as::<f32>().unwrap();
        v.extend(l.bias.as_ref().unwrap().val().into_data().try_into_vec_as::<f32>().unwrap());
        v
    }

    /// Every CPU device, with autodiff (the training loop's case).
    fn devices() -> Vec<Device> {
        DeviceChoice::available_cpu().into_iter().map(|c| c.autodiff_device().unwrap()).collect()
    }

    /// Two steps of the average against the formula, element by element.
    #[test]
    fn the_average_follows_its_recursion() {
        for dev in devices() {
            let mut rng = ChaCha8Rng::seed_from_u64(1);
            let a = sbi_nn::seeded_linear(3, 2, &dev, &mut rng);
            let b = sbi_nn::seeded_linear(3, 2, &dev, &mut rng);
            let c = sbi_nn::seeded_linear(3, 2, &dev, &mut rng);
            let mut ema = WeightAverage::new(&a, 0.75);
            ema.update(&b);
            ema.update(&c);
            let (va, vb, vc) = (values(&a), values(&b), values(&c));
            let got = values(ema.model());
            assert_eq!(got.len(), 8);
            for i in 0..got.len() {
                let once = 0.75 * va[i] + 0.25 * vb[i];
                let want = 0.75 * once + 0.25 * vc[i];
                assert!((got[i] - want).abs() <= 1e-6, "element {i}: {} against {want}", got[i]);
            }
            // The averaged parameters still train: a loss through them has gradients.
            let avg = ema.into_model();
            let x = burn::tensor::Tensor::<2>::from_data(TensorData::new(vec![1.0f32; 3], [1, 3]), &dev);
            let grads = avg.forward(x).sum().backward();
            assert!(avg.weight.grad(&grads).is_some(), "no gradient for the averaged weights");
        }
    }
}
