//! Writes the messages of a generated conversation as standalone .xml files, for looking at
//! them: `cargo run -p wcfscope-core --features synth --example synth-xml -- DIR [renew] [cert] [v13] [nosession]`.

use wcfscope_core::model::ScVersion;
use wcfscope_core::synth::{generate, ClientCredential, Pki, Scenario};

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let dir = args
        .first()
        .ok_or("usage: synth-xml DIR [renew] [cert] [v13] [nosession]")?;
    let has = |f: &str| args.iter().any(|a| a == f);
    let mut sc = Scenario::default().calls(2);
    if has("renew") {
        sc = sc.renew_after(Some(1));
    }
    if has("cert") {
        sc = sc.credential(ClientCredential::Certificate);
    }
    if has("v13") {
        sc = sc.version(ScVersion::V13);
    }
    if has("nosession") {
        sc = sc.secure_session(false);
    }
    let out = generate(&sc, &Pki::demo()?)?;
    for p in out.write_xml_files(std::path::Path::new(dir))? {
        println!("{}", p.display());
    }
    Ok(())
}
