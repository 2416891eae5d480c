//! Unit tests of `sbi::io`: round trips and every error with its message.

use super::*;
use ndarray::{Array, array};
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use std::path::PathBuf;

fn tmp() -> tempfile::TempDir {
    tempfile::tempdir().expect("temp dir")
}

/// Values of all magnitudes and signs, including exact-round-trip hard cases.
fn awkward_matrix(n: usize, d: usize, seed: u64) -> Array2<f64> {
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    let mut a = Array2::from_shape_fn((n, d), |_| {
        let m: f64 = rng.random::<f64>() * 2.0 - 1.0;
        let e: i32 = rng.random_range(-300..300);
        m * 10f64.powi(e)
    });
    a[[0, 0]] = 0.1 + 0.2;
    a[[0, 1]] = -0.0;
    a[[1, 0]] = f64::MIN_POSITIVE;
    a[[1, 1]] = f64::MAX;
    a[[2, 0]] = 5e-324; // smallest subnormal
    a[[2, 1]] = 1.0 / 3.0;
    a
}

fn write_text(dir: &tempfile::TempDir, name: &str, text: &str) -> PathBuf {
    let p = dir.path().join(name);
    fs::write(&p, text).unwrap();
    p
}

fn bits(a: &Array2<f64>) -> Vec<u64> {
    a.iter().map(|v| v.to_bits()).collect()
}

#[test]
fn csv_round_trip_is_bit_exact_and_keeps_header() {
    let dir = tmp();
    let data = awkward_matrix(50, 3, 1);
    let header = ["$\\beta$", "with,comma", "parameter_3"];
    let p = dir.path().join("a.csv");
    write_matrix(&p, &header, data.view()).unwrap();
    let t = read_matrix(&p).unwrap();
    assert_eq!(t.header, header);
    assert_eq!(bits(&t.data), bits(&data));
    // Plain CSV text: the sbibm-style header is written verbatim.
    let text = fs::read_to_string(&p).unwrap();
    assert!(text.starts_with("$\\beta$,\"with,comma\",parameter_3\n"), "{}", &text[..40]);
}

#[test]
fn csv_writes_ordinary_numbers_in_plain_notation() {
    let dir = tmp();
    let p = dir.path().join("plain.csv");
    write_matrix(&p, &["a", "b", "c"], array![[0.5, -12.25, 1e-7], [3.0, 0.0, 2e20]].view()).unwrap();
    assert_eq!(fs::read_to_string(&p).unwrap(), "a,b,c\n0.5,-12.25,1e-7\n3,0,2e20\n");
}

#[test]
fn npy_round_trip_is_bit_exact() {
    let dir = tmp();
    let data = awkward_matrix(40, 4, 2);
    let p = dir.path().join("a.npy");
    write_matrix(&p, &default_header("parameter", 4), data.view()).unwrap();
    let t = read_matrix(&p).unwrap();
    assert_eq!(t.header, ["column_1", "column_2", "column_3", "column_4"]);
    assert_eq!(bits(&t.data), bits(&data));
    // A NumPy file: magic string and float64 descriptor.
    let bytes = fs::read(&p).unwrap();
    assert_eq!(&bytes[..6], b"\x93NUMPY");
    assert!(String::from_utf8_lossy(&bytes[..128]).contains("'descr': '<f8'"));
}

#[test]
fn npy_round_trip_of_a_transposed_view() {
    let dir = tmp();
    let data = Array::from_shape_fn((3, 5), |(i, j)| (10 * i + j) as f64);
    let p = dir.path().join("t.npy");
    write_matrix(&p, &default_header("c", 3), data.t()).unwrap();
    assert_eq!(read_matrix(&p).unwrap().data, data.t());
}

#[test]
fn bz2_round_trip() {
    let dir = tmp();
    let data = awkward_matrix(30, 2, 3);
    let p = dir.path().join("a.csv.bz2");
    write_matrix(&p, &["parameter_1", "parameter_2"], data.view()).unwrap();
    let bytes = fs::read(&p).unwrap();
    assert_eq!(&bytes[..3], b"BZh", "not a bzip2 stream");
    let t = read_matrix(&p).unwrap();
    assert_eq!(t.header, ["parameter_1", "parameter_2"]);
    assert_eq!(bits(&t.data), bits(&data));
}

