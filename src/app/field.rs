//! The app's "type a location, press load" row, shared by the backbone and checkpoint pickers.

/// A text field with `hint` and a "load" button; the trimmed text when the button is pressed
/// with something typed.
pub fn load_row(ui: &mut egui::Ui, text: &mut String, hint: &str) -> Option<String> {
    ui.horizontal(|ui| {
        ui.add(
            egui::TextEdit::singleline(text)
                .hint_text(hint)
                .desired_width(220.0),
        );
        (ui.button("load").clicked() && !text.trim().is_empty()).then(|| text.trim().to_string())
    })
    .inner
}
