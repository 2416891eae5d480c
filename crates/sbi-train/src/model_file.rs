//! The model file: one file holding a trained estimator's Burn record and its
//! metadata (method, configs, dimensions, standardisation, task, crate version).
//!
//! Layout (little-endian):
//!
//! | bytes | content |
//! |---|---|
//! | 8 | magic `SBIRSMDL` |
//! | 4 | format version (u32) |
//! | 8 | metadata length m (u64) |
//! | m | metadata, JSON ([`ModelMeta`]) |
//! | 8 | record length r (u64) |
//! | r | Burn record (burnpack bytes of the module's parameters) |
//! | 4 | CRC-32 of everything before it |
//!
//! Loading checks each piece and fails with [`TrainError::ModelFile`] naming
//! the problem: not a model file, a truncated or corrupted file (lengths,
//! checksum), another format version, an incompatible crate version, another
//! method or other dimensions than expected.

use std::io::Write;
use std::path::Path;

use serde::{Deserialize, Serialize};

use crate::{Method, Standardizer, TrainError, TrainReport};

/// The file's magic bytes.
pub const MAGIC: &[u8; 8] = b"SBIRSMDL";
/// The current format version.
pub const FORMAT_VERSION: u32 = 1;
/// The version of this crate, written into every file.
pub const CRATE_VERSION: &str = env!("CARGO_PKG_VERSION");

/// Everything about a trained estimator except its weights.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq)]
pub struct ModelMeta {
    /// Format version ([`FORMAT_VERSION`] when written).
    pub format_version: u32,
    /// The `sbi-train` version that wrote the file.
    pub crate_version: String,
    /// The estimation method.
    pub method: Method,
    /// Parameter dimension.
    pub d_theta: usize,
    /// Data dimension.
    pub d_x: usize,
    /// The sbibm task the model was trained on, if any.
    pub task: Option<String>,
    /// The network configuration (the method's Burn config, as JSON).
    pub model_config: serde_json::Value,
    /// The training configuration, as JSON.
    pub train_config: serde_json::Value,
    /// Standardisation of θ.
    pub theta_std: Standardizer,
    /// Standardisation of x.
    pub x_std: Standardizer,
    /// How training went.
    pub report: Option<TrainReport>,
}

impl ModelMeta {
    /// Checks the dimensions and standardisers against each other.
    pub fn validate(&self) -> Result<(), TrainError> {
        if self.d_theta == 0 || self.d_x == 0 {
            return Err(TrainError::InvalidData("model dimensions must be positive".to_string()));
        }
        self.theta_std.validate(self.d_theta, "theta")?;
        self.x_std.validate(self.d_x, "x")
    }
}

/// Writes `meta` and `record` (burnpack bytes) to `path` atomically (a
/// temporary file in the same folder, then a rename).
pub fn write(path: &Path, meta: &ModelMeta, record: &[u8]) -> Result<(), TrainError> {
    let io = |source| TrainError::Io { path: path.display().to_string(), source };
    let meta_json = serde_json::to_vec(meta).expect("metadata serialises");
    let mut bytes = Vec::with_capacity(36 + meta_json.len() + record.len());
    bytes.extend_from_slice(MAGIC);
    bytes.extend_from_slice(&FORMAT_VERSION.to_le_bytes());
    bytes.extend_from_slice(&(meta_json.len() as u64).to_le_bytes());
    bytes.extend_from_slice(&meta_json);
    bytes.extend_from_slice(&(record.len() as u64).to_le_bytes());
    bytes.extend_from_slice(record);
    let crc = crc32fast::hash(&bytes);
    bytes.extend_from_slice(&crc.to_le_bytes());
    let dir = path.parent().filter(|p| !p.as_os_str().is_empty()).unwrap_or(Path::new("."));
    let name = path.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default();
    let tmp = dir.join(format!(".{name}.tmp{}", std::process::id()));
    let result = (|| {
        let mut f = std::fs::File::create(&tmp)?;
        f.write_all(&bytes)?;
        f.sync_all()?;
        std::fs::rename(&tmp, path)
    })();
    if result.is_err() {
        let _ = std::fs::remove_file(&tmp);
    }
    result.map_err(io)
}

/// Reads a model file: its metadata and the record bytes.
pub fn read(path: &Path) -> Result<(ModelMeta, Vec<u8>), TrainError> {
    let bytes =
        std::fs::read(path).map_err(|source| TrainError::Io { path: path.display().to_string(), source })?;
    parse(&bytes).map_err(|reason| TrainError::model_file(path, reason))
}

