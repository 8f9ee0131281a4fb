//! `wcfscope analyze` as a user runs it: exit statuses and output formats.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::path::PathBuf;
use std::process::Command;

fn wcfscope() -> Command {
    Command::new(env!("CARGO_BIN_EXE_wcfscope"))
}

fn repo_root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("..")
}

#[test]
fn missing_file_exits_1_with_a_specific_message() {
    let out = wcfscope()
        .args(["analyze", "/nonexistent/capture.pcapng"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("/nonexistent/capture.pcapng"), "{err}");
}

#[test]
fn empty_and_garbage_files_exit_1() {
    let dir = tempfile::tempdir().unwrap();
    let empty = dir.path().join("empty.pcap");
    std::fs::write(&empty, b"").unwrap();
    let out = wcfscope().arg("analyze").arg(&empty).output().unwrap();
    assert_eq!(out.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&out.stderr).contains("empty"));

    let garbage = dir.path().join("garbage.bin");
    std::fs::write(&garbage, b"\x01\x02\x03\x04not a capture").unwrap();
    let out = wcfscope().arg("analyze").arg(&garbage).output().unwrap();
    assert_eq!(out.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&out.stderr).contains("not a pcap, pcapng or XML file"));

    // Nothing on standard output in either format: no title line, no half JSON object.
    for format in ["text", "json"] {
        for input in [&empty, &garbage] {
            let out = wcfscope()
                .arg("analyze")
                .arg(input)
                .args(["--format", format])
                .output()
                .unwrap();
            assert_eq!(out.status.code(), Some(1));
            assert!(
                out.stdout.is_empty(),
                "{format}: {:?}",
                String::from_utf8_lossy(&out.stdout)
            );
        }
    }
}

/// A run that reads nothing removes the report file it started, but never what `--out`
/// names when that is not a plain file: as root, unlinking `/dev/null` (given directly, or
/// as here through a symlink) would delete the system's.
#[cfg(unix)]
#[test]
fn a_failed_run_removes_only_a_plain_report_file() {
    use std::os::unix::fs::FileTypeExt;
    let dir = tempfile::tempdir().unwrap();
    let garbage = dir.path().join("garbage.bin");
    std::fs::write(&garbage, b"\x01\x02\x03\x04not a capture").unwrap();

    let plain = dir.path().join("report.json");
    let out = wcfscope()
        .arg("analyze")
        .arg(&garbage)
        .arg("--out")
        .arg(&plain)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    assert!(!plain.exists(), "a half-written report was left behind");

    let link = dir.path().join("null.json");
    std::os::unix::fs::symlink("/dev/null", &link).unwrap();
    let out = wcfscope()
        .arg("analyze")
        .arg(&garbage)
        .arg("--out")
        .arg(&link)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    assert!(std::fs::symlink_metadata(&link)
        .unwrap()
        .file_type()
        .is_symlink());
    let null = std::fs::metadata("/dev/null").unwrap();
    assert!(
        null.file_type().is_char_device(),
        "/dev/null is no longer a device"
    );
}