#[test]
fn npy_float32_is_widened_exactly() {
    let dir = tmp();
    let a32 = array![[1.5f32, -0.1], [3.25, 1e-30]];
    let p = dir.path().join("f32.npy");
    a32.write_npy(File::create(&p).unwrap()).unwrap();
    let t = read_matrix(&p).unwrap();
    assert_eq!(t.data, a32.mapv(f64::from));
}

#[test]
fn npy_one_dimensional_is_one_column() {
    let dir = tmp();
    let p = dir.path().join("v.npy");
    array![1.0f64, 2.0, 3.0].write_npy(File::create(&p).unwrap()).unwrap();
    let t = read_matrix(&p).unwrap();
    assert_eq!(t.data, array![[1.0], [2.0], [3.0]]);
    assert_eq!(t.header, ["column_1"]);
}

#[test]
fn npy_wrong_dtype_and_ndim_are_named() {
    let dir = tmp();
    let p = dir.path().join("i.npy");
    array![[1i64, 2], [3, 4]].write_npy(File::create(&p).unwrap()).unwrap();
    let msg = read_matrix(&p).unwrap_err().to_string();
    assert!(msg.contains("unsupported dtype") && msg.contains("<i8") && msg.contains("i.npy"), "{msg}");

    let p = dir.path().join("cube.npy");
    Array::<f64, _>::zeros((2, 2, 2)).write_npy(File::create(&p).unwrap()).unwrap();
    let msg = read_matrix(&p).unwrap_err().to_string();
    assert!(msg.contains("found 3-D"), "{msg}");

    let p = write_text(&dir, "junk.npy", "not numpy at all");
    let e = read_matrix(&p).unwrap_err();
    assert!(matches!(e, IoError::Npy { .. }), "{e}");
}

#[test]
fn npy_with_no_rows_is_empty() {
    let dir = tmp();
    let p = dir.path().join("e.npy");
    Array2::<f64>::zeros((0, 3)).write_npy(File::create(&p).unwrap()).unwrap();
    let msg = read_matrix(&p).unwrap_err().to_string();
    assert!(msg.contains("no data rows"), "{msg}");
}

#[test]
fn reads_sbibm_two_moons_reference_samples() {
    let p = Path::new("/work/shared/sbibm/two_moons/num_observation_1/reference_posterior_samples.csv.bz2");
    if !p.exists() {
        eprintln!("note: {} not present; skipping the sbibm bz2 check", p.display());
        return;
    }
    let t = read_matrix(p).unwrap();
    assert_eq!(t.header, ["parameter_1", "parameter_2"]);
    assert_eq!(t.data.dim(), (10_000, 2));
    // First row as stored in the file (float32 values written as text).
    assert_eq!(t.data.row(0).to_vec(), vec![-0.8059562, -0.5836492]);
    // The prior is U[-1, 1]^2, so every posterior draw lies inside it.
    assert!(t.data.iter().all(|v| v.abs() <= 1.0));
}

#[test]
fn reads_sbibm_sir_latex_header() {
    let p = Path::new("/work/shared/sbibm/sir/num_observation_1/reference_posterior_samples.csv.bz2");
    if !p.exists() {
        eprintln!("note: {} not present; skipping", p.display());
        return;
    }
    let t = read_matrix(p).unwrap();
    assert_eq!(t.header, ["$\\beta$", "$\\gamma$"]);
    assert_eq!(t.data.dim(), (10_000, 2));
}

#[test]
fn csv_tolerates_spaces_and_crlf() {
    let dir = tmp();
    let p = write_text(&dir, "s.csv", "a, b\r\n 1.5 , 2\r\n3,4e-1\r\n");
    let t = read_matrix(&p).unwrap();
    assert_eq!(t.header, ["a", "b"]);
    assert_eq!(t.data, array![[1.5, 2.0], [3.0, 0.4]]);
}

#[test]
fn missing_file_is_named() {
    let dir = tmp();
    let p = dir.path().join("nope.csv");
    let e = read_matrix(&p).unwrap_err();
    assert!(matches!(e, IoError::NotFound { .. }));
    let msg = e.to_string();
    assert!(msg.contains("not found") && msg.contains("nope.csv"), "{msg}");
}

