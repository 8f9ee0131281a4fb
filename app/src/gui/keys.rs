//! The key manager: the keys the analysis runs with (key files with optional passwords,
//! `hex:` keys from the command line, typed SCT keys), add/remove, the password dialog.
//!
//! Passwords and key bytes stay in `Zeroizing` buffers, are handed only to the analyzer,
//! and are never shown, logged or persisted.

use super::labels::short_session;
use super::theme;
use super::{Command, Loaded};
use std::path::{Path, PathBuf};
use wcfscope_core::analyzer::Options;
use zeroize::Zeroizing;

/// A key source as the analyzer takes it (`PATH[:PASSWORD]` or `hex:HEX`).
pub struct KeyEntry {
    /// What the list shows: the path or "hex key (N bytes)"; never the password.
    pub label: String,
    pub path: Option<PathBuf>,
    pub has_password: bool,
    spec: Zeroizing<String>,
}

impl KeyEntry {
    pub fn file(path: PathBuf, password: Option<Zeroizing<String>>) -> KeyEntry {
        let mut spec = Zeroizing::new(path.display().to_string());
        let has_password = password.as_ref().is_some_and(|p| !p.is_empty());
        if let Some(p) = password.filter(|p| !p.is_empty()) {
            spec.push(':');
            spec.push_str(&p);
        }
        KeyEntry {
            label: path.display().to_string(),
            path: Some(path),
            has_password,
            spec,
        }
    }

    /// A key as given on the command line (`--key PATH[:PASSWORD]` or `hex:HEX`). The
    /// label hides everything after the path.
    pub fn from_cli(arg: &str) -> KeyEntry {
        let spec = Zeroizing::new(arg.to_owned());
        if let Some(hex) = arg.strip_prefix("hex:") {
            return KeyEntry {
                label: format!("hex key ({} bytes)", hex.len() / 2),
                path: None,
                has_password: false,
                spec,
            };
        }
        // PATH:PASSWORD unless the whole argument names a file (paths may hold ':').
        let (path, has_password) = match arg.rsplit_once(':') {
            Some((p, _)) if !Path::new(arg).exists() && !p.is_empty() => (p, true),
            _ => (arg, false),
        };
        KeyEntry {
            label: path.to_owned(),
            path: Some(PathBuf::from(path)),
            has_password,
            spec,
        }
    }

    pub fn spec(&self) -> &str {
        &self.spec
    }
}

/// A session key typed in by the user: SCT Identifier and key bytes.
pub struct SctKey {
    pub id: String,
    pub key: Zeroizing<Vec<u8>>,
}

#[derive(Default)]
pub struct KeyRing {
    pub files: Vec<KeyEntry>,
    pub sct: Vec<SctKey>,
}

impl KeyRing {
    pub fn options(&self) -> Options {
        Options {
            keys: self.files.iter().map(|k| k.spec().to_owned()).collect(),
            sct_keys: self
                .sct
                .iter()
                .map(|k| (k.id.clone(), Zeroizing::new(k.key.to_vec())))
                .collect(),
            ..Options::default()
        }
    }
}

/// Parses a typed session key `ID=HEX` (whitespace and ':' between hex pairs allowed).
pub fn parse_sct_input(s: &str) -> Result<SctKey, String> {
    let (id, hex) = s
        .split_once('=')
        .ok_or("expected ID=HEX, e.g. urn:uuid:…=4f3c…")?;
    let id = id.trim();
    if id.is_empty() {
        return Err("the SCT identifier is empty".into());
    }
    let digits: Zeroizing<String> = Zeroizing::new(
        hex.chars()
            .filter(|c| !c.is_whitespace() && *c != ':')
            .collect(),
    );
    if digits.is_empty() || digits.len() & 1 == 1 {
        return Err(format!(
            "the key must be an even number of hex digits (got {})",
            digits.len()
        ));
    }
    if digits.len() > 1024 {
        return Err("the key is longer than 512 bytes".into());
    }
    let mut key = Zeroizing::new(Vec::with_capacity(digits.len() / 2));
    for pair in digits.as_bytes().chunks(2) {
        let txt = std::str::from_utf8(pair).map_err(|_| "not hex".to_string())?;
        key.push(u8::from_str_radix(txt, 16).map_err(|_| format!("'{txt}' is not a hex byte"))?);
    }
    Ok(SctKey {
        id: id.to_owned(),
        key,
    })
}

