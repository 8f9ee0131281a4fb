//! The GUI's live capture, through the same code path as the toolbar's Start button
//! (`Command::StartCapture`): capture on the loopback interface while the test replays one
//! SOAP request and its response over a real TCP connection; the messages must appear in
//! the window's analysis while the capture runs, and stay after Stop. Needs capture
//! privileges; without them the test says so and passes.
#![cfg(feature = "live")]
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::time::{Duration, Instant};
use wcfscope::gui::{loader, Command, Persisted, WcfApp};

const LOOPBACK: &str = if cfg!(target_os = "linux") {
    "lo"
} else {
    "lo0"
};

const REQUEST_BODY: &str = r#"<s:Envelope xmlns:s="http://www.w3.org/2003/05/soap-envelope" xmlns:a="http://www.w3.org/2005/08/addressing"><s:Header><a:Action s:mustUnderstand="1">http://tempuri.org/ICalculator/Add</a:Action><a:MessageID>urn:uuid:11111111-2222-3333-4444-555555555555</a:MessageID><a:To s:mustUnderstand="1">http://127.0.0.1/CalculatorService/service.svc</a:To></s:Header><s:Body><Add xmlns="http://tempuri.org/"><n1>1</n1><n2>2</n2></Add></s:Body></s:Envelope>"#;
const RESPONSE_BODY: &str = r#"<s:Envelope xmlns:s="http://www.w3.org/2003/05/soap-envelope" xmlns:a="http://www.w3.org/2005/08/addressing"><s:Header><a:Action s:mustUnderstand="1">http://tempuri.org/ICalculator/AddResponse</a:Action><a:RelatesTo>urn:uuid:11111111-2222-3333-4444-555555555555</a:RelatesTo></s:Header><s:Body><AddResponse xmlns="http://tempuri.org/"><AddResult>3</AddResult></AddResponse></s:Body></s:Envelope>"#;

fn http(head: &str, body: &str) -> Vec<u8> {
    format!(
        "{head}\r\nContent-Type: application/soap+xml; charset=utf-8\r\nContent-Length: {}\r\n\r\n{body}",
        body.len()
    )
    .into_bytes()
}

/// Runs the app's non-drawing frame half until `done` holds or 10 s pass.
fn pump(app: &mut WcfApp, ctx: &egui::Context, done: impl Fn(&WcfApp) -> bool) -> bool {
    let end = Instant::now() + Duration::from_secs(10);
    while Instant::now() < end {
        app.logic(ctx);
        if done(app) {
            return true;
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    false
}

#[test]
fn start_button_path_shows_live_messages() {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();

    let mut app = WcfApp::new(Persisted::default(), loader::core_analyzer());
    let ctx = egui::Context::default();
    app.set_repaint_context(ctx.clone());
    app.capture.refresh_devices();
    assert!(
        app.capture.devices.iter().any(|d| d.name == LOOPBACK)
            || app.capture.devices_error.is_some(),
        "the loopback interface is listed"
    );
    app.capture.interface = Some(LOOPBACK.into());
    app.capture.filter = format!("tcp port {port}");
    app.capture.validate_filter();
    let dir = tempfile::tempdir().unwrap();
    let saved = dir.path().join("live.pcapng");
    app.capture.save_path = saved.display().to_string();
    assert_eq!(app.capture.filter_error, None);
    assert!(app.capture.can_start());
    app.apply(Command::StartCapture);
    if !app.capture.is_running() {
        let why = app
            .banner
            .as_ref()
            .map(|b| b.text.clone())
            .unwrap_or_default();
        if why.contains("not permitted") || why.contains("permission") {
            eprintln!("skipping: no capture privileges here: {why}");
            return;
        }
        panic!("capture did not start: {why}");
    }
    // The window shows an (empty) live analysis at once.
    assert_eq!(
        app.loaded
            .as_ref()
            .map(|l| l.analysis.report.capture.path.clone()),
        Some(format!("live:{LOOPBACK}"))
    );
    // Give libpcap a moment to be ready before the first packet.
    std::thread::sleep(Duration::from_millis(300));

    let server = std::thread::spawn(move || {
        let (mut conn, _) = listener.accept().unwrap();
        let mut buf = Vec::new();
        let mut chunk = [0u8; 4096];
        while !buf.ends_with(b"</s:Envelope>") {
            let n = conn.read(&mut chunk).unwrap();
            assert!(n > 0, "client closed early");
            buf.extend_from_slice(&chunk[..n]);
        }
        conn.write_all(&http("HTTP/1.1 200 OK", RESPONSE_BODY))
            .unwrap();
    });
    let mut client = TcpStream::connect(("127.0.0.1", port)).unwrap();
    client
        .write_all(&http(
            &format!("POST /CalculatorService/service.svc HTTP/1.1\r\nHost: 127.0.0.1:{port}"),
            REQUEST_BODY,
        ))
        .unwrap();
    let mut got = Vec::new();
    let mut chunk = [0u8; 4096];
    while !got.ends_with(b"</s:Envelope>") {
        let n = client.read(&mut chunk).unwrap();
        assert!(n > 0, "server closed early");
        got.extend_from_slice(&chunk[..n]);
    }
    server.join().unwrap();

    // Both messages arrive while the capture is still running.
    let live = pump(&mut app, &ctx, |a| {
        a.loaded.as_ref().is_some_and(|l| l.len() >= 2)
    });
    assert!(live, "the two messages did not appear while capturing");
    assert!(app.capture.is_running());
    let l = app.loaded.as_ref().unwrap();
    let actions: Vec<_> = l
        .analysis
        .report
        .messages
        .iter()
        .map(|m| m.action.clone().unwrap_or_default())
        .collect();
    assert_eq!(
        actions,
        vec![
            "http://tempuri.org/ICalculator/Add".to_string(),
            "http://tempuri.org/ICalculator/AddResponse".to_string()
        ]
    );
    assert_eq!(app.table.rows.len(), 2);
    assert!(app.capture.packets > 0);

    drop(client);
    app.apply(Command::StopCapture);
    assert!(
        pump(&mut app, &ctx, |a| !a.capture.is_running()),
        "the capture did not stop"
    );
    // The final report replaced the live one and still has both messages.
    let l = app.loaded.as_ref().unwrap();
    assert_eq!(l.len(), 2);
    assert!(l.analysis.report.capture.packets > 0);
    assert!(!l.analysis.report.streams.is_empty());
    // The counters arrived, and the packets were saved as pcapng (re-analysed on new keys).
    assert!(app.capture.stats.is_some_and(|s| s.received > 0));
    let bytes = std::fs::read(&saved).unwrap();
    assert_eq!(
        &bytes[..4],
        &[0x0a, 0x0d, 0x0d, 0x0a],
        "a pcapng section header"
    );
    assert!(bytes.len() > 500, "the packets were written");
    assert_eq!(app.files, vec![saved.clone()]);
}