#[test]
fn directory_is_not_a_file() {
    let dir = tmp();
    let msg = read_matrix(dir.path()).unwrap_err().to_string();
    assert!(msg.contains("directory"), "{msg}");
}

#[test]
fn empty_file_has_no_header() {
    let dir = tmp();
    let p = write_text(&dir, "e.csv", "");
    let msg = read_matrix(&p).unwrap_err().to_string();
    assert!(msg.contains("empty") && msg.contains("no header row") && msg.contains("e.csv"), "{msg}");
}

#[test]
fn header_only_has_no_rows() {
    let dir = tmp();
    let p = write_text(&dir, "h.csv", "parameter_1,parameter_2\n");
    let msg = read_matrix(&p).unwrap_err().to_string();
    assert!(msg.contains("no data rows"), "{msg}");
}

#[test]
fn malformed_field_reports_line_column_and_field() {
    let dir = tmp();
    let p = write_text(&dir, "m.csv", "a,b\n1,2\n3,abc\n");
    let e = read_matrix(&p).unwrap_err();
    assert!(matches!(e, IoError::Malformed { line: 3, column: 2, .. }), "{e:?}");
    let msg = e.to_string();
    assert!(msg.contains("line 3") && msg.contains("column 2") && msg.contains("'abc'"), "{msg}");
}

#[test]
fn empty_field_is_malformed() {
    let dir = tmp();
    let p = write_text(&dir, "m.csv", "a,b\n1,\n");
    let msg = read_matrix(&p).unwrap_err().to_string();
    assert!(msg.contains("line 2") && msg.contains("''"), "{msg}");
}

#[test]
fn ragged_row_reports_line() {
    let dir = tmp();
    let p = write_text(&dir, "r.csv", "a,b\n1,2\n3,4\n5\n");
    let e = read_matrix(&p).unwrap_err();
    assert!(matches!(e, IoError::Ragged { line: 4, expected: 2, got: 1, .. }), "{e:?}");
    assert!(e.to_string().contains("line 4 has 1 fields"), "{e}");
}

#[test]
fn non_finite_values_are_counted_and_located() {
    let dir = tmp();
    let p = write_text(&dir, "n.csv", "a,b\n1,2\n3,nan\ninf,NaN\n-inf,0\n");
    let e = read_matrix(&p).unwrap_err();
    assert!(matches!(e, IoError::NonFinite { count: 4, row: 2, column: 2, .. }), "{e:?}");
    let msg = e.to_string();
    assert!(msg.contains("4 non-finite") && msg.contains("row 2, column 2"), "{msg}");

    // Allowed on request (e.g. data files with failed simulations).
    let t = read_matrix_with(&p, ReadOptions { allow_non_finite: true }).unwrap();
    assert!(
        t.data[[1, 1]].is_nan() && t.data[[2, 0]] == f64::INFINITY && t.data[[3, 0]] == f64::NEG_INFINITY
    );
}

#[test]
fn non_finite_in_npy_is_an_error() {
    let dir = tmp();
    let p = dir.path().join("n.npy");
    array![[0.0, 1.0], [f64::NAN, 2.0]].write_npy(File::create(&p).unwrap()).unwrap();
    let msg = read_matrix(&p).unwrap_err().to_string();
    assert!(msg.contains("1 non-finite") && msg.contains("row 2, column 1"), "{msg}");
}

#[test]
fn non_finite_values_round_trip_through_csv_when_allowed() {
    let dir = tmp();
    let p = dir.path().join("x.csv");
    let data = array![[f64::NAN, 1.0], [f64::INFINITY, f64::NEG_INFINITY]];
    write_matrix(&p, &["data_1", "data_2"], data.view()).unwrap();
    let t = read_matrix_with(&p, ReadOptions { allow_non_finite: true }).unwrap();
    assert!(t.data[[0, 0]].is_nan());
    assert_eq!(t.data.row(1).to_vec(), vec![f64::INFINITY, f64::NEG_INFINITY]);
}