/// Is this dropped/picked file a key (rather than a capture)?
pub fn is_key_file(p: &Path) -> bool {
    let ext = p
        .extension()
        .and_then(|e| e.to_str())
        .unwrap_or("")
        .to_ascii_lowercase();
    matches!(
        ext.as_str(),
        "pfx" | "p12" | "pem" | "key" | "der" | "cer" | "crt"
    )
}

/// The password dialog's state for a key file being added.
pub struct PendingKey {
    pub path: PathBuf,
    pub password: Zeroizing<String>,
}

/// The diagnostics that mention a key file (wrong password, unreadable, …).
fn key_messages<'a>(l: Option<&'a Loaded>, k: &KeyEntry) -> Vec<&'a str> {
    let (Some(l), Some(p)) = (l, &k.path) else {
        return Vec::new();
    };
    let name = p.file_name().and_then(|n| n.to_str()).unwrap_or("");
    if name.is_empty() {
        return Vec::new();
    }
    l.analysis
        .report
        .diagnostics
        .iter()
        .filter(|d| d.message.contains(name))
        .map(|d| d.message.as_str())
        .collect()
}

pub fn show(
    ui: &mut egui::Ui,
    ring: &KeyRing,
    key_facts: &[KeyFacts],
    sct_input: &mut String,
    sct_error: &Option<String>,
    l: Option<&Loaded>,
    dark: bool,
) -> Vec<Command> {
    let mut cmds = Vec::new();
    ui.horizontal(|ui| {
        ui.strong("Keys");
        if ui
            .small_button("➕ Add key file…")
            .on_hover_text("A .pfx/.p12 or PEM private key; or drop it on the window")
            .clicked()
        {
            cmds.push(Command::AddKeyDialog);
        }
    });
    if ring.files.is_empty() && ring.sct.is_empty() {
        ui.weak("No keys: add the service's certificate with its private key to decrypt.");
    }
    for (i, k) in ring.files.iter().enumerate() {
        egui::Frame::group(ui.style())
            .inner_margin(4.0)
            .show(ui, |ui| {
                ui.set_width(ui.available_width());
                ui.horizontal(|ui| {
                    let name = k
                        .path
                        .as_ref()
                        .and_then(|p| p.file_name())
                        .map(|n| n.to_string_lossy().into_owned())
                        .unwrap_or_else(|| k.label.clone());
                    ui.label(egui::RichText::new(format!("🔑 {name}")).strong())
                        .on_hover_text(&k.label);
                    ui.with_layout(egui::Layout::right_to_left(egui::Align::Center), |ui| {
                        if ui.small_button("Remove").clicked() {
                            cmds.push(Command::RemoveKey(i));
                        }
                    });
                });
                ui.weak(if k.has_password {
                    "password: set (not stored)"
                } else {
                    "password: none"
                });
                let red = theme::verdict_color(super::labels::Verdict::Failed, dark);
                let facts = k
                    .path
                    .as_ref()
                    .and_then(|p| key_facts.iter().find(|f| &f.path == p));
                if let Some(f) = facts {
                    if let Some(e) = &f.error {
                        ui.colored_label(red, e);
                    }
                    for item in &f.items {
                        ui.label(&item.label);
                        if let Some(t) = &item.thumbprint {
                            ui.weak(format!("thumbprint {t}"));
                        }
                        ui.weak(if item.private_key {
                            "private key: present"
                        } else {
                            "private key: missing (cannot decrypt)"
                        });
                        if let Some(l) = l {
                            let opened = sessions_opened_by(l, item);
                            if !opened.is_empty() {
                                let sessions = &l.analysis.report.sessions;
                                let list: Vec<String> = opened
                                    .iter()
                                    .filter_map(|&i| {
                                        sessions
                                            .get(i)
                                            .map(|s| format!("S{} {}", i + 1, short_session(&s.id)))
                                    })
                                    .collect();
                                ui.label(format!("opened: {}", list.join(", ")));
                            }
                        }
                    }
                }
                for p in key_messages(l, k) {
                    ui.colored_label(red, p);
                }
            });
    }
    for (i, k) in ring.sct.iter().enumerate() {
        ui.horizontal(|ui| {
            ui.label(format!(
                "SCT {} ({} bytes, typed)",
                short_session(&k.id),
                k.key.len()
            ));
            if ui.small_button("Remove").clicked() {
                cmds.push(Command::RemoveSctKey(i));
            }
        });
    }
    // Fixed widths: a width derived from the panel would feed back into the panel's size.
    let label = ui.label("Session key");
    ui.horizontal(|ui| {
        let r = ui
            .add(
                egui::TextEdit::singleline(sct_input)
                    .hint_text("SCT-ID=HEX")
                    .desired_width(130.0),
            )
            .labelled_by(label.id);
        let enter = r.lost_focus() && ui.input(|i| i.key_pressed(egui::Key::Enter));
        if (ui.small_button("Add SCT key").clicked() || enter) && !sct_input.is_empty() {
            cmds.push(Command::AddSctKey);
        }
    });
    if let Some(e) = sct_error {
        ui.colored_label(
            theme::verdict_color(super::labels::Verdict::Failed, dark),
            e,
        );
    }
    cmds
}

