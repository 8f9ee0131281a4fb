//! Bad input is normal input: a few hundred mutated copies of every sample capture go
//! through the whole analysis; none may panic, and each either yields a report or a
//! specific "nothing could be read" error.

use std::path::PathBuf;
use std::sync::atomic::AtomicBool;
use wcfscope_core::analyzer::{analyze_files, AnalyzeError, Options};
use wcfscope_e2e::{mutate, repo_path, Rng};

fn sample_captures() -> Vec<PathBuf> {
    let mut out: Vec<PathBuf> = std::fs::read_dir(repo_path("captures"))
        .map(|rd| rd.filter_map(|e| e.ok().map(|e| e.path())).collect())
        .unwrap_or_default();
    out.retain(|p| {
        matches!(
            p.extension().and_then(|e| e.to_str()),
            Some("pcap" | "pcapng")
        )
    });
    out.sort();
    out
}

#[test]
fn mutated_captures_never_panic() {
    let captures = sample_captures();
    assert!(!captures.is_empty(), "no sample captures under captures/");
    let dir = tempfile::tempdir().unwrap();
    let mut rng = Rng::new(0x5eed_cafe);
    let per_capture = (300 / captures.len()).max(40);
    let mut reports = 0;
    for capture in &captures {
        let original = std::fs::read(capture).unwrap();
        for round in 0..per_capture {
            let mut data = mutate(&original, &mut rng);
            if round % 3 == 0 {
                data = mutate(&data, &mut rng);
            }
            let path = dir.path().join(format!(
                "m{round}.{}",
                capture.extension().unwrap().to_str().unwrap()
            ));
            std::fs::write(&path, &data).unwrap();
            let cancel = AtomicBool::new(false);
            match analyze_files(
                std::slice::from_ref(&path),
                &Options::default(),
                &mut |_| {},
                &cancel,
            ) {
                Ok(a) => {
                    reports += 1;
                    // The report always serialises.
                    assert!(serde_json::to_string(&a.report).is_ok());
                }
                Err(AnalyzeError::Unreadable(why)) => assert!(!why.is_empty()),
                Err(e) => panic!("unexpected error {e}"),
            }
        }
    }
    assert!(reports > 0, "every mutated capture was unreadable");
}
