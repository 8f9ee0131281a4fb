//! Writing captured packets to disk as they arrive: pcapng (SHB, one IDB per link type,
//! EPB per packet) or classic pcap. Every packet is written and flushed as a whole block,
//! so an abrupt stop loses nothing already captured (at worst the block being written).

use crate::capture::{LinkType, Packet};
use std::io::{self, Write};

/// Output file format.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SaveFormat {
    Pcapng,
    Pcap,
}

impl SaveFormat {
    /// Classic pcap when the name ends in `.pcap`, pcapng otherwise (the CLI contract).
    pub fn for_path(path: &std::path::Path) -> SaveFormat {
        match path.extension().and_then(|e| e.to_str()) {
            Some(e) if e.eq_ignore_ascii_case("pcap") => SaveFormat::Pcap,
            _ => SaveFormat::Pcapng,
        }
    }
}

/// LINKTYPE_* number for a link type (the pcap registry).
pub fn linktype_number(link: LinkType) -> u32 {
    match link {
        LinkType::Ethernet => 1,
        LinkType::LinuxSll => 113,
        LinkType::LinuxSll2 => 276,
        LinkType::Null => 0,
        LinkType::RawIp => 101,
        LinkType::Ipv4 => 228,
        LinkType::Ipv6 => 229,
        LinkType::Other(n) => n,
    }
}

/// Writes packets block by block.
pub struct CaptureWriter<W: Write> {
    out: W,
    format: SaveFormat,
    /// pcapng: the link type of each interface written so far (index = interface id).
    interfaces: Vec<LinkType>,
    /// Classic pcap: the file's single link type, once the header is written.
    pcap_link: Option<LinkType>,
    snaplen: u32,
}

impl<W: Write> CaptureWriter<W> {
    pub fn new(out: W, format: SaveFormat, snaplen: u32) -> io::Result<CaptureWriter<W>> {
        let mut w = CaptureWriter {
            out,
            format,
            interfaces: Vec::new(),
            pcap_link: None,
            snaplen,
        };
        if format == SaveFormat::Pcapng {
            w.write_shb()?;
        }
        Ok(w)
    }

    /// Appends one packet and flushes it.
    pub fn write_packet(&mut self, p: &Packet) -> io::Result<()> {
        match self.format {
            SaveFormat::Pcapng => self.write_epb(p)?,
            SaveFormat::Pcap => self.write_pcap_record(p)?,
        }
        self.out.flush()
    }

    pub fn into_inner(self) -> W {
        self.out
    }

    fn write_shb(&mut self) -> io::Result<()> {
        let mut body = Vec::new();
        body.extend_from_slice(&0x1a2b_3c4du32.to_le_bytes());
        body.extend_from_slice(&1u16.to_le_bytes());
        body.extend_from_slice(&0u16.to_le_bytes());
        body.extend_from_slice(&(-1i64).to_le_bytes()); // section length unknown
        push_option(&mut body, 4, b"wcfscope live capture"); // shb_userappl
        push_end_of_options(&mut body);
        self.write_block(0x0a0d_0d0a, &body)
    }

    fn interface_for(&mut self, link: LinkType) -> io::Result<u32> {
        if let Some(i) = self.interfaces.iter().position(|l| *l == link) {
            return Ok(i as u32);
        }
        let mut body = Vec::new();
        body.extend_from_slice(&(linktype_number(link) as u16).to_le_bytes());
        body.extend_from_slice(&0u16.to_le_bytes());
        body.extend_from_slice(&self.snaplen.to_le_bytes());
        push_option(&mut body, 9, &[9]); // if_tsresol: 10^-9, nanoseconds
        push_end_of_options(&mut body);
        self.write_block(1, &body)?;
        self.interfaces.push(link);
        Ok(self.interfaces.len() as u32 - 1)
    }

    fn write_epb(&mut self, p: &Packet) -> io::Result<()> {
        let iface = self.interface_for(p.link)?;
        let ts = p.ts.map(|t| t.as_nanos().max(0) as u64).unwrap_or(0);
        let mut body = Vec::with_capacity(p.data.len() + 32);
        body.extend_from_slice(&iface.to_le_bytes());
        body.extend_from_slice(&((ts >> 32) as u32).to_le_bytes());
        body.extend_from_slice(&(ts as u32).to_le_bytes());
        body.extend_from_slice(&(p.data.len() as u32).to_le_bytes());
        body.extend_from_slice(&p.orig_len.max(p.data.len() as u32).to_le_bytes());
        body.extend_from_slice(&p.data);
        pad4(&mut body);
        for c in &p.comments {
            push_option(&mut body, 1, c.as_bytes());
        }
        if !p.comments.is_empty() {
            push_end_of_options(&mut body);
        }
        self.write_block(6, &body)
    }

    fn write_pcap_record(&mut self, p: &Packet) -> io::Result<()> {
        match self.pcap_link {
            None => {
                // Nanosecond-resolution classic pcap (magic a1b23c4d).
                let mut h = Vec::with_capacity(24);
                h.extend_from_slice(&0xa1b2_3c4du32.to_le_bytes());
                h.extend_from_slice(&2u16.to_le_bytes());
                h.extend_from_slice(&4u16.to_le_bytes());
                h.extend_from_slice(&0i32.to_le_bytes());
                h.extend_from_slice(&0u32.to_le_bytes());
                h.extend_from_slice(&self.snaplen.to_le_bytes());
                h.extend_from_slice(&linktype_number(p.link).to_le_bytes());
                self.out.write_all(&h)?;
                self.pcap_link = Some(p.link);
            }
            Some(link) if link != p.link => {
                return Err(io::Error::new(
                    io::ErrorKind::InvalidInput,
                    "classic pcap holds one link type; save as .pcapng to keep packets of several interfaces",
                ));
            }
            Some(_) => {}
        }
        let ts = p.ts.map(|t| t.as_nanos().max(0)).unwrap_or(0);
        let mut rec = Vec::with_capacity(16 + p.data.len());
        rec.extend_from_slice(&((ts / 1_000_000_000) as u32).to_le_bytes());
        rec.extend_from_slice(&((ts % 1_000_000_000) as u32).to_le_bytes());
        rec.extend_from_slice(&(p.data.len() as u32).to_le_bytes());
        rec.extend_from_slice(&p.orig_len.max(p.data.len() as u32).to_le_bytes());
        rec.extend_from_slice(&p.data);
        self.out.write_all(&rec)
    }

    fn write_block(&mut self, block_type: u32, body: &[u8]) -> io::Result<()> {
        let total = (12 + body.len()) as u32;
        let mut block = Vec::with_capacity(total as usize);
        block.extend_from_slice(&block_type.to_le_bytes());
        block.extend_from_slice(&total.to_le_bytes());
        block.extend_from_slice(body);
        block.extend_from_slice(&total.to_le_bytes());
        self.out.write_all(&block)
    }
}

fn pad4(v: &mut Vec<u8>) {
    while !v.len().is_multiple_of(4) {
        v.push(0);
    }
}

fn push_option(v: &mut Vec<u8>, code: u16, value: &[u8]) {
    let len = value.len().min(u16::MAX as usize);
    v.extend_from_slice(&code.to_le_bytes());
    v.extend_from_slice(&(len as u16).to_le_bytes());
    v.extend_from_slice(&value[..len]);
    pad4(v);
}

fn push_end_of_options(v: &mut Vec<u8>) {
    v.extend_from_slice(&[0, 0, 0, 0]);
}
