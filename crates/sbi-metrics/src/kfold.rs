//! Shuffled K-fold splits with scikit-learn's `KFold(shuffle=True)` layout
//! (spec `sbibm-tasks.md` §2 step 5).
//!
//! The row indices are permuted once; fold `k` tests on the `k`-th contiguous chunk of the
//! permutation, the first `n % k` folds holding one row more than the others, and trains
//! on all remaining rows in their original order. The permutation comes from our own
//! seeded RNG (not numpy's), so the assignment differs from scikit-learn's row by row but
//! follows the same distribution.

use rand::SeedableRng;
use rand::seq::SliceRandom;
use rand_chacha::ChaCha8Rng;

/// One train/test split.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Fold {
    /// Training row indices, ascending.
    pub train: Vec<usize>,
    /// Test row indices, in permutation order.
    pub test: Vec<usize>,
}

/// Splits `0..n` into `k` shuffled folds; requires `2 <= k <= n` (checked by the caller).
pub fn kfold(n: usize, k: usize, seed: u64) -> Vec<Fold> {
    assert!(k >= 2 && k <= n, "kfold needs 2 <= k <= n (got k = {k}, n = {n})");
    let mut perm: Vec<usize> = (0..n).collect();
    // A stream of its own, so that the split does not depend on the classifier's RNG use.
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    rng.set_stream(0x6b66_6f6c64); // "kfold" in ASCII
    perm.shuffle(&mut rng);
    let mut folds = Vec::with_capacity(k);
    let mut start = 0;
    for f in 0..k {
        let size = n / k + usize::from(f < n % k);
        let test = perm[start..start + size].to_vec();
        let mut in_test = vec![false; n];
        for &i in &test {
            in_test[i] = true;
        }
        let train = (0..n).filter(|&i| !in_test[i]).collect();
        folds.push(Fold { train, test });
        start += size;
    }
    folds
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn folds_partition_rows_with_sklearn_sizes() {
        let folds = kfold(23, 5, 1);
        let sizes: Vec<usize> = folds.iter().map(|f| f.test.len()).collect();
        assert_eq!(sizes, vec![5, 5, 5, 4, 4]);
        let mut all: Vec<usize> = folds.iter().flat_map(|f| f.test.iter().copied()).collect();
        all.sort_unstable();
        assert_eq!(all, (0..23).collect::<Vec<_>>());
        for f in &folds {
            assert_eq!(f.train.len() + f.test.len(), 23);
            assert!(f.train.windows(2).all(|w| w[0] < w[1]));
            assert!(f.test.iter().all(|t| !f.train.contains(t)));
        }
        // The split is shuffled (not the identity layout) and deterministic per seed.
        assert_ne!(folds[0].test, vec![0, 1, 2, 3, 4]);
        assert_eq!(folds, kfold(23, 5, 1));
        assert_ne!(folds, kfold(23, 5, 2));
    }
}