#[test]
fn usage_error_exits_2() {
    let out = wcfscope()
        .args(["analyze", "--format", "yaml", "x.pcap"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
}

#[test]
fn xml_message_file_is_a_one_message_capture() {
    let dir = tempfile::tempdir().unwrap();
    let msg = dir.path().join("add.xml");
    std::fs::write(
        &msg,
        r#"<s:Envelope xmlns:s="http://www.w3.org/2003/05/soap-envelope" xmlns:a="http://www.w3.org/2005/08/addressing"><s:Header><a:Action s:mustUnderstand="1">http://Microsoft.ServiceModel.Samples/ICalculator/Add</a:Action><a:MessageID>urn:uuid:1</a:MessageID></s:Header><s:Body><Add xmlns="http://Microsoft.ServiceModel.Samples"><n1>1</n1><n2>2</n2></Add></s:Body></s:Envelope>"#,
    )
    .unwrap();
    let out = wcfscope()
        .arg("analyze")
        .arg(&msg)
        .args(["--format", "json"])
        .output()
        .unwrap();
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let report: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(report["report_version"], 1);
    assert_eq!(report["capture"]["format"], "xml");
    let m = &report["messages"][0];
    assert_eq!(m["kind"], "application");
    assert_eq!(m["soap_version"], "1.2");
    assert_eq!(
        m["action"],
        "http://Microsoft.ServiceModel.Samples/ICalculator/Add"
    );
    assert_eq!(m["message_id"], "urn:uuid:1");
    assert_eq!(m["decryption"], "not-encrypted");
    assert_eq!(m["signature"], "unsigned");
    assert!(m["body"].as_str().unwrap().contains("<n1>1</n1>"));
    assert!(m["ts"].is_null());
    assert!(m["stream"].is_null());
}

#[test]
fn out_writes_the_report_to_a_file() {
    let dir = tempfile::tempdir().unwrap();
    let msg = dir.path().join("m.xml");
    std::fs::write(&msg, r#"<e:Envelope xmlns:e="http://schemas.xmlsoap.org/soap/envelope/"><e:Body><x/></e:Body></e:Envelope>"#).unwrap();
    let out_path = dir.path().join("report.json");
    let out = wcfscope()
        .arg("analyze")
        .arg(&msg)
        .args(["--format", "json", "--out"])
        .arg(&out_path)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(0));
    assert!(out.stdout.is_empty());
    let report: serde_json::Value =
        serde_json::from_slice(&std::fs::read(&out_path).unwrap()).unwrap();
    assert_eq!(report["messages"][0]["soap_version"], "1.1");
    let _ = repo_root();
}

#[test]
fn threads_option_changes_nothing_in_the_report() {
    let demo = repo_root().join("captures/demo-calculator.pcapng");
    let key = format!(
        "{}:wcfscope-demo",
        repo_root().join("assets/demo-pki/service.pfx").display()
    );
    let report = |threads: &str| {
        let out = wcfscope()
            .arg("analyze")
            .arg(&demo)
            .args(["--key", &key, "--format", "json", "--threads", threads])
            .output()
            .unwrap();
        assert_eq!(out.status.code(), Some(0), "{threads}");
        out.stdout
    };
    let one = report("1");
    let parsed: serde_json::Value = serde_json::from_slice(&one).unwrap();
    let valid = parsed["messages"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|m| m["signature"] == "valid")
        .count();
    assert!(valid >= 10, "{valid}");
    assert_eq!(one, report("4"));
    let out = wcfscope()
        .arg("analyze")
        .arg(&demo)
        .args(["--threads", "0"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("--threads"));
}

/// The JSON report of a run that must succeed (status 0; stderr shown otherwise).
fn json_report_of(out: std::process::Output, what: &str) -> serde_json::Value {
    assert_eq!(
        out.status.code(),
        Some(0),
        "{what}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&out.stdout).unwrap()
}

/// A capture of `calls` HTTP SOAP exchanges on one connection, written as pcapng.
fn many_exchanges_capture(calls: usize) -> Vec<u8> {
    use wcfscope_core::synth::pcap::{write_pcapng, Dir, Endpoint, TcpConn};
    let client = Endpoint {
        mac: [2, 0, 0, 0, 0, 1],
        ip: "10.0.0.1".parse().unwrap(),
        port: 50000,
    };
    let server = Endpoint {
        mac: [2, 0, 0, 0, 0, 2],
        ip: "10.0.0.2".parse().unwrap(),
        port: 8080,
    };
    let mut conn = TcpConn::new(client, server, 1000, 9000);
    let mut packets = Vec::new();
    let mut t = conn.handshake(&mut packets, 1_700_000_000_000_000_000);
    for n in 0..calls {
        let body = format!(
            "<s:Envelope xmlns:s=\"http://www.w3.org/2003/05/soap-envelope\"><s:Body>\
             <Add xmlns=\"http://tempuri.org/\"><a>{n}</a><b>1</b></Add></s:Body></s:Envelope>"
        );
        let request = format!(
            "POST /calc HTTP/1.1\r\nHost: s\r\nContent-Type: application/soap+xml; \
             charset=utf-8; action=\"http://tempuri.org/Add\"\r\nContent-Length: {}\r\n\r\n{body}",
            body.len()
        );
        t = conn.send(&mut packets, t, Dir::ToServer, request.as_bytes());
        let response = format!(
            "HTTP/1.1 200 OK\r\nContent-Type: application/soap+xml; charset=utf-8\r\n\
             Content-Length: {}\r\n\r\n{body}",
            body.len()
        );
        t = conn.send(&mut packets, t, Dir::ToClient, response.as_bytes());
    }
    conn.close(&mut packets, t);
    write_pcapng(&packets)
}

/// `wcfscope analyze … | head`: when the reader closes the pipe early, wcfscope stops
/// reading the capture and exits 0 without an error message, in both formats.
#[cfg(unix)]
#[test]
fn a_reader_closing_the_pipe_early_ends_the_run_quietly() {
    use std::io::Read;
    use std::process::Stdio;
    let dir = tempfile::tempdir().unwrap();
    let capture = dir.path().join("many.pcapng");
    // 6,000 messages: far more report in either format than a pipe holds (64 KiB on
    // Linux), so the writes after the close really fail.
    std::fs::write(&capture, many_exchanges_capture(3000)).unwrap();

    // The whole report (text, the smaller format), for scale.
    let full = wcfscope().arg("analyze").arg(&capture).output().unwrap();
    assert_eq!(full.status.code(), Some(0));
    assert!(full.stdout.len() > 4 * 65536, "{}", full.stdout.len());

    for format in ["text", "json"] {
        let mut child = wcfscope()
            .arg("analyze")
            .arg(&capture)
            .args(["--format", format])
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        let mut stdout = child.stdout.take().unwrap();
        let mut first = [0u8; 100];
        stdout.read_exact(&mut first).unwrap();
        drop(stdout);
        let out = child.wait_with_output().unwrap();
        let err = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(0), "{format}: {err}");
        assert!(err.is_empty(), "{format}: {err}");
    }
}

/// Any other write error is reported and fails the run: a full disk must not pass for a
/// complete report.
#[cfg(target_os = "linux")]
#[test]
fn a_report_that_cannot_be_written_fails_with_the_reason() {
    let out = wcfscope()
        .arg("analyze")
        .arg(repo_root().join("captures/demo-calculator.pcapng"))
        .args(["--out", "/dev/full"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("cannot write the report"), "{err}");
}

/// `wcfscope analyze` with the report as JSON, the input given as `input` (a path or
/// `-`) and `stdin_bytes` fed to standard input.
fn analyze_json_with_stdin(input: &str, stdin_bytes: Vec<u8>) -> serde_json::Value {
    use std::io::Write;
    use std::process::Stdio;
    let mut child = wcfscope()
        .args(["analyze", input, "--format", "json"])
        .current_dir(repo_root())
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut stdin = child.stdin.take().unwrap();
    // Written from another thread: the report fills the stdout pipe meanwhile.
    let feeder = std::thread::spawn(move || {
        let _ = stdin.write_all(&stdin_bytes);
    });
    let out = child.wait_with_output().unwrap();
    feeder.join().unwrap();
    json_report_of(out, input)
}

/// A capture piped in (`tcpdump -w - | wcfscope analyze -`, or `/dev/stdin`) gives the same
/// messages, streams and diagnostics as the file: the bytes read to tell the format are
/// not lost, as they were when the path was opened twice.
#[test]
fn a_capture_on_standard_input_or_a_pipe_path_is_analysed_like_the_file() {
    let path = "captures/demo-calculator.pcapng";
    let bytes = std::fs::read(repo_root().join(path)).unwrap();
    let from_file = json_report_of(
        wcfscope()
            .args(["analyze", path, "--format", "json"])
            .current_dir(repo_root())
            .output()
            .unwrap(),
        path,
    );
    assert!(!from_file["messages"].as_array().unwrap().is_empty());

    let mut inputs = vec!["-"];
    if cfg!(target_os = "linux") {
        inputs.push("/dev/stdin");
    }
    for input in inputs {
        let piped = analyze_json_with_stdin(input, bytes.clone());
        for field in ["messages", "streams", "sessions", "diagnostics"] {
            assert_eq!(piped[field], from_file[field], "{input}: {field}");
        }
        let capture = &piped["capture"];
        assert_eq!(
            capture["packets"], from_file["capture"]["packets"],
            "{input}"
        );
        assert_eq!(capture["format"], from_file["capture"]["format"], "{input}");
    }
    let piped = analyze_json_with_stdin("-", bytes);
    assert_eq!(piped["capture"]["path"], "standard input");
}

/// One SOAP message piped in is a one-message capture, as the .xml file is.
#[test]
fn an_xml_message_on_standard_input_is_analysed() {
    let xml = b"<s:Envelope xmlns:s=\"http://www.w3.org/2003/05/soap-envelope\" \
                xmlns:a=\"http://www.w3.org/2005/08/addressing\"><s:Header>\
                <a:Action s:mustUnderstand=\"1\">http://tempuri.org/ICalculator/Add</a:Action>\
                </s:Header><s:Body><Add xmlns=\"http://tempuri.org/\"/></s:Body></s:Envelope>";
    let report = analyze_json_with_stdin("-", xml.to_vec());
    let messages = report["messages"].as_array().unwrap();
    assert_eq!(messages.len(), 1, "{report}");
    assert_eq!(messages[0]["action"], "http://tempuri.org/ICalculator/Add");
    assert_eq!(report["capture"]["format"], "xml");
}

/// Garbage on standard input is refused by its name, like a file.
#[test]
fn garbage_on_standard_input_is_refused_with_its_first_bytes() {
    use std::io::Write;
    use std::process::Stdio;
    let mut child = wcfscope()
        .args(["analyze", "-"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    child
        .stdin
        .take()
        .unwrap()
        .write_all(b"\x01\x02\x03\x04 not a capture")
        .unwrap();
    let out = child.wait_with_output().unwrap();
    assert_eq!(out.status.code(), Some(1));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("standard input: not a pcap, pcapng or XML file (first bytes 01 02 03 04)"),
        "{err}"
    );
}

/// A capture compressed by gzip (the tool), as Wireshark users keep them, gives the same
/// report as the capture itself, keys and all.
#[test]
fn a_gzip_compressed_capture_is_analysed_like_the_capture() {
    let ok =
        |cmd: &mut std::process::Command| cmd.output().map(|o| o.status.success()).unwrap_or(false);
    if !ok(Command::new("gzip").arg("--version")) {
        println!("SKIPPED: gzip is not installed");
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let original = repo_root().join("captures/demo-calculator.pcapng");
    let packed = dir.path().join("demo.pcapng.gz");
    let out = Command::new("gzip")
        .args(["-c", "-9"])
        .arg(&original)
        .output()
        .unwrap();
    assert!(out.status.success());
    std::fs::write(&packed, &out.stdout).unwrap();
    let report = |path: &std::path::Path| -> serde_json::Value {
        let out = wcfscope()
            .arg("analyze")
            .arg(path)
            .args(["--key", "assets/demo-pki/service.pfx:wcfscope-demo"])
            .args(["--format", "json"])
            .current_dir(repo_root())
            .output()
            .unwrap();
        json_report_of(out, &path.display().to_string())
    };
    let plain = report(&original);
    let unpacked = report(&packed);
    for field in ["messages", "streams", "sessions", "diagnostics"] {
        assert_eq!(unpacked[field], plain[field], "{field}");
    }
    assert!(plain["messages"]
        .as_array()
        .unwrap()
        .iter()
        .all(|m| m["signature"] == "valid"));
}
