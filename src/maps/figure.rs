//! The Figure-5 grid: the two frames on top, then one map per block, each labelled (block
//! number and score), drawn with egui's monospace font (Hack) through `ab_glyph`.

use ab_glyph::{Font, FontRef, PxScale, ScaleFont, point};
use image::{Rgb, RgbImage, imageops};

/// A picture with its caption.
#[derive(Debug, Clone)]
pub struct Panel {
    /// The picture.
    pub image: RgbImage,
    /// The caption drawn under it.
    pub label: String,
}

const MARGIN: u32 = 6;
const LABEL_HEIGHT: u32 = 20;
const FONT_PX: f32 = 14.0;
/// The figures' background, also behind the direction key.
pub const BACKGROUND: Rgb<u8> = Rgb([24, 24, 28]);
const TEXT: [u8; 3] = [235, 235, 235];

/// Lays `top` (the frames) on the first row and `maps` below, `columns` per row. Every panel is
/// scaled to the first map's size (or the first frame's if there are no maps).
pub fn grid_image(top: &[Panel], maps: &[Panel], columns: usize) -> RgbImage {
    let columns = columns.max(1).max(top.len());
    let (cw, ch) = maps
        .first()
        .or(top.first())
        .map_or((1, 1), |p| p.image.dimensions());
    let map_rows = maps.len().div_ceil(columns) as u32;
    let rows = map_rows + u32::from(!top.is_empty());
    let width = MARGIN + columns as u32 * (cw + MARGIN);
    let height = MARGIN + rows * (ch + LABEL_HEIGHT + MARGIN);
    let mut canvas = RgbImage::from_pixel(width, height, BACKGROUND);
    let font = FontRef::try_from_slice(epaint_default_fonts::HACK_REGULAR).ok();
    let mut place = |panel: &Panel, row: u32, col: u32| {
        let x = MARGIN + col * (cw + MARGIN);
        let y = MARGIN + row * (ch + LABEL_HEIGHT + MARGIN);
        let image = if panel.image.dimensions() == (cw, ch) {
            panel.image.clone()
        } else {
            imageops::resize(&panel.image, cw, ch, imageops::FilterType::Triangle)
        };
        imageops::replace(&mut canvas, &image, i64::from(x), i64::from(y));
        if let Some(font) = &font {
            draw_text(&mut canvas, font, &panel.label, x + 2, y + ch + 3, cw - 2);
        }
    };
    for (i, panel) in top.iter().enumerate() {
        place(panel, 0, i as u32);
    }
    let first = u32::from(!top.is_empty());
    for (i, panel) in maps.iter().enumerate() {
        place(panel, first + (i / columns) as u32, (i % columns) as u32);
    }
    canvas
}

/// Draws `text` with its top-left at `(x, y)`, clipped to `max_width`.
fn draw_text(
    canvas: &mut RgbImage,
    font: &FontRef<'_>,
    text: &str,
    x: u32,
    y: u32,
    max_width: u32,
) {
    let scaled = font.as_scaled(PxScale::from(FONT_PX));
    let mut caret = 0.0f32;
    for ch in text.chars() {
        let id = scaled.glyph_id(ch);
        let advance = scaled.h_advance(id);
        if caret + advance > max_width as f32 {
            break;
        }
        let glyph = id
            .with_scale_and_position(FONT_PX, point(x as f32 + caret, y as f32 + scaled.ascent()));
        caret += advance;
        let Some(outline) = font.outline_glyph(glyph) else {
            continue;
        };
        let bounds = outline.px_bounds();
        outline.draw(|gx, gy, coverage| {
            let px = bounds.min.x as i64 + i64::from(gx);
            let py = bounds.min.y as i64 + i64::from(gy);
            if px < 0 || py < 0 {
                return;
            }
            if let Some(p) = canvas.get_pixel_mut_checked(px as u32, py as u32) {
                let a = coverage.clamp(0.0, 1.0);
                for (channel, text) in p.0.iter_mut().zip(TEXT) {
                    *channel =
                        (f32::from(*channel) * (1.0 - a) + f32::from(text) * a).round() as u8;
                }
            }
        });
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn grid_has_room_for_every_panel_and_draws_labels() {
        let panel = |v: u8| Panel {
            image: RgbImage::from_pixel(20, 10, Rgb([v, v, v])),
            label: "block 1 0.42".into(),
        };
        let maps: Vec<Panel> = (0..5).map(|i| panel(40 * i)).collect();
        let img = grid_image(&[panel(255), panel(255)], &maps, 4);
        // 4 columns, 1 frame row + 2 map rows.
        assert_eq!(img.width(), MARGIN + 4 * (20 + MARGIN));
        assert_eq!(img.height(), MARGIN + 3 * (10 + LABEL_HEIGHT + MARGIN));
        assert_eq!(img.get_pixel(MARGIN + 1, MARGIN + 1).0, [255, 255, 255]);
        // Some label pixels are lit in the first label strip.
        let lit = (0..img.width())
            .flat_map(|x| (MARGIN + 10..MARGIN + 10 + LABEL_HEIGHT).map(move |y| (x, y)))
            .filter(|&(x, y)| img.get_pixel(x, y).0[0] > 128)
            .count();
        assert!(lit > 10, "{lit}");
    }
}
