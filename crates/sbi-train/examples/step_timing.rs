//! Times the pieces of one CP-VAE training step (forward, backward, optimiser)
//! on a device: `cargo run --release -p sbi-train --example step_timing -- [device] [hidden] [batch]`.

use std::time::Instant;

use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;
use sbi_nn::burn::optim::{AdamConfig, GradientsParams};
use sbi_nn::{CpVaeConfig, DeviceChoice, NetConfig, standard_normal};

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let args: Vec<String> = std::env::args().collect();
    let device: DeviceChoice = args.get(1).map_or("flex", |s| s.as_str()).parse()?;
    let hidden: usize = args.get(2).map_or(Ok(64), |s| s.parse())?;
    let batch: usize = args.get(3).map_or(Ok(512), |s| s.parse())?;
    let dev = device.autodiff_device()?;
    let mut rng = ChaCha8Rng::seed_from_u64(0);
    let mut model =
        CpVaeConfig::new(2, 2).with_net(NetConfig::new().with_hidden(vec![hidden, hidden])).init(&dev)?;
    let mut optim = AdamConfig::new().init();
    let theta = standard_normal(&mut rng, [batch, 2], &dev);
    let x = standard_normal(&mut rng, [batch, 2], &dev);
    let steps = 200;
    let (mut t_fwd, mut t_bwd, mut t_opt) = (0.0, 0.0, 0.0);
    for i in 0..steps + 20 {
        let t0 = Instant::now();
        let eps = standard_normal(&mut rng, [batch, 4], &dev);
        let loss = model.loss(theta.clone(), x.clone(), eps)?;
        let t1 = Instant::now();
        let grads = GradientsParams::from_grads(loss.backward(), &model);
        let t2 = Instant::now();
        model = optim.step(1e-3, model, grads);
        let _ = model.encoder.head.linear.weight.val().into_data();
        let t3 = Instant::now();
        if i >= 20 {
            t_fwd += (t1 - t0).as_secs_f64();
            t_bwd += (t2 - t1).as_secs_f64();
            t_opt += (t3 - t2).as_secs_f64();
        }
    }
    let ms = |t: f64| 1e3 * t / steps as f64;
    println!(
        "{device} hidden {hidden} batch {batch}: forward {:.3} ms, backward {:.3} ms, optimiser {:.3} ms, total {:.3} ms/step",
        ms(t_fwd),
        ms(t_bwd),
        ms(t_opt),
        ms(t_fwd + t_bwd + t_opt)
    );
    Ok(())
}
