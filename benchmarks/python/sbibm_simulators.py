"""Throughput of sbibm's Python simulators (10,000 simulations per task).

Used only to compare against our Rust simulators (docs/performance.md); the
project's build and tests never need Python.

    python3 -m venv /tmp/venv-sbibm && /tmp/venv-sbibm/bin/pip install sbibm
    /tmp/venv-sbibm/bin/python benchmarks/python/sbibm_simulators.py [--threads 2]

Prints one line per task: name, best wall time of `--repeats` runs (seconds),
simulations per second. sir and lotka_volterra need Julia (diffeqtorch) and
are skipped when it is missing.
"""

import argparse
import os
import time

# sbibm 1.1.0 loads its slcp_distractors constants with torch.load, which newer
# torch versions refuse without this.
os.environ.setdefault("TORCH_FORCE_NO_WEIGHTS_ONLY_LOAD", "1")

import torch
import sbibm

TASKS = ["gaussian_linear", "gaussian_linear_uniform", "slcp", "slcp_distractors",
         "bernoulli_glm", "bernoulli_glm_raw", "gaussian_mixture", "two_moons",
         "sir", "lotka_volterra"]


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--num", type=int, default=10_000)
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--threads", type=int, default=2)
    args = ap.parse_args()
    torch.set_num_threads(args.threads)
    torch.manual_seed(1)
    print(f"torch {torch.__version__}, sbibm {getattr(sbibm, '__version__', '?')}, threads {args.threads}")
    for name in TASKS:
        try:
            task = sbibm.get_task(name)
            prior = task.get_prior()
            simulator = task.get_simulator()
            theta = prior(num_samples=args.num)
            simulator(theta[:10])  # warm-up
            best = float("inf")
            for _ in range(args.repeats):
                t0 = time.perf_counter()
                x = simulator(theta)
                best = min(best, time.perf_counter() - t0)
            assert x.shape[0] == args.num
            print(f"{name:26s} {best:10.4f} s  {args.num / best:14.0f} sims/s")
        except Exception as e:  # noqa: BLE001 - report and go on
            print(f"{name:26s} skipped: {type(e).__name__}: {str(e).splitlines()[0][:100]}")


if __name__ == "__main__":
    main()
