//! The test-mode renderer: a picture drawn deterministically from the
//! prompt and the image's index (and blended with a reference image's
//! preview when the job has any), so test keys prove the whole pipeline
//! without calling Gemini. Different prompts, and different images of one
//! job, give visibly different pictures: colours, bands and discs all come
//! from the SHA-256 of the prompt and the index.
//!
//! The picture is drawn at most `DRAW_LONG_SIDE` pixels on its long side and
//! scaled up to the requested size (1,024 / 2,048 / 4,096), so a 4K render
//! costs one resize, not sixteen times the drawing. Encoding is
//! `output::encode`'s.

use image::imageops::{self, FilterType};
use image::{DynamicImage, Rgb, RgbImage};
use sha2::{Digest, Sha256};

use crate::domain::{AspectRatio, ImageSize};
use crate::images::Prompt;

/// The largest canvas the renderer draws on; larger pictures are scaled up.
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
pub fn render(prompt: Prompt<'_>, index: u32, previews: &[RgbImage]) -> DynamicImage {
    let size = prompt
        .image_size
        .unwrap_or(ImageSize::default_for(prompt.mode));
    let (width, height) = dimensions(size, prompt.aspect_ratio);
    let (dw, dh) = shaped(size.long_side().min(DRAW_LONG_SIDE), prompt.aspect_ratio);
    let preview = if previews.is_empty() {
        None
    } else {
        previews
            .get(index as usize % previews.len())
            .filter(|p| p.width() > 0 && p.height() > 0)
    };
    let drawn = draw(&seed(prompt.text, index), dw, dh, preview);
    if (dw, dh) == (width, height) {
        DynamicImage::ImageRgb8(drawn)
    } else {
        DynamicImage::ImageRgb8(imageops::resize(
            &drawn,
            width,
            height,
            FilterType::Triangle,
        ))
    }
}

fn draw(seed: &[u8; 32], width: u32, height: u32, preview: Option<&RgbImage>) -> RgbImage {
    let color = |i: usize| Rgb([seed[i], seed[(i + 1) % 32], seed[(i + 2) % 32]]);
    let (top, bottom) = (color(0), color(3));
    let mut img = RgbImage::from_fn(width, height, |_, y| {
        let t = y as f32 / height.max(1) as f32;
        Rgb(std::array::from_fn(|c| lerp(top[c], bottom[c], t)))
    });

    // Diagonal bands.
    let band = 8 + u32::from(seed[6] % 24);
    let band_color = color(7);
    for (x, y, px) in img.enumerate_pixels_mut() {
        if ((x + y * u32::from(seed[10] % 3 + 1)) / band) % 4 == 0 {
            *px = Rgb(std::array::from_fn(|c| lerp(px[c], band_color[c], 0.35)));
        }
    }
    // Discs.
    for d in 0..(3 + usize::from(seed[11] % 4)) {
        let b = |i: usize| u32::from(seed[(12 + d * 3 + i) % 32]);
        let (cx, cy) = (b(0) * width / 255, b(1) * height / 255);
        let r = (width.min(height) / 12).max(2) + b(2) * width.min(height) / 1024;
        let disc = color((d * 5 + 13) % 32);
        let r2 = i64::from(r) * i64::from(r);
        for y in cy.saturating_sub(r)..(cy + r).min(height) {
            for x in cx.saturating_sub(r)..(cx + r).min(width) {
                let (dx, dy) = (i64::from(x) - i64::from(cx), i64::from(y) - i64::from(cy));
                if dx * dx + dy * dy <= r2 {
                    img.put_pixel(x, y, disc);
                }
            }
        }
    }
    // A reference image, scaled to fit, shows through at half strength.
    if let Some(input) = preview {
        let (iw, ih) = input.dimensions();
        for (x, y, px) in img.enumerate_pixels_mut() {
            let src = input.get_pixel(x * iw / width, y * ih / height);
            *px = Rgb(std::array::from_fn(|c| lerp(px[c], src[c], 0.5)));
        }
    }
    img
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
        let mixed = render(prompt("A cute cat", Mode::Draft), 0, &[white.clone()]).to_rgb8();
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
