"""Side-by-side throughput of sbibm's simulators and ours, interleaved.

On a shared 2-core VM the speed of both sides drifts by tens of percent within
minutes, so this script alternates short bursts: for each task and round, sbibm's
simulator runs back to back for `--seconds` (10,000 simulations per call, torch
with 1 and then 2 threads), then our example binary does the same for the task
(`cargo run --release -p sbi-sim --example throughput`, called as a subprocess).
Each burst gives a mean time per call (the throughput statistic criterion reports)
and a best call. Per task it prints the median over rounds of both, for sbibm its
faster thread count, and the median of the per-round ratios ours/sbibm. With
`--into`, each round also runs a burst of ours writing into one reused output
(`simulate_into`, the example's `--into 1`) and prints it as a second row.

    cargo build --release -p sbi-sim --example throughput
    python3 -m venv /tmp/venv-sbibm && /tmp/venv-sbibm/bin/pip install sbibm
    /tmp/venv-sbibm/bin/python benchmarks/python/compare_simulators.py [--rounds 5 --seconds 2]

Used only for docs/tasks.md ("Speed"); the project's build and tests never need
Python.
"""

import argparse
import os
import re
import statistics
import subprocess
import time

os.environ.setdefault("TORCH_FORCE_NO_WEIGHTS_ONLY_LOAD", "1")

import torch  # noqa: E402
import sbibm  # noqa: E402

TASKS = ["two_moons", "slcp", "gaussian_mixture", "bernoulli_glm", "gaussian_linear",
         "gaussian_linear_uniform", "bernoulli_glm_raw"]
HERE = os.path.dirname(os.path.abspath(__file__))
BIN = os.path.join(HERE, "..", "..", "target", "release", "examples", "throughput")


def sbibm_burst(simulator, theta, seconds):
    times = []
    while not times or sum(times) < seconds:
        t0 = time.perf_counter()
        simulator(theta)
        times.append(time.perf_counter() - t0)
    return statistics.fmean(times), min(times)


def ours_burst(name, num, seconds, into=False):
    out = subprocess.run([BIN, "--tasks", name, "--num", str(num), "--seconds", str(seconds),
                          "--into", "1" if into else "0"],
                         check=True, capture_output=True, text=True).stdout
    m = re.search(r"best\s+([\d.]+) µs.*mean\s+([\d.]+) µs", out)
    return float(m.group(2)) * 1e-6, float(m.group(1)) * 1e-6


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--rounds", type=int, default=5)
    ap.add_argument("--seconds", type=float, default=2.0)
    ap.add_argument("--num", type=int, default=10_000)
    ap.add_argument("--tasks", nargs="+", default=TASKS)
    ap.add_argument("--into", action="store_true",
                    help="also time ours into a reused output (simulate_into)")
    args = ap.parse_args()
    print(f"torch {torch.__version__}, {args.num} simulations per call, "
          f"{args.rounds} rounds of {args.seconds} s bursts")
    print(f"{'task':24s} {'ours mean':>12s} {'sbibm mean':>12s} {'ratio':>7s}   "
          f"{'ours best':>12s} {'sbibm best':>12s} {'ratio':>7s}  (sims/s; sbibm threads)")
    for name in args.tasks:
        task = sbibm.get_task(name)
        simulator = task.get_simulator()
        torch.manual_seed(1)
        theta = task.get_prior()(num_samples=args.num)
        simulator(theta[:10])
        rows = []
        for _ in range(args.rounds):
            side = {}
            for threads in (1, 2):
                torch.set_num_threads(threads)
                side[threads] = sbibm_burst(simulator, theta, args.seconds)
            threads = min(side, key=lambda k: side[k][0])
            ours = {False: ours_burst(name, args.num, args.seconds)}
            if args.into:
                ours[True] = ours_burst(name, args.num, args.seconds, into=True)
            rows.append((ours, side[threads], threads))
        med = statistics.median
        n = args.num
        used = sorted({r[2] for r in rows})
        sb_mean = med(r[1][0] for r in rows)
        sb_best = med(r[1][1] for r in rows)
        for into in rows[0][0]:
            ours_mean = med(r[0][into][0] for r in rows)
            ours_best = med(r[0][into][1] for r in rows)
            ratio_mean = med(r[1][0] / r[0][into][0] for r in rows)
            ratio_best = med(r[1][1] / r[0][into][1] for r in rows)
            label = name + (" (into)" if into else "")
            print(f"{label:24s} {n / ours_mean:12.4g} {n / sb_mean:12.4g} {ratio_mean:6.1f}x   "
                  f"{n / ours_best:12.4g} {n / sb_best:12.4g} {ratio_best:6.1f}x  ({used})",
                  flush=True)


if __name__ == "__main__":
    main()
