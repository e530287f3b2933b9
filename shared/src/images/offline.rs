//! The test-mode renderer: a picture drawn deterministically from the
//! prompt and the image's index (and blended with a reference image's
//! preview when the job has any), so test keys prove the whole pipeline
//! without calling Gemini. Different prompts, and different images of one
//! job, give visibly different pictures: colours, bands and discs all come
//! from the SHA-256 of the prompt and the index.
//!
//! The picture is drawn at the requested size (1,024 / 2,048 / 4,096 on the
//! long side) in whole runs of a row at a time (copies, never a loop over
//! pixels), so even an unoptimised build renders 4K in tens of
//! milliseconds. With a reference image the blend is per pixel: that
//! picture is drawn at most `DRAW_LONG_SIDE` on its long side, blended, and
//! scaled up by the `image` crate. Encoding is `output::encode`'s.

use image::imageops::FilterType;
use image::{DynamicImage, Rgb, RgbImage};
use sha2::{Digest, Sha256};

use crate::domain::{AspectRatio, ImageSize};
use crate::images::Prompt;

/// The largest canvas a reference image is blended on; larger pictures
/// are scaled up.
pub const DRAW_LONG_SIDE: u32 = 1024;

/// The picture's size: `size`'s long side, shaped by the aspect ratio.
pub fn dimensions(size: ImageSize, ratio: AspectRatio) -> (u32, u32) {
    shaped(size.long_side(), ratio)
}

fn shaped(long: u32, ratio: AspectRatio) -> (u32, u32) {
    let (w, h) = ratio.as_str().split_once(':').unwrap_or(("1", "1"));
    let (w, h): (u32, u32) = (w.parse().unwrap_or(1).max(1), h.parse().unwrap_or(1).max(1));
    if w >= h {
        (long, (long * h / w).max(1))
    } else {
        ((long * w / h).max(1), long)
    }
}

/// The seed of image `index` of a prompt.
fn seed(text: &str, index: u32) -> [u8; 32] {
    let mut hash = Sha256::new();
    hash.update(text.as_bytes());
    hash.update([0]);
    hash.update(index.to_le_bytes());
    hash.finalize().into()
}

/// Image `index` (from 0) of a job: at `prompt.image_size` (or the mode's
/// default), deterministic per prompt and index. `previews` are the
/// reference images' previews, already decoded within the limits
/// (`input::decode`): image `index` blends in `previews[index % len]`; the
/// renderer never decodes anything itself.
///
/// Fast even unoptimised (the debug builds of the tests): the drawing fills
/// whole runs of a row at a time, and the scaling is the `image` crate's
/// own (non-generic, so compiled with that crate's optimisation).
pub fn render(prompt: Prompt<'_>, index: u32, previews: &[RgbImage]) -> DynamicImage {
    let size = prompt
        .image_size
        .unwrap_or(ImageSize::default_for(prompt.mode));
    let (width, height) = dimensions(size, prompt.aspect_ratio);
    let seed = seed(prompt.text, index);
    let preview = if previews.is_empty() {
        None
    } else {
        previews
            .get(index as usize % previews.len())
            .filter(|p| p.width() > 0 && p.height() > 0)
    };
    let Some(preview) = preview else {
        return DynamicImage::ImageRgb8(draw(&seed, width, height));
    };
    // A reference image, stretched to the canvas, shows through at half
    // strength.
    let (dw, dh) = shaped(size.long_side().min(DRAW_LONG_SIDE), prompt.aspect_ratio);
    let mut drawn = draw(&seed, dw, dh);
    let scaled = if preview.dimensions() == (dw, dh) {
        preview.clone()
    } else {
        DynamicImage::ImageRgb8(preview.clone())
            .resize_exact(dw, dh, FilterType::Triangle)
            .into_rgb8()
    };
    for (px, src) in drawn.iter_mut().zip(scaled.iter()) {
        *px = (u16::from(*px) + u16::from(*src)).div_ceil(2) as u8;
    }
    let drawn = DynamicImage::ImageRgb8(drawn);
    if (dw, dh) == (width, height) {
        drawn
    } else {
        drawn.resize_exact(width, height, FilterType::Triangle)
    }
}

/// A row of `width` pixels of one colour, built by doubling.
fn solid_row(color: Rgb<u8>, width: u32, row: &mut Vec<u8>) {
    let len = width as usize * 3;
    row.clear();
    row.extend_from_slice(&color.0);
    while row.len() < len {
        let more = row.len().min(len - row.len());
        row.extend_from_within(..more);
    }
}