/// The modal asking for a key file's password. Returns a command when the user decides.
pub fn password_dialog(ctx: &egui::Context, p: &mut PendingKey) -> Option<Command> {
    let mut out = None;
    egui::Modal::new(egui::Id::unique("key_password")).show(ctx, |ui| {
        ui.set_width(380.0);
        ui.heading("Key password");
        ui.label(format!("Password for {}", p.path.display()));
        ui.weak("Leave empty if the file has none. It is kept in memory only.");
        let label = ui.label("Password");
        let r = ui
            .add(
                egui::TextEdit::singleline(&mut *p.password)
                    .password(true)
                    .desired_width(f32::INFINITY)
                    .id(egui::Id::unique("key_password_field")),
            )
            .labelled_by(label.id);
        r.request_focus();
        let enter = ui.input(|i| i.key_pressed(egui::Key::Enter));
        ui.horizontal(|ui| {
            if ui.button("Add key").clicked() || enter {
                out = Some(Command::AddKey {
                    path: p.path.clone(),
                    password: Some(p.password.clone()),
                });
            }
            if ui.button("Cancel").clicked() || ui.input(|i| i.key_pressed(egui::Key::Escape)) {
                out = Some(Command::CancelPassword);
            }
        });
    });
    out
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
mod tests {
    use super::*;

    #[test]
    fn sct_input() {
        let k = parse_sct_input("urn:uuid:abc = 00 ff:10").unwrap();
        assert_eq!(k.id, "urn:uuid:abc");
        assert_eq!(&k.key[..], &[0x00, 0xff, 0x10]);
        assert!(parse_sct_input("nokey").is_err());
        assert!(parse_sct_input("=00").is_err());
        assert!(parse_sct_input("x=0").is_err());
        assert!(parse_sct_input("x=zz").is_err());
        assert!(parse_sct_input("x=é0").is_err());
    }

    #[test]
    fn options_carry_keys_but_labels_hide_passwords() {
        let mut ring = KeyRing::default();
        ring.files.push(KeyEntry::file(
            "/k/service.pfx".into(),
            Some(Zeroizing::new("secret".into())),
        ));
        ring.files
            .push(KeyEntry::from_cli("/nonexistent/other.pfx:pw2"));
        ring.files.push(KeyEntry::from_cli("hex:00112233"));
        ring.sct.push(parse_sct_input("id=0102").unwrap());
        let o = ring.options();
        assert_eq!(
            o.keys,
            vec![
                "/k/service.pfx:secret",
                "/nonexistent/other.pfx:pw2",
                "hex:00112233"
            ]
        );
        assert_eq!(o.sct_keys.len(), 1);
        assert_eq!(o.sct_keys[0].0, "id");
        assert_eq!(o.sct_keys[0].1.as_slice(), &[1, 2]);
        for k in &ring.files {
            assert!(
                !k.label.contains("secret") && !k.label.contains("pw2"),
                "{}",
                k.label
            );
        }
        assert!(ring.files[1].has_password);
        assert_eq!(ring.files[2].label, "hex key (4 bytes)");
    }

    #[test]
    fn key_files_by_extension() {
        assert!(is_key_file(Path::new("a/service.PFX")));
        assert!(is_key_file(Path::new("k.pem")));
        assert!(!is_key_file(Path::new("c.pcapng")));
        assert!(!is_key_file(Path::new("m.xml")));
    }
}

/// What a loaded key file holds, for the key manager (never key material).
#[derive(Debug, Clone, PartialEq, Default)]
pub struct KeyFacts {
    /// The path as given (matches `KeyEntry::path`).
    pub path: PathBuf,
    /// One line per certificate/key in the file: subject or kind, thumbprint, private key.
    pub items: Vec<KeyItem>,
    /// Why the file could not be loaded (wrong password, unreadable, …).
    pub error: Option<String>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct KeyItem {
    pub label: String,
    pub subject: Option<String>,
    pub thumbprint: Option<String>,
    pub private_key: bool,
}

/// Loads each key file spec with the core keyring to describe it. Runs on the worker
/// thread next to the analysis (PKCS#12 decoding is not free).
pub fn inspect(specs: &[String]) -> Vec<KeyFacts> {
    use wcfscope_core::keys::{KeySpec, Keyring, NoPassword};
    let mut out = Vec::new();
    for spec in specs {
        let Ok(KeySpec::File { path, password }) = KeySpec::parse(spec) else {
            continue;
        };
        let mut ring = Keyring::new();
        let mut facts = KeyFacts {
            path: path.clone(),
            ..Default::default()
        };
        match ring.load_file(&path, password.as_ref().map(|p| p.as_str()), &NoPassword) {
            Ok(_) => {
                facts.items = ring
                    .entries()
                    .map(|e| KeyItem {
                        label: e.label(),
                        subject: e.subject().map(str::to_owned),
                        thumbprint: e.thumbprint_hex(),
                        private_key: e.has_private_key(),
                    })
                    .collect();
            }
            Err(e) => facts.error = Some(e.to_string()),
        }
        out.push(facts);
    }
    out
}

/// Sessions whose bootstrap a key opened: the Issue message's steps name the key's subject
/// (the security stage says "Opened EncryptedKey … with the private key of CN=…").
pub fn sessions_opened_by(l: &Loaded, item: &KeyItem) -> Vec<usize> {
    let Some(subject) = item.subject.as_deref().filter(|s| !s.is_empty()) else {
        return Vec::new();
    };
    let report = &l.analysis.report;
    let mut out: Vec<usize> = report
        .messages
        .iter()
        .filter(|m| m.kind == wcfscope_core::model::MessageKind::SctIssue)
        .filter(|m| {
            l.analysis.details.get(m.index).is_some_and(|d| {
                d.steps.iter().any(|s| {
                    s.title.starts_with("Opened EncryptedKey") && s.title.contains(subject)
                })
            })
        })
        .filter_map(|m| l.facts.get(m.index).and_then(|f| f.session))
        .collect();
    out.sort_unstable();
    out.dedup();
    out
}
