//! `wcfscope analyze` as a user runs it: exit statuses and output formats.

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
