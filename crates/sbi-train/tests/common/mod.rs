//! Helpers shared by the integration tests.

use sbi_nn::DeviceChoice;
use sbi_nn::burn::tensor::Device;

/// The first CPU backend compiled in (flex, else ndarray): the statistical
/// tests train on it whatever GPU backends the build also has.
pub fn device() -> Device {
    DeviceChoice::available_cpu().first().expect("a CPU device").device().unwrap()
}
