"""Times scikit-learn's sbibm C2ST and the numpy MMD formulas on 10,000 vs 10,000 samples,
for the comparison in docs/metrics.md.

    python time_reference.py DIR make                 # writes DIR/{X,Y}_{2,10}d.csv
    python time_reference.py DIR c2st 2 [10]           # sbibm c2st (scikit-learn), per width
    python time_reference.py DIR mmd 2 [10]            # the three MMDs (numpy), per width

The pairs: X ~ N(0, I), Y ~ N(0.3 e1, I), 10,000 rows each, numpy default_rng(2024).
Thread counts follow the environment (e.g. OMP_NUM_THREADS=1 for one thread).
"""

import os
import sys
import time

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from c2st_reference import c2st  # noqa: E402
from mmd_reference import gauss_mixture, imq, mmd_bayesflow, mmd_sbibm  # noqa: E402


def paths(d, dim):
    return os.path.join(d, f"X_{dim}d.csv"), os.path.join(d, f"Y_{dim}d.csv")


def make(d):
    os.makedirs(d, exist_ok=True)
    rng = np.random.default_rng(2024)
    for dim in (2, 10):
        x = rng.standard_normal((10_000, dim))
        y = rng.standard_normal((10_000, dim))
        y[:, 0] += 0.3
        px, py = paths(d, dim)
        np.savetxt(px, x, delimiter=",", fmt="%.17g")
        np.savetxt(py, y, delimiter=",", fmt="%.17g")


def load(d, dim):
    px, py = paths(d, dim)
    return np.loadtxt(px, delimiter=","), np.loadtxt(py, delimiter=",")


def main():
    d, what, dims = sys.argv[1], sys.argv[2], [int(v) for v in sys.argv[3:]]
    if what == "make":
        make(d)
        return
    for dim in dims:
        x, y = load(d, dim)
        runs = (
            [("c2st", lambda: c2st(x, y))]
            if what == "c2st"
            else [
                ("mmd sbibm", lambda: mmd_sbibm(x, y)),
                ("mmd bayesflow-gaussian", lambda: mmd_bayesflow(x, y, gauss_mixture)),
                ("mmd bayesflow-imq", lambda: mmd_bayesflow(x, y, imq)),
            ]
        )
        for name, f in runs:
            t0, c0 = time.perf_counter(), time.process_time()
            v = f()
            print(
                f"{name} {dim}d value={v:.8f} wall={time.perf_counter() - t0:.2f}s cpu={time.process_time() - c0:.2f}s",
                flush=True,
            )


if __name__ == "__main__":
    main()
