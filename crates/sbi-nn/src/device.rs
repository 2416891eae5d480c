//! Run-time device selection (the `--device` flag).
//!
//! Burn 0.22 has no backend type parameter: every tensor and module carries a
//! run-time [`Device`], and each backend is a cargo feature that adds a
//! `Device` constructor. This file maps a device *name* to a `Device`, failing
//! with a clear error when the backend was not compiled in. See
//! `docs/burn-notes.md`.

use std::fmt;
use std::str::FromStr;

use burn::tensor::Device;

use crate::NnError;

/// A compute backend that can be chosen at run time.
///
/// Which ones are usable depends on the cargo features of `sbi-nn`:
/// `flex` (default, pure-Rust CPU), `ndarray` (CPU, deprecated upstream),
/// `wgpu` (GPU through Vulkan/Metal/DX12) and `cuda` (NVIDIA, untested here).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum DeviceChoice {
    /// Burn's pure-Rust CPU backend (feature `flex`).
    Flex,
    /// Burn's ndarray CPU backend (feature `ndarray`).
    Ndarray,
    /// The default wgpu adapter (feature `wgpu`).
    Wgpu,
    /// CUDA device 0 (feature `cuda`).
    Cuda,
}

impl DeviceChoice {
    /// Every choice, compiled in or not, in the order of [`DeviceChoice::name`].
    pub const ALL: [DeviceChoice; 4] =
        [DeviceChoice::Flex, DeviceChoice::Ndarray, DeviceChoice::Wgpu, DeviceChoice::Cuda];

    /// The name used on the command line (`flex`, `ndarray`, `wgpu`, `cuda`).
    pub fn name(self) -> &'static str {
        match self {
            DeviceChoice::Flex => "flex",
            DeviceChoice::Ndarray => "ndarray",
            DeviceChoice::Wgpu => "wgpu",
            DeviceChoice::Cuda => "cuda",
        }
    }

    /// Whether the backend was compiled into this build.
    pub fn is_compiled(self) -> bool {
        match self {
            DeviceChoice::Flex => cfg!(feature = "flex"),
            DeviceChoice::Ndarray => cfg!(feature = "ndarray"),
            DeviceChoice::Wgpu => cfg!(feature = "wgpu"),
            DeviceChoice::Cuda => cfg!(feature = "cuda"),
        }
    }

    /// The choices compiled into this build.
    pub fn available() -> Vec<DeviceChoice> {
        Self::ALL.into_iter().filter(|c| c.is_compiled()).collect()
    }

    /// Whether the backend computes on the CPU (`flex`, `ndarray`).
    pub fn is_cpu(self) -> bool {
        matches!(self, DeviceChoice::Flex | DeviceChoice::Ndarray)
    }

    /// The CPU backends compiled into this build, flex first: the ones the
    /// backend-generic test suites run on (GPU backends need hardware).
    pub fn available_cpu() -> Vec<DeviceChoice> {
        Self::available().into_iter().filter(|c| c.is_cpu()).collect()
    }

    /// The plain (inference) device. Errors when the backend is not compiled in.
    ///
    /// Creating the device is lazy for the GPU backends: a missing GPU shows up
    /// at the first tensor operation, not here.
    pub fn device(self) -> Result<Device, NnError> {
        match self {
            #[cfg(feature = "flex")]
            DeviceChoice::Flex => Ok(Device::flex()),
            // Deprecated upstream in favour of flex; kept as an alternative CPU backend.
            #[cfg(feature = "ndarray")]
            #[allow(deprecated)]
            DeviceChoice::Ndarray => Ok(Device::ndarray()),
            #[cfg(feature = "wgpu")]
            DeviceChoice::Wgpu => Ok(Device::wgpu(Default::default())),
            #[cfg(feature = "cuda")]
            DeviceChoice::Cuda => Ok(Device::cuda(0)),
            #[allow(unreachable_patterns)]
            other => Err(NnError::Device {
                name: other.name().to_string(),
                reason: format!("sbi-nn was built without the `{}` feature", other.name()),
                available: available_names(),
            }),
        }
    }

    /// The training device: [`DeviceChoice::device`] with autodiff enabled.
    ///
    /// Modules initialised on it have parameters that record gradients.
    pub fn autodiff_device(self) -> Result<Device, NnError> {
        Ok(self.device()?.autodiff())
    }
}

fn available_names() -> String {
    let names: Vec<&str> = DeviceChoice::available().into_iter().map(DeviceChoice::name).collect();
    if names.is_empty() { "none".to_string() } else { names.join(", ") }
}

impl fmt::Display for DeviceChoice {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

impl FromStr for DeviceChoice {
    type Err = NnError;

    /// Parses `flex` (alias `cpu`), `ndarray`, `wgpu` or `cuda` (case-insensitive). Parsing
    /// succeeds for a backend that is not compiled in; [`DeviceChoice::device`]
    /// then reports it.
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let lower = s.trim().to_ascii_lowercase();
        if lower == "cpu" {
            return Ok(DeviceChoice::Flex);
        }
        Self::ALL.into_iter().find(|c| c.name() == lower).ok_or_else(|| NnError::Device {
            name: s.to_string(),
            reason: "unknown device name (expected cpu/flex, ndarray, wgpu or cuda)".to_string(),
            available: available_names(),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_round_trip() {
        for c in DeviceChoice::ALL {
            assert_eq!(c.name().parse::<DeviceChoice>().unwrap(), c);
            assert_eq!(c.to_string().to_uppercase().parse::<DeviceChoice>().unwrap(), c);
        }
    }

    #[test]
    fn unknown_name_is_an_error() {
        assert_eq!("CPU".parse::<DeviceChoice>().unwrap(), DeviceChoice::Flex);
        let err = "tpu".parse::<DeviceChoice>().unwrap_err();
        assert!(err.to_string().contains("tpu"), "{err}");
    }

    #[test]
    fn compiled_devices_construct_and_others_fail() {
        for c in DeviceChoice::ALL {
            match c.device() {
                Ok(d) => {
                    assert!(c.is_compiled());
                    assert!(!d.is_autodiff());
                    assert!(c.autodiff_device().unwrap().is_autodiff());
                }
                Err(e) => {
                    assert!(!c.is_compiled());
                    assert!(e.to_string().contains("feature"), "{e}");
                }
            }
        }
    }

    #[cfg(feature = "flex")]
    #[test]
    fn flex_is_available_by_default() {
        assert!(DeviceChoice::available().contains(&DeviceChoice::Flex));
        assert_eq!(DeviceChoice::available_cpu()[0], DeviceChoice::Flex);
    }

    #[test]
    fn the_cpu_choices_are_flex_and_ndarray_when_compiled() {
        let cpu: Vec<bool> = DeviceChoice::ALL.into_iter().map(DeviceChoice::is_cpu).collect();
        assert_eq!(cpu, [true, true, false, false]);
        let want: Vec<DeviceChoice> =
            DeviceChoice::ALL[..2].iter().copied().filter(|c| c.is_compiled()).collect();
        assert_eq!(DeviceChoice::available_cpu(), want);
    }
}
