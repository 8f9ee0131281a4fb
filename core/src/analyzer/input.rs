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

/// The first two bytes of a gzip stream (RFC 1952 §2.3.1).
const GZIP_MAGIC: [u8; 2] = [0x1f, 0x8b];

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
        rest: Box<dyn Read + Send>,
        size: Option<u64>,
    ) -> Result<Input, AnalyzeError> {
        Input::sniff(name, rest, size, false)
    }

    /// Reads the first bytes and tells the format; `gunzipped` when `rest` is already a
    /// gzip stream's content (one level only: gzip inside gzip is not a capture).
    fn sniff(
        name: String,
        mut rest: Box<dyn Read + Send>,
        size: Option<u64>,
        gunzipped: bool,
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
        if head.starts_with(&GZIP_MAGIC) && !gunzipped {
            // Sizes and progress are of the decompressed bytes, whose total is unknown.
            let whole = Cursor::new(head).chain(rest);
            let decompressed = flate2::read::MultiGzDecoder::new(whole);
            return Input::sniff(name, Box::new(decompressed), None, true).map_err(|e| match e {
                AnalyzeError::Unreadable(why) => {
                    AnalyzeError::Unreadable(format!("{why} (after gzip decompression)"))
                }
                other => other,
            });
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

    fn gzip(data: &[u8]) -> Vec<u8> {
        use std::io::Write;
        let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
        gz.write_all(data).unwrap();
        gz.finish().unwrap()
    }

    #[test]
    fn gzip_is_decompressed_as_it_is_read_and_its_content_sniffed() {
        let mut pcap = vec![0xd4, 0xc3, 0xb2, 0xa1];
        pcap.extend((0..5000u32).map(|i| (i % 253) as u8));
        let packed = gzip(&pcap);
        let input = Input::from_reader("c.pcap.gz".into(), trickle(&packed, 7), Some(99)).unwrap();
        assert_eq!(input.format, CaptureFormat::Pcap);
        assert_eq!(input.size, None, "the compressed size is not the content's");
        let mut back = Vec::new();
        input.into_reader().read_to_end(&mut back).unwrap();
        assert_eq!(back, pcap);

        // Two gzip members one after the other (`cat a.gz b.gz`) are one stream.
        let mut two = gzip(&pcap[..100]);
        two.extend(gzip(&pcap[100..]));
        let mut back = Vec::new();
        Input::from_reader("c".into(), trickle(&two, 64), None)
            .unwrap()
            .into_reader()
            .read_to_end(&mut back)
            .unwrap();
        assert_eq!(back, pcap);
    }

    #[test]
    fn gzip_of_something_else_or_of_gzip_is_refused_by_name() {
        let err = Input::from_reader("j.gz".into(), trickle(&gzip(b"\x01\x02junk"), 5), None)
            .err()
            .unwrap();
        assert_eq!(
            err.to_string(),
            "j.gz: not a pcap, pcapng or XML file (first bytes 01 02 6a 75) (after gzip decompression)"
        );
        let twice = gzip(&gzip(b"<x/>"));
        let err = Input::from_reader("t.gz".into(), trickle(&twice, 5), None)
            .err()
            .unwrap();
        assert!(err.to_string().contains("first bytes 1f 8b"), "{err}");
        // A corrupt gzip stream: the error names the input.
        let mut bad = gzip(b"<x/>");
        bad.truncate(12);
        let err = Input::from_reader("b.gz".into(), trickle(&bad, 5), None)
            .err()
            .unwrap();
        assert!(err.to_string().starts_with("cannot read b.gz"), "{err}");
    }

    #[test]
    fn a_dash_names_standard_input() {
        assert_eq!(display_name(Path::new("-")), "standard input");
        assert_eq!(display_name(Path::new("./-")), "./-");
        assert_eq!(display_name(Path::new("a/b.pcap")), "a/b.pcap");
    }
}
