//! Glyphs rasterised ahead of need. egui rasterises a glyph the first time a text uses it, at
//! each size; the first maps bring the first monospace text (scores, block labels) and with it
//! the rasterisation of every digit and sign, which made the first pair's longest main-thread
//! task on the web page (a CPU profile of that task: two fifths of it in text layout, most of
//! that in `FontFace::rasterize_glyph`). Laying out the printable ASCII once in every text
//! style while the backbone loads moves that work out of the pair.

/// Printable ASCII, the characters the panels' numbers and labels are made of.
fn printable() -> String {
    (b' '..=b'~').map(char::from).collect()
}

/// Lays out the printable ASCII in each of the context's text styles, which puts its glyphs in
/// the font atlas.
pub fn warm(ctx: &egui::Context) {
    let fonts: Vec<egui::FontId> = ctx.global_style().text_styles.values().cloned().collect();
    let text = printable();
    ctx.fonts_mut(|f| {
        for font in fonts {
            f.layout_no_wrap(text.clone(), font, egui::Color32::WHITE);
        }
    });
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn printable_ascii_is_all_there() {
        let text = printable();
        assert_eq!(text.len(), 95);
        assert!(text.contains('0') && text.contains('~') && text.contains('+'));
    }
}
