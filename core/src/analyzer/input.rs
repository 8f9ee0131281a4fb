//! Opening what the user named: a file, a pipe or FIFO (`<(tcpdump -w - …)`,
//! `/dev/stdin`), or standard input itself (`-`), each opened and read exactly once.
//!
//! The format is told from the first bytes, and those bytes are kept and handed on with the
//! rest of the stream: opening the path a second time would lose them on anything that is
//! not a plain file.

use crate::capture::sniff_format;
use crate::model::CaptureFormat;
use std::io::{Cursor, Read};
use std::path::Path;

use super::AnalyzeError;

/// How many leading bytes decide the format ([`sniff_format`]): the magic numbers need four,
/// an XML file may start with a byte order mark and some white space.
const HEAD: usize = 64;

/// The path that stands for standard input, as in tshark's `-r -`.
pub const STDIN_PATH: &str = "-";

/// An input opened once, its first bytes already read and its format known.
pub struct Input {
    /// How the input is named in the report and in messages.
    pub name: String,
    pub format: CaptureFormat,
    /// The size of a plain file (for progress); None for pipes and standard input.
    pub size: Option<u64>,
    head: Vec<u8>,
    rest: Box<dyn Read + Send>,
}

impl Input {
    /// Opens `path` (or standard input for `-`) and reads enough to know its format.
    pub fn open(path: &Path) -> Result<Input, AnalyzeError> {
        let name = display_name(path);
        let (rest, size): (Box<dyn Read + Send>, Option<u64>) = if path == Path::new(STDIN_PATH) {
            (Box::new(std::io::stdin()), None)
        } else {
            let file = std::fs::File::open(path)
                .map_err(|e| AnalyzeError::Unreadable(format!("cannot open {name}: {e}")))?;
            let size = file
                .metadata()
                .ok()
                .filter(std::fs::Metadata::is_file)
                .map(|m| m.len());
            (Box::new(file), size)
        };
        Input::from_reader(name, rest, size)
    }

    /// An input from any byte stream (what [`Input::open`] does after opening).
    pub fn from_reader(
        name: String,
        mut rest: Box<dyn Read + Send>,
        size: Option<u64>,
    ) -> Result<Input, AnalyzeError> {
        let mut head = Vec::with_capacity(HEAD);
        (&mut rest)
            .take(HEAD as u64)
            .read_to_end(&mut head)
            .map_err(|e| AnalyzeError::Unreadable(format!("cannot read {name}: {e}")))?;
        if head.is_empty() {
            return Err(AnalyzeError::Unreadable(format!(
                "{name}: the file is empty"
            )));
        }
        let format = sniff_format(&head).ok_or_else(|| {
            let magic: Vec<String> = head.iter().take(4).map(|b| format!("{b:02x}")).collect();
            AnalyzeError::Unreadable(format!(
                "{name}: not a pcap, pcapng or XML file (first bytes {})",
                magic.join(" ")
            ))
        })?;
        Ok(Input {
            name,
            format,
            size,
            head,
            rest,
        })
    }

    /// The whole byte stream, first bytes included.
    pub fn into_reader(self) -> impl Read + Send {
        Cursor::new(self.head).chain(self.rest)
    }

    /// The whole content, refused when longer than `max` bytes (an .xml message file).
    pub fn read_bounded(self, max: u64) -> Result<Vec<u8>, String> {
        let name = self.name.clone();
        let mut bytes = Vec::new();
        self.into_reader()
            .take(max.saturating_add(1))
            .read_to_end(&mut bytes)
            .map_err(|e| format!("cannot read {name}: {e}"))?;
        if bytes.len() as u64 > max {
            return Err(format!("{name}: larger than {max} bytes, not read"));
        }
        Ok(bytes)
    }
}

/// The name an input goes by in the report and in messages.
pub fn display_name(path: &Path) -> String {
    if path == Path::new(STDIN_PATH) {
        "standard input".to_owned()
    } else {
        path.display().to_string()
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
mod tests {
    use super::*;

    /// A reader that hands out at most `step` bytes per call, as a pipe does.
    struct Trickle {
        data: Vec<u8>,
        at: usize,
        step: usize,
    }

    impl Read for Trickle {
        fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
            let n = buf.len().min(self.step).min(self.data.len() - self.at);
            buf[..n].copy_from_slice(&self.data[self.at..self.at + n]);
            self.at += n;
            Ok(n)
        }
    }

    fn trickle(data: &[u8], step: usize) -> Box<dyn Read + Send> {
        Box::new(Trickle {
            data: data.to_vec(),
            at: 0,
            step,
        })
    }

    #[test]
    fn the_first_bytes_are_kept_for_the_reader_whatever_the_read_sizes() {
        let mut data = vec![0x0a, 0x0d, 0x0d, 0x0a];
        data.extend((0..1000u32).map(|i| (i % 251) as u8));
        for step in [1, 3, 4, 63, 64, 65, 4096] {
            let input = Input::from_reader("p".into(), trickle(&data, step), None).unwrap();
            assert_eq!(input.format, CaptureFormat::Pcapng);
            let mut back = Vec::new();
            input.into_reader().read_to_end(&mut back).unwrap();
            assert_eq!(back, data, "step {step}");
        }
    }

    #[test]
    fn xml_is_read_whole_within_its_bound() {
        let xml = b"\xef\xbb\xbf  \n<s:Envelope/>".to_vec();
        let input = Input::from_reader("m.xml".into(), trickle(&xml, 2), None).unwrap();
        assert_eq!(input.format, CaptureFormat::Xml);
        assert_eq!(input.read_bounded(1000).unwrap(), xml);

        let input = Input::from_reader("m.xml".into(), trickle(&xml, 2), None).unwrap();
        let err = input.read_bounded(5).unwrap_err();
        assert_eq!(err, "m.xml: larger than 5 bytes, not read");
    }

    #[test]
    fn empty_and_unknown_inputs_are_refused_by_name() {
        let err = Input::from_reader("e".into(), trickle(b"", 1), None)
            .err()
            .unwrap();
        assert_eq!(err.to_string(), "e: the file is empty");
        let err = Input::from_reader("g".into(), trickle(b"\x01\x02\x03\x04junk", 1), None)
            .err()
            .unwrap();
        assert_eq!(
            err.to_string(),
            "g: not a pcap, pcapng or XML file (first bytes 01 02 03 04)"
        );
    }

    #[test]
    fn a_dash_names_standard_input() {
        assert_eq!(display_name(Path::new("-")), "standard input");
        assert_eq!(display_name(Path::new("./-")), "./-");
        assert_eq!(display_name(Path::new("a/b.pcap")), "a/b.pcap");
    }
}
