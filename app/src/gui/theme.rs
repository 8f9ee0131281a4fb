//! Colours and spacing: the verdict palette (the same in every view), session hues, and the
//! dense dark/light styles.

use super::labels::{Phase, Verdict};
use egui::Color32;

pub fn verdict_color(v: Verdict, dark: bool) -> Color32 {
    match (v, dark) {
        (Verdict::Valid, true) => Color32::from_rgb(0x4c, 0xc2, 0x6e),
        (Verdict::Valid, false) => Color32::from_rgb(0x1a, 0x8a, 0x3c),
        (Verdict::Failed, true) => Color32::from_rgb(0xf0, 0x5a, 0x55),
        (Verdict::Failed, false) => Color32::from_rgb(0xc8, 0x23, 0x23),
        (Verdict::NoKey, true) => Color32::from_rgb(0xf2, 0xb1, 0x3a),
        (Verdict::NoKey, false) => Color32::from_rgb(0xb0, 0x6a, 0x00),
        (Verdict::Clear, true) => Color32::from_gray(0x9a),
        (Verdict::Clear, false) => Color32::from_gray(0x70),
    }
}

pub fn phase_color(p: Phase, dark: bool) -> Color32 {
    let c = match p {
        Phase::Bootstrap => Color32::from_rgb(0x5b, 0x8d, 0xef),
        Phase::Session => Color32::from_rgb(0x3f, 0xb3, 0xa6),
        Phase::Close => Color32::from_rgb(0xa9, 0x7b, 0xd8),
    };
    if dark {
        c
    } else {
        c.linear_multiply(0.85)
    }
}

/// A stable hue per session (by its position in the report), to tell sessions apart.
pub fn session_color(i: usize, dark: bool) -> Color32 {
    const HUES: [(u8, u8, u8); 6] = [
        (0x6c, 0x9e, 0xf8),
        (0xe0, 0x8a, 0x4f),
        (0xb4, 0x7c, 0xe8),
        (0x4f, 0xc1, 0xc8),
        (0xd9, 0x6f, 0xa6),
        (0xa8, 0xb8, 0x4a),
    ];
    let (r, g, b) = HUES[i % HUES.len()];
    let c = Color32::from_rgb(r, g, b);
    if dark {
        c
    } else {
        c.linear_multiply(0.8)
    }
}

/// Applies the dense professional style in the given theme.
pub fn apply(ctx: &egui::Context, dark: bool) {
    ctx.set_theme(if dark {
        egui::Theme::Dark
    } else {
        egui::Theme::Light
    });
    ctx.all_styles_mut(|style| {
        style.spacing.item_spacing = egui::vec2(6.0, 3.0);
        style.spacing.button_padding = egui::vec2(5.0, 1.0);
        style.spacing.interact_size.y = 18.0;
        style.spacing.window_margin = egui::Margin::same(6);
    });
}

/// Every non-ASCII symbol the views draw; each must exist in the bundled fonts (egui
/// draws tofu, and test harnesses panic, on a missing glyph).
pub const SYMBOLS: &str = "·é—•…ℹ↔−⏶⏷⏵▶◀☀⚠✔✖×➕➡⬅🌙🔑";

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
mod tests {
    use super::*;

    #[test]
    fn every_symbol_has_a_glyph() {
        let ctx = egui::Context::default();
        let mut out = ctx.run_ui(Default::default(), |_| {});
        out.textures_delta.clear();
        let missing: String = ctx.fonts_mut(|f| {
            SYMBOLS
                .chars()
                .filter(|c| {
                    !f.has_glyph(&egui::FontId::proportional(12.0), *c)
                        || !f.has_glyph(&egui::FontId::monospace(12.0), *c)
                })
                .collect()
        });
        assert_eq!(missing, "", "symbols without a glyph");
    }
}
