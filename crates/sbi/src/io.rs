//! Reading and writing sample files: CSV with a header row (optionally
//! bz2-compressed, as sbibm ships them) and NumPy `.npy`.