#[test]
fn headerless_numeric_csv_is_rejected() {
    let dir = tmp();
    let p = write_text(&dir, "nh.csv", "0.5,1.5\n2.5,3.5\n");
    let msg = read_matrix(&p).unwrap_err().to_string();
    assert!(msg.contains("header row") && msg.contains("line 1"), "{msg}");
    // pandas' default integer column names are accepted as a header.
    let p = write_text(&dir, "pd.csv", "0,1\n2.5,3.5\n");
    assert_eq!(read_matrix(&p).unwrap().header, ["0", "1"]);
}

#[test]
fn corrupt_bz2_is_a_read_error() {
    let dir = tmp();
    let p = write_text(&dir, "c.csv.bz2", "a,b\n1,2\n");
    let e = read_matrix(&p).unwrap_err();
    assert!(matches!(e, IoError::Read { .. }), "{e:?}");
    assert!(e.to_string().contains("c.csv.bz2"), "{e}");
}

#[test]
fn write_into_missing_directory_names_it() {
    let dir = tmp();
    let p = dir.path().join("no_such_dir").join("out.csv");
    let e = write_matrix(&p, &["a"], array![[1.0]].view()).unwrap_err();
    let msg = e.to_string();
    assert!(
        msg.contains("cannot write") && msg.contains("out.csv") && msg.contains("does not exist"),
        "{msg}"
    );
    assert!(check_writable(&p).is_err());
}

#[test]
fn write_onto_a_directory_fails() {
    let dir = tmp();
    let msg = write_matrix(dir.path(), &["a"], array![[1.0]].view()).unwrap_err().to_string();
    assert!(msg.contains("is a directory"), "{msg}");
}

#[test]
fn write_into_read_only_directory_fails_cleanly() {
    use std::os::unix::fs::PermissionsExt;
    let dir = tmp();
    let ro = dir.path().join("ro");
    fs::create_dir(&ro).unwrap();
    fs::set_permissions(&ro, fs::Permissions::from_mode(0o555)).unwrap();
    if OpenOptions::new().write(true).create_new(true).open(ro.join("probe")).is_ok() {
        eprintln!("note: running with privileges that ignore directory permissions; skipping");
        return;
    }
    let p = ro.join("out.csv");
    let msg = write_matrix(&p, &["a"], array![[1.0]].view()).unwrap_err().to_string();
    assert!(msg.contains("permission denied") && msg.contains("out.csv"), "{msg}");
    assert!(check_writable(&p).is_err());
}

#[test]
fn header_width_mismatch_leaves_existing_file_untouched() {
    let dir = tmp();
    let p = dir.path().join("keep.csv");
    write_matrix(&p, &["a", "b"], array![[1.0, 2.0]].view()).unwrap();
    let before = fs::read(&p).unwrap();
    let e = write_matrix(&p, &["a"], array![[1.0, 2.0]].view()).unwrap_err();
    assert!(e.to_string().contains("1 names but the data have 2 columns"), "{e}");
    assert_eq!(fs::read(&p).unwrap(), before);
}

#[test]
fn overwrite_replaces_and_leaves_no_temporary_files() {
    let dir = tmp();
    let p = dir.path().join("o.npy");
    write_matrix(&p, &["a"], array![[1.0], [2.0]].view()).unwrap();
    write_matrix(&p, &["a", "b"], array![[3.0, 4.0]].view()).unwrap();
    assert_eq!(read_matrix(&p).unwrap().data, array![[3.0, 4.0]]);
    check_writable(dir.path().join("other.csv")).unwrap();
    let names: Vec<_> = fs::read_dir(dir.path()).unwrap().map(|e| e.unwrap().file_name()).collect();
    assert_eq!(names, vec![std::ffi::OsString::from("o.npy")]);
}

#[test]
fn format_is_chosen_by_extension() {
    assert_eq!(Format::of(Path::new("a.npy")), Format::Npy);
    assert_eq!(Format::of(Path::new("a.NPY")), Format::Npy);
    assert_eq!(Format::of(Path::new("a.csv.bz2")), Format::CsvBz2);
    assert_eq!(Format::of(Path::new("a.csv")), Format::Csv);
    assert_eq!(Format::of(Path::new("a")), Format::Csv);
    assert_eq!(default_header("data", 2), ["data_1", "data_2"]);
}