fn draw(seed: &[u8; 32], width: u32, height: u32) -> RgbImage {
    let color = |i: usize| Rgb([seed[i], seed[(i + 1) % 32], seed[(i + 2) % 32]]);
    let (top, bottom) = (color(0), color(3));
    let stride = width as usize * 3;
    let mut buf = vec![0u8; stride * height as usize];

    // A vertical gradient crossed by diagonal bands: on row y, pixel x is
    // in a band when (x + y * slope) mod 4 * band < band.
    // Band widths in proportion to the picture: the same look at any size.
    let band = ((8 + u32::from(seed[6] % 24)) * width.max(height) / 1024).max(2);
    let period = 4 * band;
    let slope = u32::from(seed[10] % 3 + 1);
    let band_color = color(7);
    let (mut plain, mut banded) = (Vec::new(), Vec::new());
    for (y, row) in buf.chunks_exact_mut(stride).enumerate() {
        let t = y as f32 / height.max(1) as f32;
        let base = Rgb(std::array::from_fn(|c| lerp(top[c], bottom[c], t)));
        let mixed = Rgb(std::array::from_fn(|c| lerp(base[c], band_color[c], 0.35)));
        solid_row(base, width, &mut plain);
        solid_row(mixed, width, &mut banded);
        row.copy_from_slice(&plain);
        // The first band starts where (x + offset) reaches a multiple of
        // the period.
        let offset = (y as u32 * slope) % period;
        let mut start = if offset < band { 0 } else { period - offset };
        let mut end = if offset < band {
            band - offset
        } else {
            start + band
        };
        while start < width {
            let (a, b) = (start as usize * 3, end.min(width) as usize * 3);
            row[a..b].copy_from_slice(&banded[a..b]);
            start = end + period - band;
            end = start + band;
        }
    }
    // Discs, row span by row span.
    let mut disc_row = Vec::new();
    for d in 0..(3 + usize::from(seed[11] % 4)) {
        let b = |i: usize| u32::from(seed[(12 + d * 3 + i) % 32]);
        let (cx, cy) = (b(0) * width / 255, b(1) * height / 255);
        let r = (width.min(height) / 12).max(2) + b(2) * width.min(height) / 1024;
        solid_row(color((d * 5 + 13) % 32), width, &mut disc_row);
        let r2 = i64::from(r) * i64::from(r);
        for y in cy.saturating_sub(r)..(cy + r).min(height) {
            let dy = i64::from(y) - i64::from(cy);
            let half = (r2 - dy * dy).max(0).isqrt() as u32;
            let (x0, x1) = (cx.saturating_sub(half), (cx + half + 1).min(width));
            if x0 >= x1 {
                continue;
            }
            let row = y as usize * stride;
            let (a, b) = (x0 as usize * 3, x1 as usize * 3);
            buf[row + a..row + b].copy_from_slice(&disc_row[a..b]);
        }
    }
    RgbImage::from_raw(width, height, buf).expect("the buffer is width × height × 3 bytes")
}

fn lerp(a: u8, b: u8, t: f32) -> u8 {
    (f32::from(a) + (f32::from(b) - f32::from(a)) * t).round() as u8
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::Mode;

    fn prompt(text: &str, mode: Mode) -> Prompt<'_> {
        Prompt {
            text,
            mode,
            aspect_ratio: AspectRatio::DEFAULT,
            image_size: None,
            inputs: &[],
        }
    }

    fn differing(a: &DynamicImage, b: &DynamicImage) -> usize {
        a.to_rgb8()
            .pixels()
            .zip(b.to_rgb8().pixels())
            .filter(|(a, b)| a != b)
            .count()
    }

    #[test]
    fn renders_deterministically_at_the_modes_default_size() {
        let a = render(prompt("A cute cat", Mode::Draft), 0, &[]);
        let again = render(prompt("A cute cat", Mode::Draft), 0, &[]);
        assert_eq!(a, again);
        assert_eq!((a.width(), a.height()), (1024, 1024));
        let big = render(prompt("A cute cat", Mode::Final), 0, &[]);
        assert_eq!((big.width(), big.height()), (2048, 2048));
    }

    #[test]
    fn different_prompts_and_indexes_differ() {
        let cat = render(prompt("A cute cat", Mode::Draft), 0, &[]);
        let dog = render(prompt("A loyal dog", Mode::Draft), 0, &[]);
        let half = cat.to_rgb8().pixels().len() / 2;
        assert!(differing(&cat, &dog) > half, "cat and dog");
        for index in 1..4 {
            let other = render(prompt("A cute cat", Mode::Draft), index, &[]);
            assert!(differing(&cat, &other) > half, "index {index}");
            assert_eq!(other, render(prompt("A cute cat", Mode::Draft), index, &[]));
        }
    }

    #[test]
    fn image_size_and_aspect_ratio_shape_the_picture() {
        let ratio = |r| AspectRatio::parse(r).unwrap();
        assert_eq!(dimensions(ImageSize::K2, ratio("16:9")), (2048, 1152));
        assert_eq!(dimensions(ImageSize::K1, ratio("9:16")), (576, 1024));
        assert_eq!(dimensions(ImageSize::K1, ratio("21:9")), (1024, 438));
        assert_eq!(dimensions(ImageSize::K4, ratio("1:1")), (4096, 4096));
        let wide = render(
            Prompt {
                aspect_ratio: ratio("16:9"),
                image_size: Some(ImageSize::K4),
                ..prompt("A cute cat", Mode::Draft)
            },
            0,
            &[],
        );
        assert_eq!((wide.width(), wide.height()), (4096, 2304));
    }

    #[test]
    fn a_reference_image_shows_through() {
        let white = RgbImage::from_pixel(8, 8, Rgb([255, 255, 255]));
        let black = RgbImage::from_pixel(8, 8, Rgb([0, 0, 0]));
        let plain = render(prompt("A cute cat", Mode::Draft), 0, &[]).to_rgb8();
        let mixed = render(
            prompt("A cute cat", Mode::Draft),
            0,
            std::slice::from_ref(&white),
        )
        .to_rgb8();
        assert_ne!(plain, mixed);
        let brighter = mixed
            .pixels()
            .zip(plain.pixels())
            .filter(|(m, p)| m[0] >= p[0])
            .count();
        assert_eq!(
            brighter,
            mixed.pixels().len(),
            "blending with white never darkens"
        );
        // Image n blends in preview n % len.
        let previews = [white, black];
        let second = render(prompt("A cute cat", Mode::Draft), 1, &previews).to_rgb8();
        let plain_second = render(prompt("A cute cat", Mode::Draft), 1, &[]).to_rgb8();
        assert!(
            second
                .pixels()
                .zip(plain_second.pixels())
                .all(|(m, p)| m[0] <= p[0]),
            "image 1 blends the black preview"
        );
    }
}
