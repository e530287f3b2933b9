//! Benchmark (not a test): converting a 4K result to the output formats.
//!
//! The offline renderer draws a 4096×4096 picture (`imageSize: "4K"`,
//! `1:1`); it is encoded as PNG (what a model answer, or test mode before
//! conversion, is), then the worker's conversion (`images::output::convert`:
//! bounded decode of the PNG, then encode) turns that PNG into WebP and JPEG
//! at the default quality 90. Each step runs RUNS times in this process, on
//! one thread, as the worker runs it (one conversion at a time); the figures
//! are the median and the slowest run, and the output sizes.
//!
//! `cargo run --release -p bench --bin bench-convert` (or `make bench-convert`).

use std::time::{Duration, Instant};

use shared::domain::{AspectRatio, ImageSize, Mode, OutputFormat};
use shared::images::output::{self, Encoded};
use shared::images::{Image, Prompt, offline};

type BoxError = Box<dyn std::error::Error + Send + Sync>;

const RUNS: usize = 5;
const QUALITY: u8 = 90;

fn main() -> Result<(), BoxError> {
    let load = bench::load_average();
    let prompt = Prompt {
        text: "A lighthouse on a cliff at dusk, 4K",
        mode: Mode::Final,
        aspect_ratio: AspectRatio::DEFAULT,
        image_size: Some(ImageSize::K4),
        inputs: &[],
    };
    let (picture, render) = timed(|| Ok(offline::render(prompt, 0, &[])))?;
    let (width, height) = (picture.width(), picture.height());
    println!("offline render {width}x{height}: {:.0} ms", ms(render));

    let mut rows = Vec::new();
    let png = run("encode the picture as PNG", &mut rows, || {
        Ok(output::encode(&picture, OutputFormat::Png, QUALITY)?)
    })?;
    let answer = png.image;
    run(
        "decode the PNG (bounded, as convert does)",
        &mut rows,
        || {
            let (_, decoded) = shared::images::input::decode_picture(&answer.bytes)?;
            // Reported as an `Encoded` for the table: the decoded size, no bytes.
            Ok(Encoded {
                image: Image {
                    mime_type: "image/x-raw-rgb".into(),
                    bytes: Vec::new(),
                },
                width: decoded.width(),
                height: decoded.height(),
            })
        },
    )?;
    for format in [OutputFormat::Webp, OutputFormat::Jpeg] {
        let label = format!(
            "convert the PNG to {} (quality {QUALITY})",
            format.as_str().to_uppercase()
        );
        run(&label, &mut rows, || {
            let answer = Image {
                mime_type: answer.mime_type.clone(),
                bytes: answer.bytes.clone(),
            };
            Ok(output::convert(answer, format, QUALITY)?)
        })?;
    }

    let mut text = String::from("## Converting a 4K result\n\n");
    text.push_str(&format!(
        "`make bench-convert` (release build), {}. One 4096×4096 picture of the \
         offline renderer (16.8 megapixels, 1:1), encoded as PNG, then converted \
         as the worker converts a model's answer (`images::output::convert`: the \
         PNG decoded within the input limits, then encoded). {RUNS} runs of each \
         step on one thread (the worker converts one image at a time per process); \
         the offline render itself took {:.0} ms. Load average before the runs: {}.\n\n",
        bench::machine(),
        ms(render),
        load.map_or("unknown".into(), |l| format!("{l:.2}"))
    ));
    text.push_str("| step | median ms | slowest ms | output |\n|---|---:|---:|---:|\n");
    for (label, median, slowest, bytes) in &rows {
        let output = if *bytes == 0 {
            "—".to_string()
        } else {
            format!("{:.2} MB", *bytes as f64 / 1e6)
        };
        text.push_str(&format!(
            "| {label} | {median:.0} | {slowest:.0} | {output} |\n"
        ));
    }
    text.push_str(
        "\nEach conversion row includes the decode row's work. WebP is lossy WebP \
         from libwebp (the `webp` crate, built from C at the release profile's \
         `opt-level = \"s\"`), JPEG the `image` crate's encoder; a model answer \
         already in the requested format is stored as it came (no conversion). \
         The offline renderer's flat colours compress far better than a \
         photograph: a real model's 4K PNG is larger and slower to decode, the \
         encoders' times depend little on the content.\n\n",
    );
    print!("{text}");
    bench::write_section("convert", &text)?;
    Ok(())
}

type Row = (String, f64, f64, usize);

fn run(
    label: &str,
    rows: &mut Vec<Row>,
    mut step: impl FnMut() -> Result<Encoded, BoxError>,
) -> Result<Encoded, BoxError> {
    let mut samples = Vec::with_capacity(RUNS);
    let mut last = None;
    for _ in 0..RUNS {
        let (encoded, took) = timed(&mut step)?;
        samples.push(took);
        last = Some(encoded);
    }
    let last = last.ok_or("no run")?;
    samples.sort_unstable();
    let (median, slowest) = (ms(samples[RUNS / 2]), ms(samples[RUNS - 1]));
    println!(
        "{label}: median {median:.0} ms, slowest {slowest:.0} ms, {} bytes ({}x{})",
        last.image.bytes.len(),
        last.width,
        last.height
    );
    rows.push((label.to_string(), median, slowest, last.image.bytes.len()));
    Ok(last)
}

fn timed<T>(step: impl FnOnce() -> Result<T, BoxError>) -> Result<(T, Duration), BoxError> {
    let start = Instant::now();
    let value = step()?;
    Ok((value, start.elapsed()))
}

fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1e3
}
