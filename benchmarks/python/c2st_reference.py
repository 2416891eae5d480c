"""sbibm's C2ST (sbibm 1.1.0 `sbibm.metrics.c2st`), written from the spec
(shared/spec/sbibm-tasks.md §2) for comparing sbi-metrics against scikit-learn.

Usage as a script:
    python c2st_reference.py X.csv Y.csv [--seed 1] [--no-z-score] [--scoring accuracy|roc_auc]
prints the C2ST value and the wall time.  Only needs numpy and scikit-learn.
"""

import argparse
import time

import numpy as np
from sklearn.model_selection import KFold, cross_val_score
from sklearn.neural_network import MLPClassifier


def c2st(X, Y, seed=1, n_folds=5, scoring="accuracy", z_score=True):
    """X: reference [n, d] (label 0), Y: samples [m, d] (label 1)."""
    X = np.asarray(X, dtype=np.float64)
    Y = np.asarray(Y, dtype=np.float64)
    if z_score:
        mean = X.mean(axis=0)
        std = X.std(axis=0, ddof=1)  # torch.std is unbiased
        X = (X - mean) / std
        Y = (Y - mean) / std
    ndim = X.shape[1]
    clf = MLPClassifier(
        activation="relu",
        hidden_layer_sizes=(10 * ndim, 10 * ndim),
        max_iter=10000,
        solver="adam",
        random_state=seed,
    )
    data = np.concatenate((X, Y))
    target = np.concatenate((np.zeros((X.shape[0],)), np.ones((Y.shape[0],))))
    shuffle = KFold(n_splits=n_folds, shuffle=True, random_state=seed)
    scores = cross_val_score(clf, data, target, cv=shuffle, scoring=scoring)
    return float(np.asarray(np.mean(scores)).astype(np.float32))


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("reference")
    ap.add_argument("samples")
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--no-z-score", action="store_true")
    ap.add_argument("--scoring", default="accuracy", choices=["accuracy", "roc_auc"])
    a = ap.parse_args()
    X = np.loadtxt(a.reference, delimiter=",", ndmin=2)
    Y = np.loadtxt(a.samples, delimiter=",", ndmin=2)
    t = time.perf_counter()
    v = c2st(X, Y, seed=a.seed, scoring=a.scoring, z_score=not a.no_z_score)
    print(f"c2st={v:.6f} seconds={time.perf_counter() - t:.3f}")


if __name__ == "__main__":
    main()
