//! Reports of captures recorded from real traffic by independent tools.
//!
//! `captures/soap-loopback-v6.pcapng` was made by `scripts/samples/soap_loopback_v6.py`:
//! tshark on loopback recording curl and a raw-socket client talking to python's
//! http.server over IPv6 on port 18443 (see the script for what is on the wire: WS-SC
//! Feb2005 RST/SCT answered chunked with trailers, a 100-continue SOAP 1.1 call with
//! WS-Addressing 2004/08 answered deflate-encoded, a SOAP 1.2 call with the action only in
//! the media type answered by a fault, two pipelined requests including a WS-Trust 1.3
//! Cancel answered gzip + chunked, and a non-SOAP GET).
//!
//! Copies of the recorded captures made by `editcap` (classic pcap in micro- and
//! nanoseconds; Ethernet chopped off and the link type set to raw IP) give the same
//! messages and streams as the originals.

use std::sync::atomic::AtomicBool;

use wcfscope_core::analyzer::{analyze_files, Options};
use wcfscope_core::model::{CaptureFormat, MessageDirection, MessageKind, SoapVersion};
use wcfscope_e2e::repo_path;

const FEB: &str = "http://schemas.xmlsoap.org/ws/2005/02/trust";
const V13: &str = "http://docs.oasis-open.org/ws-sx/ws-trust/200512";
const APP: &str = "http://tempuri.org/IInventory";

#[test]
fn ipv6_loopback_recording_by_curl_and_http_server() {
    let cancel = AtomicBool::new(false);
    let a = analyze_files(
        &[repo_path("captures/soap-loopback-v6.pcapng")],
        &Options::default(),
        &mut |_| {},
        &cancel,
    )
    .unwrap();
    let r = &a.report;
    assert_eq!(r.capture.format, CaptureFormat::Pcapng);
    assert_eq!(r.capture.packets, 66);
    assert_eq!(r.streams.len(), 3);
    for s in &r.streams {
        assert!(s.client.starts_with("[::1]:"), "{s:?}");
        assert_eq!(s.server, "[::1]:18443");
        assert!(s.gaps.is_empty());
    }
    use MessageDirection::{Request as Q, Response as P};
    use MessageKind::*;
    let expected: [(
        usize,
        MessageDirection,
        MessageKind,
        Option<SoapVersion>,
        Option<String>,
        usize,
    ); 10] = [
        (
            0,
            Q,
            SctIssue,
            Some(SoapVersion::Soap12),
            Some(format!("{FEB}/RST/SCT")),
            1,
        ),
        (
            0,
            P,
            SctIssueResponse,
            Some(SoapVersion::Soap12),
            Some(format!("{FEB}/RSTR/SCT")),
            0,
        ),
        (
            0,
            Q,
            Application,
            Some(SoapVersion::Soap11),
            Some(format!("{APP}/Update")),
            3,
        ),
        (
            0,
            P,
            Application,
            Some(SoapVersion::Soap11),
            Some(format!("{APP}/UpdateResponse")),
            2,
        ),
        // The action comes from the media type's action parameter only.
        (
            0,
            Q,
            Application,
            Some(SoapVersion::Soap12),
            Some(format!("{APP}/Query")),
            5,
        ),
        (0, P, Fault, Some(SoapVersion::Soap12), None, 4),
        // Pipelined: both requests, then both responses, paired by RelatesTo.
        (
            1,
            Q,
            SctCancel,
            Some(SoapVersion::Soap12),
            Some(format!("{V13}/RST/SCT/Cancel")),
            8,
        ),
        (
            1,
            Q,
            Application,
            Some(SoapVersion::Soap12),
            Some(format!("{APP}/Ping")),
            9,
        ),
        (
            1,
            P,
            SctCancelResponse,
            Some(SoapVersion::Soap12),
            Some(format!("{V13}/RSTR/SCT/Cancel")),
            6,
        ),
        (
            1,
            P,
            Application,
            Some(SoapVersion::Soap12),
            Some(format!("{APP}/PingResponse")),
            7,
        ),
    ];
    assert_eq!(r.messages.len(), expected.len(), "{:#?}", r.messages);
    for (m, (stream, dir, kind, soap, action, pair)) in r.messages.iter().zip(expected) {
        let i = m.index;
        assert_eq!(m.stream, Some(stream), "message {i}");
        assert_eq!(m.direction, dir, "message {i}");
        assert_eq!(m.kind, kind, "message {i}");
        assert_eq!(m.soap_version, soap, "message {i}");
        assert_eq!(m.action, action, "message {i}");
        assert_eq!(m.paired_with, Some(pair), "message {i}");
        assert!(m.complete, "message {i}");
    }
    // WS-Addressing 2004/08 headers on the SOAP 1.1 call.
    assert_eq!(
        r.messages[2].message_id.as_deref(),
        Some("uuid:7b2e0000-0000-4000-8000-000000000002")
    );
    assert_eq!(
        r.messages[2].to.as_deref(),
        Some("http://[::1]:18443/inventory")
    );
    assert_eq!(r.messages[3].relates_to, r.messages[2].message_id);
    // The 100-continue interim response is not a message; the big body arrived whole.
    let update = r.messages[2].body.as_deref().unwrap();
    assert!(update.contains("SKU-00000") && update.contains("SKU-00399"));
    // Chunked with trailers, deflate, gzip + chunked: all decoded.
    assert!(r.messages[1]
        .body
        .as_deref()
        .unwrap()
        .contains("urn:uuid:5c7e0000-0000-4000-8000-0000000000aa"));
    assert!(r.messages[3]
        .body
        .as_deref()
        .unwrap()
        .contains("<UpdateResult>true"));
    assert!(r.messages[8]
        .body
        .as_deref()
        .unwrap()
        .contains("RequestedTokenCancelled"));
    assert!(a.details[3]
        .http_headers
        .iter()
        .any(|(k, v)| k.eq_ignore_ascii_case("content-encoding") && v == "deflate"));
    assert!(String::from_utf8_lossy(&a.details[3].raw).contains("UpdateResponse"));
    // The fault's text is reported.
    assert!(
        r.messages[5]
            .errors
            .iter()
            .any(|e| e.contains("Unknown SKU")),
        "{:?}",
        r.messages[5].errors
    );
    // The GET of an HTML page is no message, and says why.
    assert!(
        r.diagnostics
            .iter()
            .any(|d| d.message.contains("stream 2") && d.message.contains("not a SOAP envelope")),
        "{:?}",
        r.diagnostics
    );
    // One session, opened by #0 and cancelled by #6.
    assert_eq!(r.sessions.len(), 1);
    assert_eq!(
        r.sessions[0].id,
        "urn:uuid:5c7e0000-0000-4000-8000-0000000000aa"
    );
}

