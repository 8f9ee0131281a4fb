//! Per-message facts every view needs (verdict, short name, session position, phase),
//! computed once when an analysis arrives so no view recomputes them per frame.

use super::labels::{short_name, Phase, Verdict};
use std::collections::HashMap;
use wcfscope_core::analyzer::Analysis;

#[derive(Debug, Clone, PartialEq)]
pub struct MessageFacts {
    pub name: String,
    pub verdict: Verdict,
    pub phase: Phase,
    /// Position of the message's session in `report.sessions`.
    pub session: Option<usize>,
    /// Nanoseconds since the first message of the capture (0 when times are missing).
    pub rel_ns: i64,
}

/// An analysis with its per-message facts.
#[derive(Debug, Clone)]
pub struct Loaded {
    pub analysis: Analysis,
    pub facts: Vec<MessageFacts>,
    /// The earliest message time, the origin of relative times.
    pub t0: Option<i64>,
}

impl Loaded {
    pub fn new(analysis: Analysis) -> Loaded {
        let report = &analysis.report;
        let by_id: HashMap<&str, usize> = report
            .sessions
            .iter()
            .enumerate()
            .map(|(i, s)| (s.id.as_str(), i))
            .collect();
        let t0 = report
            .messages
            .iter()
            .filter_map(|m| m.ts.map(|t| t.0))
            .min();
        let facts = report
            .messages
            .iter()
            .map(|m| MessageFacts {
                name: short_name(m),
                verdict: Verdict::of(m),
                phase: Phase::of(m.kind),
                session: m.session.as_deref().and_then(|id| by_id.get(id).copied()),
                rel_ns: match (m.ts, t0) {
                    (Some(t), Some(t0)) => t.0.saturating_sub(t0),
                    _ => 0,
                },
            })
            .collect();
        Loaded {
            analysis,
            facts,
            t0,
        }
    }

    pub fn len(&self) -> usize {
        self.facts.len()
    }

    pub fn is_empty(&self) -> bool {
        self.facts.is_empty()
    }

    /// Counts per verdict, in `Verdict::ALL` order.
    pub fn verdict_counts(&self) -> [usize; 4] {
        let mut c = [0; 4];
        for f in &self.facts {
            if let Some(i) = Verdict::ALL.iter().position(|v| *v == f.verdict) {
                c[i] += 1;
            }
        }
        c
    }
}

/// "+1.234 s" / "+12 ms" relative time, for the ruler and the table.
pub fn fmt_rel(ns: i64) -> String {
    let ms = ns as f64 / 1e6;
    if ms.abs() < 1000.0 {
        format!("+{ms:.1} ms")
    } else {
        format!("+{:.3} s", ms / 1000.0)
    }
}

/// "10:00:00.161234" absolute UTC time of day, for the ruler and the table.
pub fn fmt_abs(ns: Option<i64>) -> String {
    match ns {
        None => "—".into(),
        Some(ns) => {
            let secs = ns.div_euclid(1_000_000_000);
            let micros = ns.rem_euclid(1_000_000_000) / 1000;
            let day = secs.rem_euclid(86_400);
            format!(
                "{:02}:{:02}:{:02}.{:06}",
                day / 3600,
                (day / 60) % 60,
                day % 60,
                micros
            )
        }
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
mod tests {
    use super::*;
    use crate::gui::sample;

    #[test]
    fn facts_of_the_sample() {
        let l = Loaded::new(sample::analysis());
        assert_eq!(l.facts[2].name, "RST/SCT Issue");
        assert_eq!(l.facts[3].name, "RSTR/SCT");
        assert_eq!(l.facts[4].name, "Add");
        assert_eq!(l.facts[5].name, "AddResponse");
        assert_eq!(l.facts[14].name, "SCT Cancel");
        assert_eq!(l.facts[0].verdict, Verdict::Clear);
        assert_eq!(l.facts[4].verdict, Verdict::Valid);
        assert_eq!(l.facts[10].verdict, Verdict::Failed);
        assert_eq!(l.facts[12].verdict, Verdict::NoKey);
        assert_eq!(l.facts[6].session, Some(1));
        assert_eq!(l.facts[3].rel_ns, 161_000_000);
        assert_eq!(l.verdict_counts(), [13, 1, 2, 2]);
    }

    #[test]
    fn time_formats() {
        assert_eq!(fmt_rel(161_000_000), "+161.0 ms");
        assert_eq!(fmt_rel(2_500_000_000), "+2.500 s");
        assert_eq!(fmt_abs(Some(1_714_557_600_161_000_000)), "10:00:00.161000");
        assert_eq!(fmt_abs(None), "—");
    }
}
