//! `wcfscope c14n`: print the canonical form of an XML document, or of the element with a
//! given ID (`wsu:Id`, `Id`, `ID`, `xml:id`) in its document context, to stdout.

use std::io::Write;
use std::path::PathBuf;

use anyhow::{bail, Context};
use wcfscope_core::xml::{canonicalize, C14nMethod, Document};

#[derive(clap::Args, Debug)]
pub struct Args {
    /// Exclusive XML Canonicalization (default: inclusive Canonical XML 1.0).
    #[arg(long, conflicts_with = "c14n11")]
    pub exclusive: bool,
    /// InclusiveNamespaces PrefixList for --exclusive, space separated ("#default" allowed).
    #[arg(long, value_name = "PREFIXES", requires = "exclusive")]
    pub inclusive_prefixes: Option<String>,
    /// Keep comments (the #WithComments variants).
    #[arg(long)]
    pub with_comments: bool,
    /// Canonical XML 1.1 instead of 1.0.
    #[arg(long)]
    pub c14n11: bool,
    /// Canonicalize only the element with this ID.
    #[arg(long, value_name = "ID")]
    pub subtree: Option<String>,
    /// The XML document.
    pub file: PathBuf,
}

impl Args {
    fn method(&self) -> C14nMethod {
        match (self.exclusive, self.c14n11, self.with_comments) {
            (true, _, false) => C14nMethod::Exclusive,
            (true, _, true) => C14nMethod::ExclusiveWithComments,
            (false, true, false) => C14nMethod::Inclusive11,
            (false, true, true) => C14nMethod::Inclusive11WithComments,
            (false, false, false) => C14nMethod::Inclusive10,
            (false, false, true) => C14nMethod::Inclusive10WithComments,
        }
    }
}

pub fn run(args: Args) -> anyhow::Result<u8> {
    let out = render(&args)?;
    let mut stdout = std::io::stdout().lock();
    stdout.write_all(&out)?;
    stdout.flush()?;
    Ok(0)
}

/// The canonical bytes the command prints.
fn render(args: &Args) -> anyhow::Result<Vec<u8>> {
    let bytes =
        std::fs::read(&args.file).with_context(|| format!("reading {}", args.file.display()))?;
    let doc =
        Document::parse(&bytes).with_context(|| format!("parsing {}", args.file.display()))?;
    let node = match &args.subtree {
        None => Document::DOCUMENT,
        Some(id) => match doc.find_by_id(id)? {
            Some(n) => n,
            None => bail!("no element with ID '{id}' in {}", args.file.display()),
        },
    };
    let prefixes: Vec<String> = args
        .inclusive_prefixes
        .as_deref()
        .unwrap_or("")
        .split_whitespace()
        .map(str::to_owned)
        .collect();
    Ok(canonicalize(&doc, node, args.method(), &prefixes, None)?)
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
mod tests {
    use super::*;
    use clap::Parser;

    #[derive(Parser)]
    struct Cli {
        #[command(flatten)]
        args: Args,
    }

    const MERLIN: &str = "../tests/vectors/santuario-xml-security-java/src/test/resources/ie/baltimore/merlin-examples/merlin-exc-c14n-one";

    fn args(list: &[&str]) -> Args {
        Cli::try_parse_from(std::iter::once("c14n").chain(list.iter().copied()))
            .unwrap()
            .args
    }

    fn merlin(name: &str) -> String {
        format!("{}/{MERLIN}/{name}", env!("CARGO_MANIFEST_DIR"))
    }

    #[test]
    fn flags_select_the_method() {
        assert_eq!(args(&["f.xml"]).method(), C14nMethod::Inclusive10);
        assert_eq!(
            args(&["--with-comments", "--c14n11", "f.xml"]).method(),
            C14nMethod::Inclusive11WithComments
        );
        assert_eq!(
            args(&["--exclusive", "--with-comments", "f.xml"]).method(),
            C14nMethod::ExclusiveWithComments
        );
        assert!(Cli::try_parse_from(["c14n", "--exclusive", "--c14n11", "f.xml"]).is_err());
        assert!(Cli::try_parse_from(["c14n", "--inclusive-prefixes", "a", "f.xml"]).is_err());
    }

    #[test]
    fn renders_the_merlin_prefix_list_case() {
        let file = merlin("exc-signature.xml");
        let a = args(&[
            "--exclusive",
            "--inclusive-prefixes",
            "bar #default",
            "--with-comments",
            "--subtree",
            "to-be-signed",
            &file,
        ]);
        assert_eq!(
            render(&a).unwrap(),
            std::fs::read(merlin("c14n-3.txt")).unwrap()
        );
    }

    #[test]
    fn errors_name_the_problem() {
        let file = merlin("exc-signature.xml");
        let e = render(&args(&["--subtree", "nope", &file])).unwrap_err();
        assert!(e.to_string().contains("no element with ID 'nope'"), "{e}");
        let e = render(&args(&[&merlin("missing.xml")])).unwrap_err();
        assert!(format!("{e:#}").contains("missing.xml"), "{e:#}");
    }
}
