//! Live capture: a device source over libpcap (feature `live`) feeding the same
//! [`crate::analyzer::Analyzer`] as file loading, and writers that save what was captured
//! block by block (pcapng, or classic pcap).

pub mod save;
#[cfg(feature = "live")]
pub mod source;

pub use save::{CaptureWriter, SaveFormat};
#[cfg(feature = "live")]
pub use source::{
    check_filter, list_devices, DeviceInfo, LiveCapture, LiveConfig, LiveError, LiveEvent,
};

/// What to tell a user whose platform cannot capture at all (a build without libpcap).
pub const NO_LIVE_SUPPORT: &str = "this build of wcfscope has no live capture (built without the `live` feature); \
     rebuild with default features after installing libpcap (Debian/Ubuntu: libpcap-dev; Fedora: libpcap-devel; \
     macOS: included; Windows: Npcap with its SDK)";
