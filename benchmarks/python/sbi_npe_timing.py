"""Times Python sbi's NPE (SNPE-C, one round, MAF density estimator, sbi's defaults) on sbibm's
two_moons with 10,000 simulations, and reports its C2ST at observation 1, for the comparison
with `sbi run --method npe-maf` in docs/npe.md.

    python sbi_npe_timing.py [--budget 10000] [--seed 1] [--observation 1] [--threads N]

Needs the scratch venv with sbi 0.21, torch and sbibm (not a dependency of the Rust build).
Prints one summary line: train_s (the `train()` call only), sample_s, c2st (sbibm's C2ST against
the reference posterior samples, 10,000 draws each) and the epochs sbi ran.
"""

import argparse
import time

import sbibm
import torch
from sbi.inference import SNPE
from sbibm.metrics import c2st


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--budget", type=int, default=10_000)
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--observation", type=int, default=1)
    ap.add_argument("--threads", type=int, default=0, help="torch threads (0: torch's default)")
    ap.add_argument("--num-samples", type=int, default=10_000)
    args = ap.parse_args()
    if args.threads > 0:
        torch.set_num_threads(args.threads)
    torch.manual_seed(args.seed)

    task = sbibm.get_task("two_moons")
    prior = task.get_prior_dist()
    simulator = task.get_simulator()
    t0 = time.perf_counter()
    theta = prior.sample((args.budget,))
    x = simulator(theta)
    simulate_s = time.perf_counter() - t0

    inference = SNPE(prior=prior, density_estimator="maf")
    t0 = time.perf_counter()
    estimator = inference.append_simulations(theta, x).train()  # sbi's defaults
    train_s = time.perf_counter() - t0
    epochs = inference._summary["epochs_trained"][-1]

    x_o = task.get_observation(num_observation=args.observation)
    posterior = inference.build_posterior(estimator)
    t0 = time.perf_counter()
    samples = posterior.sample((args.num_samples,), x=x_o, show_progress_bars=False)
    sample_s = time.perf_counter() - t0
    reference = task.get_reference_posterior_samples(num_observation=args.observation)
    score = float(c2st(reference[: args.num_samples], samples)[0])
    print(
        f"python-sbi {__import__('sbi').__version__} npe-maf two_moons budget={args.budget} "
        f"seed={args.seed} observation={args.observation} threads={torch.get_num_threads()} "
        f"simulate_s={simulate_s:.3f} train_s={train_s:.3f} epochs={epochs} "
        f"sample_s={sample_s:.3f} c2st={score:.4f}"
    )


if __name__ == "__main__":
    main()
