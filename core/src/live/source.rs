//! A live packet source over libpcap. The handle lives in a worker thread that sends
//! [`LiveEvent`]s over a channel; front ends never touch libpcap themselves.

use crate::capture::{LinkType, Packet};
use crate::model::Timestamp;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc::{self, Receiver};
use std::sync::Arc;
use std::thread::JoinHandle;

/// One capture device as libpcap lists it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DeviceInfo {
    pub name: String,
    pub description: Option<String>,
    /// Addresses as text ("192.0.2.1/24", "fe80::1").
    pub addresses: Vec<String>,
    /// "up", "running", "loopback", "wireless".
    pub flags: Vec<&'static str>,
}

/// How to open a device.
#[derive(Debug, Clone)]
pub struct LiveConfig {
    pub interface: String,
    pub snaplen: i32,
    pub promiscuous: bool,
    /// A BPF filter expression (tcpdump syntax).
    pub filter: Option<String>,
}

impl LiveConfig {
    pub fn new(interface: impl Into<String>) -> LiveConfig {
        LiveConfig {
            interface: interface.into(),
            snaplen: 262_144,
            promiscuous: true,
            filter: None,
        }
    }
}

/// What the worker sends.
#[derive(Debug, Clone, PartialEq)]
pub enum LiveEvent {
    Packet(Packet),
    /// Kernel and interface counters: packets received, dropped by the kernel (buffer full),
    /// dropped by the interface.
    Stats {
        received: u32,
        dropped: u32,
        if_dropped: u32,
    },
    Error(String),
    /// The worker ended (stop requested, or the device went away).
    Stopped,
}

#[derive(Debug, thiserror::Error)]
pub enum LiveError {
    #[error("capturing on {interface} is not permitted: {detail}\n{fix}")]
    Permission {
        interface: String,
        detail: String,
        fix: &'static str,
    },
    #[error("no capture device named {0:?} (see `wcfscope capture --list`)")]
    NoSuchDevice(String),
    #[error("invalid capture filter {filter:?}: {detail}")]
    BadFilter { filter: String, detail: String },
    #[error("cannot capture on {interface}: {detail}")]
    Open { interface: String, detail: String },
    #[error("cannot list capture devices: {0}")]
    List(String),
}

/// The fix for "not permitted", per operating system.
pub fn permission_fix() -> &'static str {
    if cfg!(target_os = "linux") {
        "Run as root, or grant the binary the capture capabilities once: \
         sudo setcap cap_net_raw,cap_net_admin=eip $(command -v wcfscope)"
    } else if cfg!(target_os = "macos") {
        "Give your user access to /dev/bpf*: install Wireshark's ChmodBPF (or run with sudo)."
    } else if cfg!(target_os = "windows") {
        "Install Npcap (https://npcap.com) and, if it was installed with \"restrict to administrators\", \
         run wcfscope as administrator."
    } else {
        "Run with the privileges your system needs to open BPF devices."
    }
}

/// Lists the devices libpcap can open.
pub fn list_devices() -> Result<Vec<DeviceInfo>, LiveError> {
    let devices = pcap::Device::list().map_err(|e| LiveError::List(e.to_string()))?;
    Ok(devices
        .into_iter()
        .map(|d| {
            let mut flags = Vec::new();
            if d.flags.is_up() {
                flags.push("up");
            }
            if d.flags.is_running() {
                flags.push("running");
            }
            if d.flags.is_loopback() {
                flags.push("loopback");
            }
            if d.flags.is_wireless() {
                flags.push("wireless");
            }
            let addresses = d
                .addresses
                .iter()
                .map(|a| match a.netmask {
                    Some(std::net::IpAddr::V4(m)) => {
                        format!("{}/{}", a.addr, u32::from(m).count_ones())
                    }
                    _ => a.addr.to_string(),
                })
                .collect();
            DeviceInfo {
                name: d.name,
                description: d.desc,
                addresses,
                flags,
            }
        })
        .collect())
}

/// Checks a BPF expression with libpcap's own compiler (for Ethernet framing), before a
/// capture starts.
pub fn check_filter(filter: &str) -> Result<(), LiveError> {
    let dead = pcap::Capture::dead(pcap::Linktype::ETHERNET).map_err(|e| LiveError::BadFilter {
        filter: filter.into(),
        detail: e.to_string(),
    })?;
    dead.compile(filter, true)
        .map(|_| ())
        .map_err(|e| LiveError::BadFilter {
            filter: filter.into(),
            detail: e.to_string(),
        })
}

/// A running capture. Dropping it stops the worker.
pub struct LiveCapture {
    pub events: Receiver<LiveEvent>,
    stop: Arc<AtomicBool>,
    worker: Option<JoinHandle<()>>,
    pub link: LinkType,
}

