//! wcfscope-core: everything that is not drawing pixels.
//!
//! Data flows one way through the pipeline stages, one module each:
//! `capture` (packets) → `net` (TCP streams) → `transport` (HTTP messages) → `soap`
//! (envelopes on the `xml` tree) → `wssec`/`session` (decrypted, verified; using `xmlsec`
//! and `keys`) → `analyzer` (drives the stages) → `model` / `report` (what front ends read).

pub mod analyzer;
pub mod capture;
pub mod keys;
pub mod live;
pub mod model;
pub mod net;
pub mod report;
pub mod session;
pub mod soap;
pub mod transport;
pub mod wssec;
pub mod xml;
pub mod xmlsec;

#[cfg(feature = "synth")]
pub mod synth;
