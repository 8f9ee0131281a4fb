//! Skipping damaged input to the next plausible record or block: what the pcap and pcapng
//! readers share. Each format says what "plausible" means; the scan and its diagnostic are
//! the same.

use super::window::Window;
use super::Out;
use crate::model::Diagnostic;

pub(super) trait Resync {
    /// What one unit of the format is called in diagnostics ("pcap record", "pcapng block").
    const UNIT: &'static str;
    fn window(&mut self) -> &mut Window;
    /// True when a plausible record or block starts `off` bytes past the read position.
    fn plausible_at(&mut self, off: usize) -> bool;
    /// Nothing more can be read.
    fn stop(&mut self);

    /// Skips forward from one byte past the read position to the next plausible unit (or
    /// the end), reporting `what` was wrong with the unit at the read position.
    fn resync(&mut self, what: String, out: &mut Out) {
        let unit = Self::UNIT;
        // "record" / "block": the last word of the unit's name.
        let noun = unit.rsplit(' ').next().unwrap_or(unit);
        let at = self.window().pos();
        self.window().advance(1);
        loop {
            if self.window().at_end(0) {
                let skipped = self.window().pos() - at;
                out.diag(Diagnostic::warning(format!(
                    "{unit} at byte {at}: {what}; no further plausible {noun} found, skipped \
                     {skipped} bytes to the end"
                )));
                self.stop();
                return;
            }
            if self.plausible_at(0) {
                let pos = self.window().pos();
                out.diag(Diagnostic::warning(format!(
                    "{unit} at byte {at}: {what}; skipped {} bytes to the next plausible {noun} \
                     at byte {pos}",
                    pos - at
                )));
                return;
            }
            self.window().advance(1);
        }
    }
}