impl LiveCapture {
    /// Opens the device (so permission and filter errors come back here, synchronously)
    /// and starts the worker thread.
    pub fn start(config: &LiveConfig) -> Result<LiveCapture, LiveError> {
        let device = pcap::Device::list()
            .map_err(|e| LiveError::List(e.to_string()))?
            .into_iter()
            .find(|d| d.name == config.interface)
            .ok_or_else(|| LiveError::NoSuchDevice(config.interface.clone()))?;
        let inactive = pcap::Capture::from_device(device)
            .map_err(|e| open_error(&config.interface, e))?
            .snaplen(config.snaplen)
            .promisc(config.promiscuous)
            .immediate_mode(true)
            // Wake up regularly so a stop request is seen even on a silent interface.
            .timeout(100);
        // Non-blocking reads: on Linux a blocking read may ignore the timeout when no
        // packet arrives, and a stop request must be honoured on a silent interface.
        let mut cap = inactive
            .open()
            .and_then(|c| c.setnonblock())
            .map_err(|e| open_error(&config.interface, e))?;
        if let Some(f) = config.filter.as_deref().filter(|f| !f.trim().is_empty()) {
            cap.filter(f, true).map_err(|e| LiveError::BadFilter {
                filter: f.into(),
                detail: e.to_string(),
            })?;
        }
        let link = link_type(cap.get_datalink().0);
        let (tx, rx) = mpsc::channel();
        let stop = Arc::new(AtomicBool::new(false));
        let stop_flag = stop.clone();
        let worker = std::thread::Builder::new()
            .name("wcfscope-capture".into())
            .spawn(move || {
                let mut number = 0u64;
                let mut last_stats = std::time::Instant::now();
                while !stop_flag.load(Ordering::Relaxed) {
                    match cap.next_packet() {
                        Ok(p) => {
                            number += 1;
                            // time_t and suseconds_t differ in width across platforms.
                            #[allow(clippy::useless_conversion)]
                            let ts = Timestamp::from_secs_nanos(
                                i64::from(p.header.ts.tv_sec),
                                (p.header.ts.tv_usec as u32).saturating_mul(1000),
                            );
                            let packet = Packet {
                                number,
                                ts: Some(ts),
                                link,
                                interface: 0,
                                data: p.data.to_vec(),
                                orig_len: p.header.len,
                                comments: Vec::new(),
                            };
                            if tx.send(LiveEvent::Packet(packet)).is_err() {
                                break;
                            }
                        }
                        Err(pcap::Error::TimeoutExpired) => {
                            std::thread::sleep(std::time::Duration::from_millis(5))
                        }
                        Err(e) => {
                            let _ = tx.send(LiveEvent::Error(e.to_string()));
                            break;
                        }
                    }
                    if last_stats.elapsed().as_millis() >= 1000 {
                        last_stats = std::time::Instant::now();
                        if let Ok(s) = cap.stats() {
                            let _ = tx.send(LiveEvent::Stats {
                                received: s.received,
                                dropped: s.dropped,
                                if_dropped: s.if_dropped,
                            });
                        }
                    }
                }
                if let Ok(s) = cap.stats() {
                    let _ = tx.send(LiveEvent::Stats {
                        received: s.received,
                        dropped: s.dropped,
                        if_dropped: s.if_dropped,
                    });
                }
                let _ = tx.send(LiveEvent::Stopped);
            })
            .map_err(|e| LiveError::Open {
                interface: config.interface.clone(),
                detail: e.to_string(),
            })?;
        Ok(LiveCapture {
            events: rx,
            stop,
            worker: Some(worker),
            link,
        })
    }

    /// Asks the worker to stop; it sends `Stats` and `Stopped` and ends within ~100 ms.
    pub fn request_stop(&self) {
        self.stop.store(true, Ordering::Relaxed);
    }

    /// Stops and waits for the worker.
    pub fn stop(mut self) {
        self.request_stop();
        if let Some(w) = self.worker.take() {
            let _ = w.join();
        }
    }
}

impl Drop for LiveCapture {
    fn drop(&mut self) {
        self.request_stop();
        if let Some(w) = self.worker.take() {
            let _ = w.join();
        }
    }
}

fn open_error(interface: &str, e: pcap::Error) -> LiveError {
    let detail = e.to_string();
    let lower = detail.to_ascii_lowercase();
    if lower.contains("permission")
        || lower.contains("not permitted")
        || lower.contains("access is denied")
    {
        LiveError::Permission {
            interface: interface.into(),
            detail,
            fix: permission_fix(),
        }
    } else if lower.contains("no such device") {
        LiveError::NoSuchDevice(interface.into())
    } else {
        LiveError::Open {
            interface: interface.into(),
            detail,
        }
    }
}

fn link_type(dlt: i32) -> LinkType {
    match dlt {
        1 => LinkType::Ethernet,
        113 => LinkType::LinuxSll,
        276 => LinkType::LinuxSll2,
        0 | 108 => LinkType::Null,
        12 | 14 | 101 => LinkType::RawIp,
        228 => LinkType::Ipv4,
        229 => LinkType::Ipv6,
        n => LinkType::Other(n as u32),
    }
}
