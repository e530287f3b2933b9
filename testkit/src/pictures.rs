//! Pictures for tests and benchmarks: any image as PNG bytes, and PNGs
//! whose header claims far more than the file holds (what a decompression
//! bomb looks like to a decoder before it allocates).

/// The PNG encoding of an image.
pub fn png(image: impl Into<image::DynamicImage>) -> Vec<u8> {
    let mut bytes = Vec::new();
    image
        .into()
        .write_to(
            &mut std::io::Cursor::new(&mut bytes),
            image::ImageFormat::Png,
        )
        .expect("encoding a PNG into memory");
    bytes
}

/// A real 1×1 PNG whose header is rewritten to claim `width`×`height` with
/// 16-bit RGBA samples (8 bytes a pixel), its checksum fixed so decoders
/// believe it.
pub fn png_claiming(width: u32, height: u32) -> Vec<u8> {
    let mut png = png(image::RgbImage::new(1, 1));
    // Signature (8), IHDR length (4), "IHDR" (4), then width, height, bit
    // depth, colour type, …; the chunk's CRC covers type and fields.
    png[16..20].copy_from_slice(&width.to_be_bytes());
    png[20..24].copy_from_slice(&height.to_be_bytes());
    png[24] = 16;
    png[25] = 6;
    let crc = crc32(&png[12..29]);
    png[29..33].copy_from_slice(&crc.to_be_bytes());
    png
}

/// CRC-32 as PNG chunks use it (ISO 3309, reflected, 0xEDB88320).
fn crc32(data: &[u8]) -> u32 {
    let mut crc = 0xffff_ffffu32;
    for b in data {
        crc ^= u32::from(*b);
        for _ in 0..8 {
            crc = if crc & 1 == 1 {
                (crc >> 1) ^ 0xedb8_8320
            } else {
                crc >> 1
            };
        }
    }
    !crc
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_claiming_png_decodes_its_header_as_claimed() {
        let bytes = png_claiming(8192, 8192);
        let reader =
            image::ImageReader::with_format(std::io::Cursor::new(&bytes), image::ImageFormat::Png);
        assert_eq!(reader.into_dimensions().unwrap(), (8192, 8192));
    }
}
