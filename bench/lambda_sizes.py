"""Each function's binary size, raw and zipped as Lambda receives it.

    python3 bench/lambda_sizes.py health generate ...
        prints the arm64 artifacts of `cargo lambda build`
        (target/lambda/<name>/bootstrap): what `make build-lambda` shows.
    python3 bench/lambda_sizes.py --write-benchmarks health generate ...
        writes the `sizes` section of BENCHMARKS.md (`make bench-sizes`):
        the arm64 artifacts if present, next to the host's x86_64 release
        binaries (target/release/<name>, built by `make bench-build`).

The zip is what `sam build`/`sam deploy` upload: the one file, deflated at
level 9. Nothing is built here.
"""

import datetime
import io
import os
import struct
import sys
import zipfile

MB = 1024 * 1024
TARGET_ZIPPED_MB = 5.0
ROOT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..")
# Where the function code lives: an artifact older than these files may
# not match the code any more.
SOURCE_DIRS = ("shared", "functions")


def arm64_path(name):
    return os.path.join(ROOT, "target", "lambda", name, "bootstrap")


def host_path(name):
    return os.path.join(ROOT, "target", "release", name)


def zipped_size(path):
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED, compresslevel=9) as z:
        z.write(path, "bootstrap")
    return len(buf.getvalue())


def is_stripped(path):
    """True when the ELF file has no `.symtab` section (symbols removed)."""
    with open(path, "rb") as f:
        data = f.read()
    if data[:4] != b"\x7fELF" or data[4] != 2:  # 64-bit ELF only
        return False
    shoff, = struct.unpack_from("<Q", data, 0x28)
    shentsize, shnum, shstrndx = struct.unpack_from("<HHH", data, 0x3A)
    names_header = shoff + shstrndx * shentsize
    names_offset, names_size = struct.unpack_from("<QQ", data, names_header + 0x18)
    names = data[names_offset:names_offset + names_size]
    return b".symtab\x00" not in names


def newest_source_change():
    newest = 0.0
    for top in SOURCE_DIRS:
        for directory, _, files in os.walk(os.path.join(ROOT, top)):
            for f in files:
                if f.endswith(".rs") or f == "Cargo.toml":
                    newest = max(newest, os.path.getmtime(os.path.join(directory, f)))
    return max(newest, os.path.getmtime(os.path.join(ROOT, "Cargo.lock")))


def measure(path):
    """(binary bytes, zipped bytes, stripped) or None if the file is missing."""
    if not os.path.exists(path):
        return None
    return os.path.getsize(path), zipped_size(path), is_stripped(path)


def mb(n):
    return f"{n / MB:.2f} MB"


def when(timestamp):
    return datetime.datetime.fromtimestamp(timestamp, datetime.timezone.utc).strftime("%Y-%m-%d %H:%M UTC")


def print_table(names):
    print(f"{'function':<12} {'binary':>10} {'zipped':>10}")
    for name in names:
        found = measure(arm64_path(name))
        if found is None:
            sys.exit(f"missing {arm64_path(name)}: run cargo lambda build first")
        size, zipped, _ = found
        print(f"{name:<12} {size / MB:>7.2f} MB {zipped / MB:>7.2f} MB")


def section(names):
    arm = {n: measure(arm64_path(n)) for n in names}
    host = {n: measure(host_path(n)) for n in names}
    built = [os.path.getmtime(arm64_path(n)) for n in names if arm[n]]
    lines = [
        "## Artifact sizes",
        "",
        "`make bench-sizes`: each function's release binary (profile `release`: `opt-level = \"s\"`, "
        "thin LTO, one codegen unit, `strip = true`) and the same file zipped as Lambda receives it "
        "(deflate, level 9). Target: under 5 MB zipped per function.",
        "",
        "| function | arm64 binary | arm64 zipped | x86_64 binary | x86_64 zipped |",
        "|---|---|---|---|---|",
    ]
    for n in names:
        cells = []
        for found in (arm[n], host[n]):
            if found is None:
                cells += ["not built", ""]
            else:
                size, zipped, stripped = found
                cells += [mb(size) + ("" if stripped else " (not stripped)"), mb(zipped)]
        lines.append(f"| {n} | " + " | ".join(cells) + " |")
    lines.append("")
    if built:
        largest = max(arm[n][1] for n in names if arm[n])
        verdict = "met" if largest / MB < TARGET_ZIPPED_MB and len(built) == len(names) else "not shown for every function"
        stale = newest_source_change() > min(built)
        lines.append(
            f"arm64 (the Lambda artifacts, `target/lambda/<name>/bootstrap`): built by `make build-lambda` "
            f"(`cargo lambda build --release --arm64`), last on {when(max(built))}. `make bench` does not "
            "rebuild them: a cold arm64 build takes about 8 minutes on 2 cores, which the 15-minute "
            "budget of `make bench` cannot hold next to the host build; it reports the artifacts present. "
            + ("**They predate the latest change to shared/ or functions/**, so rerun `make build-lambda` "
               "then `make bench-sizes` for current figures. " if stale else
               "They are newer than every file of shared/ and functions/. ")
            + f"Target (< {TARGET_ZIPPED_MB:.0f} MB zipped): **{verdict}**, the largest is {mb(largest)}."
        )
    else:
        lines.append(
            "arm64: **not built on this machine** (run `make build-lambda`, about 8 minutes cold, then "
            "`make bench-sizes`); `make bench` does not build them, to stay within its 15-minute budget."
        )
    lines.append("")
    lines.append(
        "x86_64: the host's release builds of the same code (`target/release/<name>`, built by "
        "`make bench-build` in one cargo run with the benchmark binaries), for comparison only: "
        "Lambda runs the arm64 artifacts. Built in that one run, they get the features the `bench` "
        "and `devstack` crates add to shared dependencies; the worker built alone (`cargo build --release -p worker`, "
        "measured 2026-11-25) was 15 KB larger (11.38 MB against 11.37 MB)."
    )
    return "\n".join(lines) + "\n"


def write_section(name, text):
    """Replaces this section of BENCHMARKS.md between its markers, as
    `bench::write_section` does for the Rust benchmarks."""
    path = os.path.join(ROOT, "BENCHMARKS.md")
    with open(path, encoding="utf-8") as f:
        current = f.read()
    start, end = f"<!-- {name}:start -->", f"<!-- {name}:end -->"
    block = f"{start}\n{text}{end}"
    a, b = current.find(start), current.find(end)
    if 0 <= a < b:
        updated = current[:a] + block + current[b + len(end):]
    else:
        updated = current.rstrip() + "\n" + block + "\n"
    with open(path, "w", encoding="utf-8") as f:
        f.write(updated)


def main():
    args = sys.argv[1:]
    if args[:1] == ["--write-benchmarks"]:
        text = section(args[1:])
        print(text)
        write_section("sizes", text)
    else:
        print_table(args)


if __name__ == "__main__":
    main()
