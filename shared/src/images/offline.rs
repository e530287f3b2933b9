//! The test-mode renderer: a real PNG drawn deterministically from the
//! prompt (and blended with the input image for img2img), so test keys prove
//! the whole pipeline without calling Gemini. Different prompts give visibly
//! different pictures: colours, bands and discs all come from the prompt's
//! SHA-256.

use image::{ImageFormat, Rgb, RgbImage};
use sha2::{Digest, Sha256};

use crate::domain::{AspectRatio, Mode};
use crate::images::{Image, Prompt};

/// The long side of the picture: drafts are smaller, as with the real models.
pub fn long_side(mode: Mode) -> u32 {
    match mode {
        Mode::Draft => 512,
        Mode::Final => 1024,
    }
}

pub fn dimensions(mode: Mode, ratio: AspectRatio) -> (u32, u32) {
    let (w, h) = ratio.as_str().split_once(':').unwrap_or(("1", "1"));
    let (w, h): (u32, u32) = (w.parse().unwrap_or(1), h.parse().unwrap_or(1));
    let long = long_side(mode);
    if w >= h {
        (long, (long * h / w).max(1))
    } else {
        ((long * w / h).max(1), long)
    }
}

/// `input` is the img2img input's preview, already decoded within the
/// limits (`input::decode`): the renderer never decodes anything itself.
pub fn render(prompt: Prompt<'_>, input: Option<&RgbImage>) -> Image {
    let seed = Sha256::digest(prompt.text.as_bytes());
    let (width, height) = dimensions(prompt.mode, prompt.aspect_ratio);
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
    // img2img: the input image, scaled to fit, shows through at half strength.
    if let Some(input) = input.filter(|i| i.width() > 0 && i.height() > 0) {
        let (iw, ih) = input.dimensions();
        for (x, y, px) in img.enumerate_pixels_mut() {
            let src = input.get_pixel(x * iw / width, y * ih / height);
            *px = Rgb(std::array::from_fn(|c| lerp(px[c], src[c], 0.5)));
        }
    }

    let mut bytes = Vec::new();
    img.write_to(&mut std::io::Cursor::new(&mut bytes), ImageFormat::Png)
        .expect("encoding a PNG into memory cannot fail");
    Image {
        mime_type: "image/png".into(),
        bytes,
    }
}

fn lerp(a: u8, b: u8, t: f32) -> u8 {
    (f32::from(a) + (f32::from(b) - f32::from(a)) * t).round() as u8
}

#[cfg(test)]
mod tests {
    use super::*;

    fn prompt(text: &str, mode: Mode) -> Prompt<'_> {
        Prompt {
            text,
            mode,
            aspect_ratio: AspectRatio::DEFAULT,
            input_image: None,
        }
    }

    #[test]
    fn renders_a_real_png_deterministically() {
        let a = render(prompt("A cute cat", Mode::Draft), None);
        let again = render(prompt("A cute cat", Mode::Draft), None);
        assert_eq!(a, again);
        assert_eq!(&a.bytes[..8], b"\x89PNG\r\n\x1a\n");
        let decoded = image::load_from_memory(&a.bytes).unwrap();
        assert_eq!((decoded.width(), decoded.height()), (512, 512));
    }

    #[test]
    fn different_prompts_differ_and_final_is_larger() {
        let cat = image::load_from_memory(&render(prompt("A cute cat", Mode::Draft), None).bytes)
            .unwrap()
            .to_rgb8();
        let dog = image::load_from_memory(&render(prompt("A loyal dog", Mode::Draft), None).bytes)
            .unwrap()
            .to_rgb8();
        let differing = cat
            .pixels()
            .zip(dog.pixels())
            .filter(|(a, b)| a != b)
            .count();
        assert!(
            differing > cat.pixels().len() / 2,
            "only {differing} pixels differ"
        );
        let big = image::load_from_memory(&render(prompt("A cute cat", Mode::Final), None).bytes)
            .unwrap();
        assert_eq!(big.width(), 1024);
    }

    #[test]
    fn aspect_ratio_shapes_the_picture() {
        assert_eq!(
            dimensions(Mode::Final, AspectRatio::parse("16:9").unwrap()),
            (1024, 576)
        );
        assert_eq!(
            dimensions(Mode::Draft, AspectRatio::parse("9:16").unwrap()),
            (288, 512)
        );
        assert_eq!(
            dimensions(Mode::Draft, AspectRatio::parse("21:9").unwrap()),
            (512, 219)
        );
    }

    #[test]
    fn the_input_image_shows_in_img2img() {
        let white = RgbImage::from_pixel(8, 8, Rgb([255, 255, 255]));
        let plain = render(prompt("A cute cat", Mode::Draft), None);
        let mixed = render(prompt("A cute cat", Mode::Draft), Some(&white));
        assert_ne!(plain, mixed);
        let mixed = image::load_from_memory(&mixed.bytes).unwrap().to_rgb8();
        let plain = image::load_from_memory(&plain.bytes).unwrap().to_rgb8();
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
    }
}
