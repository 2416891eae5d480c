"""numpy versions of the three MMDs of sbi-metrics, written from the spec
(shared/spec/sbibm-tasks.md §3, methods.md §3), for cross-checking values and timing.

    python mmd_reference.py X.csv Y.csv [sbibm|bayesflow-gaussian|bayesflow-imq ...]

prints each value and its wall time. The kernel matrices are formed exactly as BayesFlow
1.x forms them (squared distances, then `exp(-beta * dist)` summed over the scales, or
`sigma / (dist + sigma)`), but in blocks of rows, since the full 19 x 10k x 10k tensor
(15 GB) does not fit in memory; the arithmetic per entry is the same. float64 throughout
(BayesFlow and sbibm run in float32).
"""

import sys
import time

import numpy as np
from scipy.spatial.distance import pdist

GAUSS_SCALES = np.array(
    [1e-6, 1e-5, 1e-4, 1e-3, 1e-2, 1e-1, 1, 5, 10, 15, 20, 25, 30, 35, 100, 1e3, 1e4, 1e5, 1e6]
)
IMQ_SCALES = 10.0 ** np.linspace(-6, 6, 11)
BLOCK = 256


def sq_dists(a, b):
    return np.sum((a[:, None, :] - b[None, :, :]) ** 2, axis=-1)


def kernel_sum(a, b, kernel):
    total = 0.0
    for i in range(0, a.shape[0], BLOCK):
        total += kernel(sq_dists(a[i : i + BLOCK], b)).sum()
    return total


def gauss_mixture(d2):
    beta = 1.0 / (2.0 * GAUSS_SCALES[:, None])
    s = beta @ d2.reshape(1, -1)
    return np.exp(-s).sum(axis=0)


def imq(d2):
    d2 = d2.reshape(-1, 1)
    return (IMQ_SCALES[None, :] / (d2 + IMQ_SCALES[None, :])).sum(axis=1)


def mmd_bayesflow(x, y, kernel):
    n, m = x.shape[0], y.shape[0]
    v = kernel_sum(x, x, kernel) / n**2 + kernel_sum(y, y, kernel) / m**2 - 2 * kernel_sum(x, y, kernel) / (n * m)
    return max(v, 0.0)


def mmd_sbibm(x, y):
    d = pdist(x)
    k = (d.size - 1) // 2
    sigma = np.partition(d, k)[k]  # torch.median: the lower middle value
    kern = lambda d2: np.exp(-d2 / (2 * sigma**2))  # noqa: E731
    n, m = x.shape[0], y.shape[0]
    kxx = kernel_sum(x, x, kern) - n  # remove the diagonal, k(x, x) = 1
    kyy = kernel_sum(y, y, kern) - m
    return kxx / (n * (n - 1)) + kyy / (m * (m - 1)) - 2 * kernel_sum(x, y, kern) / (n * m)


def main():
    x = np.loadtxt(sys.argv[1], delimiter=",", ndmin=2)
    y = np.loadtxt(sys.argv[2], delimiter=",", ndmin=2)
    for name in sys.argv[3:] or ["sbibm", "bayesflow-gaussian", "bayesflow-imq"]:
        t = time.perf_counter()
        if name == "sbibm":
            v = mmd_sbibm(x, y)
        elif name == "bayesflow-gaussian":
            v = mmd_bayesflow(x, y, gauss_mixture)
        else:
            v = mmd_bayesflow(x, y, imq)
        print(f"{name} value={v:.8f} seconds={time.perf_counter() - t:.2f}", flush=True)


if __name__ == "__main__":
    main()
