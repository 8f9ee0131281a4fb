//! Writes the demo capture: `captures/demo-calculator.pcapng` (one Basic256 / WS-SC Feb2005
//! calculator session with a client certificate: RST/SCT, RSTR/SCT, 4 calls, Cancel), its
//! expectations `captures/demo-calculator.expected.json`, and with `--xml DIR` each message
//! as a standalone .xml file.
//!
//!     cargo run -p wcfscope-core --features synth --example make-demo [-- --xml DIR]

use std::path::{Path, PathBuf};
use wcfscope_core::synth::{generate, ClientCredential, Pki, Scenario};

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
    let args: Vec<String> = std::env::args().skip(1).collect();
    let xml_dir = args
        .iter()
        .position(|a| a == "--xml")
        .and_then(|i| args.get(i + 1))
        .map(PathBuf::from);

    let scenario = Scenario::default()
        .credential(ClientCredential::Certificate)
        .calls(4)
        .cancel(true)
        .seed(Some(2024));
    let out = generate(&scenario, &Pki::demo()?)?;

    let captures = root.join("captures");
    std::fs::create_dir_all(&captures)?;
    std::fs::write(captures.join("demo-calculator.pcapng"), &out.pcapng)?;
    let mut expected = out.expected_json();
    expected["capture"] = "demo-calculator.pcapng".into();
    expected["service_key"] = "assets/demo-pki/service.pfx:wcfscope-demo".into();
    std::fs::write(
        captures.join("demo-calculator.expected.json"),
        serde_json::to_string_pretty(&expected)? + "\n",
    )?;
    if let Some(dir) = xml_dir {
        out.write_xml_files(&dir)?;
    }
    println!(
        "{} messages, {} session(s) -> {}",
        out.messages.len(),
        out.sessions.len(),
        captures.display()
    );
    Ok(())
}
