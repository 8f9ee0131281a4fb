//! Link-layer headers: strips them and finds the IP packet inside.
//!
//! The headers are fixed-layout and tiny, so they are read directly here; the IP and TCP
//! headers after them go through etherparse.

use crate::capture::LinkType;

/// What a frame carries at the network layer.
#[derive(Debug, PartialEq)]
pub(crate) enum L3<'a> {
    /// An IPv4 or IPv6 packet (the version nibble says which).
    Ip(&'a [u8]),
    /// ARP, LLC, other protocols: counted, not decoded.
    NotIp,
    /// The link header itself is cut short or damaged.
    Malformed(String),
}

const ETHERTYPE_IPV4: u16 = 0x0800;
const ETHERTYPE_IPV6: u16 = 0x86DD;
/// 802.1Q, 802.1ad (QinQ) and the pre-standard QinQ tag types.
const VLAN_TAGS: [u16; 4] = [0x8100, 0x88a8, 0x9100, 0x9200];
/// More stacked VLAN tags than this is not a real frame.
const MAX_VLAN_TAGS: usize = 8;

fn be16(b: &[u8], at: usize) -> Option<u16> {
    Some(u16::from_be_bytes([*b.get(at)?, *b.get(at + 1)?]))
}

fn by_ethertype(t: u16, payload: &[u8]) -> L3<'_> {
    match t {
        ETHERTYPE_IPV4 | ETHERTYPE_IPV6 => L3::Ip(payload),
        _ => L3::NotIp,
    }
}

fn ethernet(b: &[u8]) -> L3<'_> {
    let Some(mut t) = be16(b, 12) else {
        return L3::Malformed(format!(
            "Ethernet header needs 14 bytes, frame has {}",
            b.len()
        ));
    };
    let mut at = 14;
    let mut tags = 0;
    while VLAN_TAGS.contains(&t) {
        tags += 1;
        if tags > MAX_VLAN_TAGS {
            return L3::Malformed(format!("more than {MAX_VLAN_TAGS} stacked VLAN tags"));
        }
        let Some(inner) = be16(b, at + 2) else {
            return L3::Malformed(format!("VLAN tag at byte {at} cut short"));
        };
        t = inner;
        at += 4;
    }
    by_ethertype(t, b.get(at..).unwrap_or(&[]))
}

fn null_loopback(b: &[u8]) -> L3<'_> {
    let Some(fam) = b.get(0..4) else {
        return L3::Malformed(format!(
            "loopback header needs 4 bytes, frame has {}",
            b.len()
        ));
    };
    // The family is in the capturing host's byte order for NULL, big-endian for LOOP;
    // either reading naming a known family decides.
    let le = u32::from_le_bytes([fam[0], fam[1], fam[2], fam[3]]);
    let be = u32::from_be_bytes([fam[0], fam[1], fam[2], fam[3]]);
    let known = |f: u32| matches!(f, 2 | 24 | 28 | 30);
    if known(le) || known(be) {
        L3::Ip(&b[4..])
    } else {
        L3::NotIp
    }
}

/// Finds the IP packet in a frame of the given link type.
pub(crate) fn network_layer(link: LinkType, b: &[u8]) -> L3<'_> {
    match link {
        LinkType::Ethernet => ethernet(b),
        LinkType::LinuxSll => match be16(b, 14) {
            Some(t) if b.len() >= 16 => by_ethertype(t, &b[16..]),
            _ => L3::Malformed(format!(
                "Linux SLL header needs 16 bytes, frame has {}",
                b.len()
            )),
        },
        LinkType::LinuxSll2 => match be16(b, 0) {
            Some(t) if b.len() >= 20 => by_ethertype(t, &b[20..]),
            _ => L3::Malformed(format!(
                "Linux SLL2 header needs 20 bytes, frame has {}",
                b.len()
            )),
        },
        LinkType::Null => null_loopback(b),
        LinkType::RawIp | LinkType::Ipv4 | LinkType::Ipv6 => match b.first().map(|v| v >> 4) {
            Some(4 | 6) => L3::Ip(b),
            Some(_) => L3::NotIp,
            None => L3::Malformed("empty raw IP frame".into()),
        },
        LinkType::Other(code) => L3::Malformed(format!("link type {code} is not supported")),
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
mod tests {
    use super::*;

    const IP: [u8; 4] = [0x45, 0, 0, 20];

    #[test]
    fn ethernet_plain_vlan_and_qinq() {
        let mut f = vec![0u8; 12];
        f.extend([0x08, 0x00]);
        f.extend(IP);
        assert_eq!(network_layer(LinkType::Ethernet, &f), L3::Ip(&IP));
        let mut q = vec![0u8; 12];
        q.extend([0x88, 0xa8, 0, 10, 0x81, 0x00, 0, 20, 0x86, 0xdd]);
        q.extend(IP);
        assert_eq!(network_layer(LinkType::Ethernet, &q), L3::Ip(&IP));
        let mut o = vec![0u8; 12];
        o.extend([0x91, 0x00, 0, 10, 0x08, 0x00]);
        o.extend(IP);
        assert_eq!(network_layer(LinkType::Ethernet, &o), L3::Ip(&IP));
        let mut arp = vec![0u8; 12];
        arp.extend([0x08, 0x06, 1, 2]);
        assert_eq!(network_layer(LinkType::Ethernet, &arp), L3::NotIp);
        assert!(matches!(
            network_layer(LinkType::Ethernet, &[0; 10]),
            L3::Malformed(_)
        ));
        let mut cut = vec![0u8; 12];
        cut.extend([0x81, 0x00, 0]);
        assert!(matches!(
            network_layer(LinkType::Ethernet, &cut),
            L3::Malformed(_)
        ));
    }

    #[test]
    fn sll_sll2_null_raw() {
        let mut sll = vec![0u8; 14];
        sll.extend([0x08, 0x00]);
        sll.extend(IP);
        assert_eq!(network_layer(LinkType::LinuxSll, &sll), L3::Ip(&IP));
        let mut sll2 = vec![0x86, 0xdd];
        sll2.extend([0u8; 18]);
        sll2.extend(IP);
        assert_eq!(network_layer(LinkType::LinuxSll2, &sll2), L3::Ip(&IP));
        for fam in [
            [2, 0, 0, 0],
            [0, 0, 0, 2],
            [30, 0, 0, 0],
            [0, 0, 0, 24],
            [0, 0, 0, 28],
        ] {
            let mut n = fam.to_vec();
            n.extend(IP);
            assert_eq!(network_layer(LinkType::Null, &n), L3::Ip(&IP));
        }
        assert_eq!(network_layer(LinkType::Null, &[7, 0, 0, 0, 1]), L3::NotIp);
        assert_eq!(network_layer(LinkType::RawIp, &IP), L3::Ip(&IP));
        assert_eq!(network_layer(LinkType::RawIp, &[0x10]), L3::NotIp);
    }
}