/// Messages and streams of a report as JSON (capture path and format left out).
fn messages_json(path: &std::path::Path) -> (serde_json::Value, serde_json::Value) {
    let cancel = AtomicBool::new(false);
    let a = analyze_files(
        &[path.to_path_buf()],
        &Options::default(),
        &mut |_| {},
        &cancel,
    )
    .unwrap();
    (
        serde_json::to_value(&a.report.messages).unwrap(),
        serde_json::to_value(&a.report.streams).unwrap(),
    )
}

#[test]
fn copies_made_by_editcap_give_the_same_report() {
    let ok =
        |cmd: &mut std::process::Command| cmd.output().map(|o| o.status.success()).unwrap_or(false);
    if !ok(std::process::Command::new("editcap").arg("-h")) {
        println!("editcap not installed: tool-transformed copies skipped");
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    for name in [
        "soap-loopback-v6.pcapng",
        "clear-soap-loopback.pcapng",
        "demo-calculator.pcapng",
    ] {
        let original = repo_path(&format!("captures/{name}"));
        let expected = messages_json(&original);
        assert!(
            expected.0.as_array().is_some_and(|m| !m.is_empty()),
            "{name}"
        );
        // Classic pcap (microsecond timestamps: the report shows microseconds anyway), and
        // the Ethernet header chopped off with the link type set to raw IP.
        let pcap = dir.path().join("copy.pcap");
        assert!(ok(std::process::Command::new("editcap")
            .args(["-F", "pcap"])
            .arg(&original)
            .arg(&pcap)));
        assert_eq!(messages_json(&pcap), expected, "{name} as pcap");
        let raw = dir.path().join("raw.pcap");
        assert!(ok(std::process::Command::new("editcap")
            .args(["-F", "pcap", "-C", "14", "-T", "rawip"])
            .arg(&original)
            .arg(&raw)));
        assert_eq!(messages_json(&raw), expected, "{name} as raw IP");
        // Nanosecond pcap.
        let ns = dir.path().join("ns.pcap");
        assert!(ok(std::process::Command::new("editcap")
            .args(["-F", "nsecpcap"])
            .arg(&original)
            .arg(&ns)));
        assert_eq!(messages_json(&ns), expected, "{name} as nanosecond pcap");
        // The old patched tcpdumps' variants, with longer record headers: Kuznetsov's and
        // SuSE 6.3's (magic a1b2cd34, 24- and 28-byte headers), Red Hat 6.1's and Nokia's
        // (standard magic, 24- and 20-byte headers).
        for variant in ["modpcap", "suse6_3pcap", "rh6_1pcap", "nokiapcap"] {
            let copy = dir.path().join(format!("{variant}.pcap"));
            assert!(ok(std::process::Command::new("editcap")
                .args(["-F", variant])
                .arg(&original)
                .arg(&copy)));
            assert_eq!(messages_json(&copy), expected, "{name} as {variant}");
        }
    }
}
