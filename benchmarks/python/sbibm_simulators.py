"""Throughput of sbibm's Python simulators (10,000 simulations per task).

Used only to compare against our Rust simulators (docs/tasks.md, "Speed"); the
project's build and tests never need Python.

    python3 -m venv /tmp/venv-sbibm && /tmp/venv-sbibm/bin/pip install sbibm
    /tmp/venv-sbibm/bin/python benchmarks/python/sbibm_simulators.py [--threads 1 2]

For each torch thread count, prints one line per task: the best wall time of
one call and the mean over all calls (each task runs repeatedly for at least
`--seconds`, at most `--max-repeats` calls, at least one call), as simulations
per second. The mean is the statistic criterion reports for our simulators;
on a loaded machine it includes the time the process waits for a core, while
the best of many short calls mostly does not, so compare mean with mean. Torch's
multi-threaded kernels can be many times slower than single-threaded ones on a
loaded machine (idle worker threads spin), so measure both thread counts and
compare against the faster. sir and lotka_volterra need Julia
(diffeqtorch) and are skipped when it is missing.
"""

import argparse
import os
import statistics
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
    ap.add_argument("--seconds", type=float, default=5.0)
    ap.add_argument("--max-repeats", type=int, default=100_000)
    ap.add_argument("--threads", type=int, nargs="+", default=[1, 2])
    ap.add_argument("--tasks", nargs="+", default=TASKS)
    args = ap.parse_args()
    print(f"torch {torch.__version__}, sbibm {getattr(sbibm, '__version__', '?')}, {args.num} simulations")
    for threads in args.threads:
        torch.set_num_threads(threads)
        torch.manual_seed(1)
        print(f"threads {threads}")
        for name in args.tasks:
            try:
                task = sbibm.get_task(name)
                prior = task.get_prior()
                simulator = task.get_simulator()
                theta = prior(num_samples=args.num)
                simulator(theta[:10])  # warm-up
                times = []
                while len(times) < args.max_repeats and (not times or sum(times) < args.seconds):
                    t0 = time.perf_counter()
                    x = simulator(theta)
                    times.append(time.perf_counter() - t0)
                assert x.shape[0] == args.num
                best, mean = min(times), statistics.fmean(times)
                print(f"  {name:26s} best {best:10.4f} s {args.num / best:14.0f} sims/s   "
                      f"mean {mean:10.4f} s {args.num / mean:14.0f} sims/s   ({len(times)} calls)")
            except Exception as e:  # noqa: BLE001 - report and go on
                print(f"  {name:26s} skipped: {type(e).__name__}: {str(e).splitlines()[0][:100]}")


if __name__ == "__main__":
    main()
