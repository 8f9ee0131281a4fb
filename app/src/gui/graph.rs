//! The key-derivation chain as a small layered graph: nodes are the labels the security
//! stage put in `SecurityStep::derives` (certificate, EncryptedKey, entropies, SCT, DKTs),
//! columns are the distance from a root, arrows go left to right.

use egui::{vec2, Align2, FontId, Rect, Sense, Stroke};
use wcfscope_core::model::SecurityStep;

#[derive(Debug, Clone, PartialEq, Default)]
pub struct DeriveGraph {
    /// (label, column, row in column)
    pub nodes: Vec<(String, usize, usize)>,
    pub edges: Vec<(usize, usize)>,
}

const MAX_NODES: usize = 64;

impl DeriveGraph {
    pub fn build(steps: &[SecurityStep]) -> DeriveGraph {
        let mut labels: Vec<String> = Vec::new();
        let mut edges = Vec::new();
        let id = |labels: &mut Vec<String>, s: &str| match labels.iter().position(|l| l == s) {
            Some(i) => Some(i),
            None if labels.len() < MAX_NODES => {
                labels.push(s.to_owned());
                Some(labels.len() - 1)
            }
            None => None,
        };
        for (a, b) in steps.iter().flat_map(|s| s.derives.iter()) {
            if let (Some(x), Some(y)) = (id(&mut labels, a), id(&mut labels, b)) {
                if x != y && !edges.contains(&(x, y)) {
                    edges.push((x, y));
                }
            }
        }
        // Longest-path depth, relaxed at most n times (so cycles cannot loop forever).
        let n = labels.len();
        let mut depth = vec![0usize; n];
        for _ in 0..n {
            let mut changed = false;
            for &(a, b) in &edges {
                if depth[b] < depth[a] + 1 && depth[a] + 1 < n {
                    depth[b] = depth[a] + 1;
                    changed = true;
                }
            }
            if !changed {
                break;
            }
        }
        let mut per_col = vec![0usize; n.max(1)];
        let nodes = labels
            .into_iter()
            .enumerate()
            .map(|(i, l)| {
                let c = depth[i];
                let r = per_col[c];
                per_col[c] += 1;
                (l, c, r)
            })
            .collect();
        DeriveGraph { nodes, edges }
    }

    pub fn is_empty(&self) -> bool {
        self.nodes.is_empty()
    }
}

pub fn show(ui: &mut egui::Ui, g: &DeriveGraph) {
    const W: f32 = 170.0;
    const H: f32 = 22.0;
    const GX: f32 = 40.0;
    const GY: f32 = 8.0;
    let cols = g.nodes.iter().map(|n| n.1 + 1).max().unwrap_or(0);
    let rows = g.nodes.iter().map(|n| n.2 + 1).max().unwrap_or(0);
    let size = vec2(cols as f32 * (W + GX), rows as f32 * (H + GY));
    let (rect, _) = ui.allocate_exact_size(size, Sense::hover());
    let painter = ui.painter_at(rect.expand(2.0));
    let node_rect = |c: usize, r: usize| {
        Rect::from_min_size(
            rect.min + vec2(c as f32 * (W + GX), r as f32 * (H + GY)),
            vec2(W, H),
        )
    };
    let stroke = Stroke::new(1.2, ui.visuals().widgets.active.fg_stroke.color);
    for &(a, b) in &g.edges {
        let (ra, rb) = (
            node_rect(g.nodes[a].1, g.nodes[a].2),
            node_rect(g.nodes[b].1, g.nodes[b].2),
        );
        let (p, q) = (ra.right_center(), rb.left_center());
        painter.line_segment([p, q], stroke);
        let d = (q - p).normalized();
        let n = vec2(-d.y, d.x);
        painter.add(egui::Shape::convex_polygon(
            vec![q, q - d * 7.0 + n * 3.5, q - d * 7.0 - n * 3.5],
            stroke.color,
            Stroke::NONE,
        ));
    }
    for (label, c, r) in &g.nodes {
        let nr = node_rect(*c, *r);
        painter.rect_filled(nr, 4.0, ui.visuals().extreme_bg_color);
        painter.rect_stroke(
            nr,
            4.0,
            Stroke::new(1.0, ui.visuals().selection.stroke.color),
            egui::StrokeKind::Inside,
        );
        let text: String = if label.chars().count() > 26 {
            label.chars().take(25).chain(std::iter::once('…')).collect()
        } else {
            label.clone()
        };
        painter.text(
            nr.center(),
            Align2::CENTER_CENTER,
            text,
            FontId::proportional(11.0),
            ui.visuals().strong_text_color(),
        );
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
mod tests {
    use super::*;
    use crate::gui::sample;

    #[test]
    fn issue_chain_layers() {
        let a = sample::analysis();
        let g = DeriveGraph::build(&a.details[2].steps);
        let names: Vec<(&str, usize)> = g.nodes.iter().map(|(l, c, _)| (l.as_str(), *c)).collect();
        assert_eq!(
            names,
            vec![
                ("cert CN=calculator-service", 0),
                ("EncryptedKey _7", 1),
                ("DKT _8 (signature)", 2),
                ("DKT _9 (encryption)", 2),
            ]
        );
        assert_eq!(g.edges, vec![(0, 1), (1, 2), (1, 3)]);
    }

    #[test]
    fn cycles_terminate() {
        let step = SecurityStep {
            title: String::new(),
            details: vec![],
            derives: vec![("a".into(), "b".into()), ("b".into(), "a".into())],
        };
        let g = DeriveGraph::build(&[step]);
        assert_eq!(g.nodes.len(), 2);
    }
}
