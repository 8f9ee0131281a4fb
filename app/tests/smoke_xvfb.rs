//! Starts the real `wcfscope` binary under Xvfb (on the demo capture when it is in the
//! repository), takes a screenshot of the root window with ImageMagick's `import`, and
//! checks that something was drawn. Skips with a message when Xvfb or ImageMagick is
//! missing. The screenshot is left in `target/smoke/wcfscope.png` for a human to look at.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

struct Kill(Child);
impl Drop for Kill {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn have(tool: &str) -> bool {
    Command::new("sh")
        .arg("-c")
        .arg(format!("command -v {tool}"))
        .stdout(Stdio::null())
        .status()
        .map(|s| s.success())
        .unwrap_or(false)
}

/// Number of distinct colours in a PNG (ImageMagick), 0 if unreadable.
fn colours(png: &Path) -> u64 {
    Command::new("identify")
        .args(["-format", "%k"])
        .arg(png)
        .output()
        .ok()
        .and_then(|o| String::from_utf8(o.stdout).ok())
        .and_then(|s| s.trim().parse().ok())
        .unwrap_or(0)
}

#[test]
fn binary_draws_under_xvfb() {
    if !have("Xvfb") || !have("import") || !have("identify") {
        eprintln!(
            "SKIPPED: Xvfb or ImageMagick (import, identify) not installed; run scripts/setup.sh"
        );
        return;
    }
    let repo = Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .unwrap()
        .to_path_buf();
    let out_dir = repo.join("target/smoke");
    std::fs::create_dir_all(&out_dir).unwrap();

    // Let Xvfb pick a free display and tell us its number.
    let mut xvfb = Command::new("Xvfb")
        .args([
            "-displayfd",
            "1",
            "-screen",
            "0",
            "1440x900x24",
            "-nolisten",
            "tcp",
        ])
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let mut line = String::new();
    BufReader::new(xvfb.stdout.take().unwrap())
        .read_line(&mut line)
        .unwrap();
    let xvfb = Kill(xvfb);
    let display = format!(":{}", line.trim());
    assert!(
        line.trim().parse::<u32>().is_ok(),
        "Xvfb did not report a display: {line:?}"
    );

    // A private home so the test never touches the user's settings.
    let home = tempfile::tempdir().unwrap();
    let demo = repo.join("captures/demo-calculator.pcapng");
    let log = std::fs::File::create(out_dir.join("wcfscope.log")).unwrap();
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_wcfscope"));
    cmd.current_dir(&repo)
        .env("DISPLAY", &display)
        .env_remove("WAYLAND_DISPLAY")
        .env("HOME", home.path())
        .env("XDG_DATA_HOME", home.path())
        .env("XDG_CONFIG_HOME", home.path())
        .stdout(Stdio::null())
        .stderr(log);
    if !demo.is_file() {
        eprintln!(
            "note: {} not present yet; the window opens empty with a banner",
            demo.display()
        );
    }
    let app = Kill(cmd.spawn().unwrap());

    let shot: PathBuf = out_dir.join("wcfscope.png");
    let deadline = Instant::now() + Duration::from_secs(90);
    let mut best = 0;
    let mut app = app;
    while Instant::now() < deadline {
        std::thread::sleep(Duration::from_secs(3));
        if let Ok(Some(status)) = app.0.try_wait() {
            let log = std::fs::read_to_string(out_dir.join("wcfscope.log")).unwrap_or_default();
            panic!("wcfscope exited early ({status}):\n{log}");
        }
        let ok = Command::new("import")
            .args(["-display", &display, "-window", "root"])
            .arg(&shot)
            .status()
            .map(|s| s.success())
            .unwrap_or(false);
        if ok {
            best = colours(&shot);
            // A blank (all one colour) root window has 1 colour; a drawn UI has hundreds.
            if best > 50 {
                break;
            }
        }
    }
    drop(app);
    drop(xvfb);
    assert!(
        best > 50,
        "the window looks blank ({best} colours); see {}",
        shot.display()
    );
    eprintln!("screenshot: {} ({best} colours)", shot.display());
}
