//! Where the bundled demo lives: `captures/demo-calculator.pcapng` and its key
//! `assets/demo-pki/service.pfx` (password `wcfscope-demo`), looked up relative to the
//! current directory, then the executable's directory and each of its ancestors (so both
//! `make run` from the repository and `target/release/wcfscope` started elsewhere find it).

use std::path::{Path, PathBuf};

pub const DEMO_CAPTURE: &str = "captures/demo-calculator.pcapng";
pub const DEMO_KEY: &str = "assets/demo-pki/service.pfx";
pub const DEMO_PASSWORD: &str = "wcfscope-demo";

/// (capture, key) of the demo, if found.
pub fn find_demo(cwd: Option<&Path>, exe: Option<&Path>) -> Option<(PathBuf, PathBuf)> {
    let mut roots: Vec<PathBuf> = Vec::new();
    if let Some(c) = cwd {
        roots.push(c.to_path_buf());
    }
    if let Some(e) = exe {
        roots.extend(e.ancestors().skip(1).map(Path::to_path_buf));
    }
    roots.into_iter().find_map(|r| {
        let cap = r.join(DEMO_CAPTURE);
        cap.is_file().then(|| (cap, r.join(DEMO_KEY)))
    })
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
mod tests {
    use super::*;

    #[test]
    fn finds_demo_from_exe_ancestors() {
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path();
        std::fs::create_dir_all(root.join("captures")).unwrap();
        std::fs::write(root.join(DEMO_CAPTURE), b"x").unwrap();
        let exe = root.join("target/release/wcfscope");
        let other = tempfile::tempdir().unwrap();
        let (cap, key) = find_demo(Some(other.path()), Some(&exe)).unwrap();
        assert_eq!(cap, root.join(DEMO_CAPTURE));
        assert_eq!(key, root.join(DEMO_KEY));
        assert_eq!(
            find_demo(Some(root), None).unwrap().0,
            root.join(DEMO_CAPTURE)
        );
        assert!(find_demo(Some(other.path()), None).is_none());
    }
}
