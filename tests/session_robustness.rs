//! Hostile input for the security stage: randomly damaged copies of real secured messages
//! (Rampart sample04 with its keys, and a generated WCF conversation) must never panic or
//! hang. (Whether a damaged message still verifies depends on where the damage fell;
//! `session_synth` and `session_wrapping` assert verdicts for targeted damage.)

use wcfscope_core::analyzer::{Analyzer, Options};
use wcfscope_core::model::CaptureFormat;
use wcfscope_core::synth::{generate, Pki, Scenario};
use wcfscope_e2e::{mutate, repo_path, Rng};

fn rampart() -> (Vec<Vec<u8>>, Options) {
    let k = |f: &str| {
        repo_path(&format!(
            "tests/vectors/apache-rampart-samples/keys/2007-2008/pem-derived/{f}"
        ))
        .display()
        .to_string()
    };
    let msgs = ["rst04", "rstr04", "req04", "res04", "creq04", "cres04"]
        .iter()
        .map(|n| {
            let s = std::fs::read_to_string(repo_path(&format!(
                "tests/vectors/apache-rampart-samples/msgs/{n}.xml"
            )))
            .unwrap();
            s.replacen("\ne9d\n", "\n", 1).into_bytes()
        })
        .collect();
    (
        msgs,
        Options {
            keys: vec![k("service.cert.pem"), k("service.key.pem")],
            ..Options::default()
        },
    )
}

fn run(msgs: &[Vec<u8>], options: &Options, seed: u64) {
    let mut rng = Rng::new(seed);
    let victim = rng.below(msgs.len());
    let mut a = Analyzer::new("fuzz".into(), CaptureFormat::Xml, options.clone());
    for (i, m) in msgs.iter().enumerate() {
        let bytes = if i == victim {
            mutate(m, &mut rng)
        } else {
            m.clone()
        };
        a.push_xml_message("m", bytes);
    }
    let _ = a.finish();
}

#[test]
fn damaged_rampart_messages_never_panic() {
    let (msgs, options) = rampart();
    for seed in 1..=150 {
        run(&msgs, &options, seed);
    }
}

#[test]
fn damaged_wcf_messages_never_panic() {
    let out = generate(&Scenario::default().calls(1), &Pki::demo().unwrap()).unwrap();
    let msgs: Vec<Vec<u8>> = out.messages.iter().map(|m| m.soap_xml.clone()).collect();
    let options = Options {
        keys: vec![format!(
            "{}:wcfscope-demo",
            repo_path("assets/demo-pki/service.pfx").display()
        )],
        ..Options::default()
    };
    for seed in 1..=150 {
        run(&msgs, &options, seed);
    }
}
