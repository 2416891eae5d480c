"""Generates the C2ST fidelity fixtures of sbi-metrics and scikit-learn's values on them.

    python c2st_fixtures.py generate            # writes the sample pairs (.npy, float32)
    python c2st_fixtures.py sklearn PAIR...     # scikit-learn's sbibm c2st for seeds 1..S
    python c2st_fixtures.py merge               # collects the per-pair results into sklearn.json

The pairs are drawn with numpy's default_rng from fixed seeds and stored as float32 so
that Rust and Python read bit-identical values (both upcast to float64). Output goes to
crates/sbi-metrics/tests/fixtures/c2st/. Needs numpy and scikit-learn; the Rust tests
only read the files written here.
"""

import json
import os
import sys
import time

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from c2st_reference import c2st  # noqa: E402

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
OUT = os.path.join(ROOT, "crates", "sbi-metrics", "tests", "fixtures", "c2st")


def gauss(rng, n, d, shift=0.0, scale=1.0):
    return scale * rng.standard_normal((n, d)) + shift


def bimodal(rng, n, d):
    """Two well separated modes along the first axis: ±1.5, sd 0.5."""
    x = 0.5 * rng.standard_normal((n, d))
    x[:, 0] += np.where(rng.random(n) < 0.5, -1.5, 1.5)
    return x


def moment_matched_gauss(rng, n, d):
    """A Gaussian with the bimodal mixture's mean and covariance (sd sqrt(0.25 + 2.25) on axis 0)."""
    x = 0.5 * rng.standard_normal((n, d))
    x[:, 0] = np.sqrt(0.25 + 2.25) * rng.standard_normal(n)
    return x


def shift_first(rng, n, d, s):
    x = rng.standard_normal((n, d))
    x[:, 0] += s
    return x


# name: (seed, reference generator, samples generator, sklearn seeds)
PAIRS = {
    "d2_identical": (101, lambda r: gauss(r, 2000, 2), lambda r: gauss(r, 2000, 2), 10),
    "d2_shift03": (102, lambda r: gauss(r, 2000, 2), lambda r: shift_first(r, 2000, 2, 0.3), 10),
    "d2_shift1": (103, lambda r: gauss(r, 2000, 2), lambda r: shift_first(r, 2000, 2, 1.0), 10),
    "d2_far": (104, lambda r: gauss(r, 2000, 2), lambda r: gauss(r, 2000, 2, shift=6.0), 10),
    "d2_bimodal": (105, lambda r: bimodal(r, 2000, 2), lambda r: moment_matched_gauss(r, 2000, 2), 10),
    "d10_identical": (106, lambda r: gauss(r, 2000, 10), lambda r: gauss(r, 2000, 10), 3),
    "d10_shift02": (107, lambda r: gauss(r, 2000, 10), lambda r: gauss(r, 2000, 10, shift=0.2), 3),
    "d10_scale12": (108, lambda r: gauss(r, 2000, 10), lambda r: gauss(r, 2000, 10, scale=1.2), 3),
    "d100_identical": (109, lambda r: gauss(r, 500, 100), lambda r: gauss(r, 500, 100), 5),
    "d100_shift01": (110, lambda r: gauss(r, 500, 100), lambda r: gauss(r, 500, 100, shift=0.1), 5),
}


def load(name):
    x = np.load(os.path.join(OUT, f"{name}_reference.npy")).astype(np.float64)
    y = np.load(os.path.join(OUT, f"{name}_samples.npy")).astype(np.float64)
    return x, y


def generate():
    os.makedirs(OUT, exist_ok=True)
    for name, (seed, gx, gy, _) in PAIRS.items():
        rng = np.random.default_rng(seed)
        np.save(os.path.join(OUT, f"{name}_reference.npy"), gx(rng).astype(np.float32))
        np.save(os.path.join(OUT, f"{name}_samples.npy"), gy(rng).astype(np.float32))
        print("wrote", name)


def run_sklearn(names):
    for name in names:
        x, y = load(name)
        seeds = list(range(1, PAIRS[name][3] + 1))
        values, seconds = [], []
        for s in seeds:
            t = time.perf_counter()
            values.append(c2st(x, y, seed=s))
            seconds.append(time.perf_counter() - t)
            print(name, s, values[-1], f"{seconds[-1]:.1f}s", flush=True)
            save(name, x, y, seeds[: len(values)], values, seconds)


def save(name, x, y, seeds, values, seconds):
    """Writes one pair's results so far (after every seed, so a long run can be cut short)."""
    import sklearn

    res = {
        "reference_rows": int(x.shape[0]),
        "samples_rows": int(y.shape[0]),
        "dim": int(x.shape[1]),
        "seeds": seeds,
        "c2st": values,
        "mean": float(np.mean(values)),
        "std": float(np.std(values, ddof=1)) if len(values) > 1 else None,
        "seconds": seconds,
        "sklearn": sklearn.__version__,
        "numpy": np.__version__,
    }
    with open(os.path.join(OUT, f"{name}_sklearn.json"), "w") as f:
        json.dump(res, f, indent=1)


def merge():
    out = {}
    for name in PAIRS:
        p = os.path.join(OUT, f"{name}_sklearn.json")
        if os.path.exists(p):
            with open(p) as f:
                out[name] = json.load(f)
            os.remove(p)
    with open(os.path.join(OUT, "sklearn.json"), "w") as f:
        json.dump(out, f, indent=1, sort_keys=True)
    print("merged", sorted(out))


if __name__ == "__main__":
    cmd = sys.argv[1]
    if cmd == "generate":
        generate()
    elif cmd == "sklearn":
        run_sklearn(sys.argv[2:] or list(PAIRS))
    elif cmd == "merge":
        merge()
    else:
        raise SystemExit(__doc__)