fn parse(bytes: &[u8]) -> Result<(ModelMeta, Vec<u8>), String> {
    if bytes.len() < 8 || &bytes[..8] != MAGIC {
        return Err("not an sbi-rs model file (bad magic bytes)".to_string());
    }
    let truncated = || format!("truncated or corrupted ({} bytes)", bytes.len());
    let u32_at = |at: usize| -> Result<u32, String> {
        bytes
            .get(at..at + 4)
            .map(|b| u32::from_le_bytes(b.try_into().expect("4 bytes")))
            .ok_or_else(truncated)
    };
    let u64_at = |at: usize| -> Result<usize, String> {
        bytes
            .get(at..at + 8)
            .map(|b| u64::from_le_bytes(b.try_into().expect("8 bytes")) as usize)
            .ok_or_else(truncated)
    };
    let version = u32_at(8)?;
    if version != FORMAT_VERSION {
        return Err(format!("format version {version}, but this build reads version {FORMAT_VERSION}"));
    }
    let meta_len = u64_at(12)?;
    let meta_end = 20usize.checked_add(meta_len).filter(|e| *e <= bytes.len()).ok_or_else(truncated)?;
    let record_len = u64_at(meta_end)?;
    let record_start = meta_end + 8;
    let record_end =
        record_start.checked_add(record_len).filter(|e| *e <= bytes.len()).ok_or_else(truncated)?;
    if bytes.len() != record_end + 4 {
        return Err(truncated());
    }
    let stored = u32_at(record_end)?;
    if crc32fast::hash(&bytes[..record_end]) != stored {
        return Err("checksum mismatch: the file is corrupted".to_string());
    }
    let meta: ModelMeta = serde_json::from_slice(&bytes[20..meta_end])
        .map_err(|e| format!("unreadable metadata ({e}); written by an incompatible version?"))?;
    if !compatible(&meta.crate_version) {
        return Err(format!(
            "written by sbi-train {}, which is incompatible with this build ({CRATE_VERSION})",
            meta.crate_version
        ));
    }
    meta.validate().map_err(|e| e.to_string())?;
    Ok((meta, bytes[record_start..record_end].to_vec()))
}

/// Same major version, and for 0.x the same minor version (semver).
fn compatible(version: &str) -> bool {
    let parts = |v: &str| -> Vec<u64> { v.split('.').take(2).filter_map(|p| p.parse().ok()).collect() };
    let (a, b) = (parts(version), parts(CRATE_VERSION));
    a.len() == 2 && b.len() == 2 && a[0] == b[0] && (a[0] != 0 || a[1] == b[1])
}

/// Checks that a loaded file holds `method` with the given dimensions (when given).
pub fn expect(
    meta: &ModelMeta,
    path: &Path,
    method: Method,
    dims: Option<(usize, usize)>,
) -> Result<(), TrainError> {
    if meta.method != method {
        return Err(TrainError::model_file(
            path,
            format!("holds a '{}' model, expected '{}'", meta.method, method),
        ));
    }
    if let Some((dt, dx)) = dims
        && (meta.d_theta, meta.d_x) != (dt, dx)
    {
        return Err(TrainError::model_file(
            path,
            format!("has dimensions (d_theta {}, d_x {}), expected ({dt}, {dx})", meta.d_theta, meta.d_x),
        ));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn meta() -> ModelMeta {
        ModelMeta {
            format_version: FORMAT_VERSION,
            crate_version: CRATE_VERSION.to_string(),
            method: Method::CpVae,
            d_theta: 2,
            d_x: 3,
            task: Some("two_moons".to_string()),
            model_config: serde_json::json!({"latent_dim": 4}),
            train_config: serde_json::json!({}),
            theta_std: Standardizer::identity(2),
            x_std: Standardizer::identity(3),
            report: None,
        }
    }

    #[test]
    fn round_trip_and_every_corruption_is_named() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("m.sbi");
        write(&path, &meta(), b"weights").unwrap();
        let (m, rec) = read(&path).unwrap();
        assert_eq!((m, rec), (meta(), b"weights".to_vec()));
        let good = std::fs::read(&path).unwrap();

        let check = |bytes: &[u8], want: &str| {
            std::fs::write(&path, bytes).unwrap();
            let e = read(&path).unwrap_err().to_string();
            assert!(e.contains(want), "{e} should mention {want}");
            assert!(e.contains("m.sbi"), "{e} should name the file");
        };
        check(&good[..good.len() - 10], "truncated");
        check(&good[..5], "magic");
        check(b"", "magic");
        let mut flipped = good.clone();
        flipped[30] ^= 0x40;
        check(&flipped, "checksum");
        let mut v2 = good.clone();
        v2[8] = 2;
        check(&v2, "format version 2");
        let mut old = meta();
        old.crate_version = "0.0.9".to_string();
        write(&path, &old, b"w").unwrap();
        let e = read(&path).unwrap_err().to_string();
        assert!(e.contains("incompatible"), "{e}");
        let mut bad_dims = meta();
        bad_dims.d_x = 5;
        write(&path, &bad_dims, b"w").unwrap();
        assert!(read(&path).is_err());
        assert!(read(&dir.path().join("missing.sbi")).unwrap_err().to_string().contains("missing.sbi"));
    }

    #[test]
    fn method_and_dimension_mismatches_are_errors() {
        let p = Path::new("m.sbi");
        assert!(expect(&meta(), p, Method::CpVae, Some((2, 3))).is_ok());
        let e = expect(&meta(), p, Method::UpVae, None).unwrap_err().to_string();
        assert!(e.contains("cp-vae") && e.contains("up-vae"), "{e}");
        assert!(expect(&meta(), p, Method::CpVae, Some((2, 4))).is_err());
    }

    #[test]
    fn version_compatibility_follows_semver() {
        assert!(compatible(CRATE_VERSION));
        assert!(!compatible("garbage"));
    }
}
