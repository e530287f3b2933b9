"""Each function's binary size, raw and zipped as Lambda receives it.

    python3 bench/lambda_sizes.py health generate ...
        prints the arm64 artifacts of `cargo lambda build`
        (target/lambda/<name>/bootstrap): what `make build-lambda` shows.
    python3 bench/lambda_sizes.py --write-benchmarks health generate ...
        writes the `sizes` section of BENCHMARKS.md (`make bench-sizes`):
        the arm64 artifacts if present, next to the host's x86_64 release
        binaries (target/release/<name>, built by `make bench-build`),
        each against 1.0's figures (the section as it was at BASELINE_COMMIT)
        and the 5 MB zipped target.

The zip is what `sam build`/`sam deploy` upload: the one file, deflated at
level 9. Nothing is built here.
"""

import datetime
import io
import os
import re
import struct
import subprocess
import sys
import zipfile

MB = 1024 * 1024
TARGET_ZIPPED_MB = 5.0
ROOT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..")
# Where the function code lives: an artifact older than these files may
# not match the code any more.
SOURCE_DIRS = ("shared", "functions")
# The last commit of 1.0 (before 1.1's first, #14's work): its BENCHMARKS.md
# has 1.0's sizes, its Cargo.lock 1.0's dependencies (bench/build_timings.py).
BASELINE_COMMIT = "fbcc9a2fd4fd10fde0d6dad5d76eddba034962dd"


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


def baseline_sizes():
    """1.0's figures, from the sizes section of BENCHMARKS.md at
    BASELINE_COMMIT: ({function: (arm64 binary, arm64 zipped, x86_64 binary,
    x86_64 zipped)} in MB, rounded as printed, or None where not built;
    the arm64 build's date as written), or None if git cannot show it."""
    out = subprocess.run(["git", "-C", ROOT, "show", f"{BASELINE_COMMIT}:BENCHMARKS.md"],
                         capture_output=True, text=True)
    if out.returncode != 0:
        return None
    text = out.stdout
    a, b = text.find("<!-- sizes:start -->"), text.find("<!-- sizes:end -->")
    if not 0 <= a < b:
        return None
    rows = {}
    for line in text[a:b].splitlines():
        cells = [c.strip() for c in line.strip().strip("|").split("|")]
        if len(cells) == 5 and cells[0] not in ("function", "---"):
            figures = [re.match(r"([0-9.]+) MB", c) for c in cells[1:]]
            rows[cells[0]] = tuple(float(f.group(1)) if f else None for f in figures)
    built = re.search(r"last on ([0-9-]+ [0-9:]+ UTC)", text[a:b])
    return rows, built.group(1) if built else None


def change(now_bytes, then_mb):
    if then_mb is None:
        return ""
    return f" ({now_bytes / MB - then_mb:+.2f})"


def section(names):
    arm = {n: measure(arm64_path(n)) for n in names}
    host = {n: measure(host_path(n)) for n in names}
    built = [os.path.getmtime(arm64_path(n)) for n in names if arm[n]]
    baseline = baseline_sizes()
    before, before_built = baseline if baseline else ({}, None)
    lines = [
        "## Artifact sizes",
        "",
        "`make bench-sizes`: each function's release binary (profile `release`: `opt-level = \"s\"`, "
        "thin LTO, one codegen unit, `strip = true`) and the same file zipped as Lambda receives it "
        "(deflate, level 9). Target: under 5 MB zipped per function, judged on the arm64 artifact Lambda runs.",
        "",
        (f"In parentheses: the change in MB against 1.0 (the sizes section of BENCHMARKS.md at `{BASELINE_COMMIT[:7]}`, "
         f"the last commit before 1.1, whose figures are rounded to 0.01 MB; arm64 built {before_built or 'on an unstated date'}); "
         "**new** marks a function 1.1 added."
         if baseline else
         f"1.0's sizes are not shown: git cannot read BENCHMARKS.md at `{BASELINE_COMMIT[:7]}` (a shallow clone?)."),
        "",
        "| function | arm64 binary | arm64 zipped | < 5 MB zipped | x86_64 binary | x86_64 zipped |",
        "|---|---|---|---|---|---|",
    ]
    missed = []
    for n in names:
        then = before.get(n)
        label = n if then or not baseline else f"{n} (**new**)"
        cells = []
        for found, offset in ((arm[n], 0), (host[n], 2)):
            if found is None:
                cells.append(["not built", ""])
            else:
                size, zipped, stripped = found
                cells.append([
                    mb(size) + ("" if stripped else " (not stripped)") + change(size, then and then[offset]),
                    mb(zipped) + change(zipped, then and then[offset + 1]),
                ])
        if arm[n] is None:
            verdict = "not built"
        elif arm[n][1] / MB < TARGET_ZIPPED_MB:
            verdict = "met"
        else:
            verdict = "**missed**"
            missed.append(n)
        lines.append(f"| {label} | " + " | ".join(cells[0] + [verdict] + cells[1]) + " |")
    lines.append("")
    if built:
        largest_name = max((n for n in names if arm[n]), key=lambda n: arm[n][1])
        largest = arm[largest_name][1]
        unbuilt = [n for n in names if arm[n] is None]
        if missed:
            verdict = f"**missed** by {', '.join(missed)}"
        elif unbuilt:
            verdict = f"met by the {len(built)} built; not shown for {', '.join(unbuilt)}"
        else:
            verdict = f"**met** by all {len(names)} functions"
        stale = newest_source_change() > min(built)
        lines.append(
            f"arm64 (the Lambda artifacts, `target/lambda/<name>/bootstrap`): built by `make build-lambda` "
            f"(`cargo lambda build --release --arm64`, which `make bench-sizes` runs first: cargo rebuilds "
            f"only what changed), last on {when(max(built))}. "
            + ("**They predate the latest change to shared/ or functions/**, so rerun `make build-lambda` "
               "then `make bench-sizes` for current figures. " if stale else
               "They are newer than every file of shared/ and functions/. ")
            + f"Target (< {TARGET_ZIPPED_MB:.0f} MB zipped): {verdict}; the largest is {largest_name}, {mb(largest)}."
        )
        grown = [(arm[n][1] / MB - before[n][1], n) for n in names if arm[n] and before.get(n) and before[n][1]]
        new = [n for n in names if baseline and not before.get(n)]
        if grown:
            low, high = min(grown), max(grown)
            lines.append("")
            lines.append(
                f"Against 1.0, arm64 zipped: the {len(grown)} functions 1.0 had changed by {low[0]:+.2f} MB ({low[1]}) "
                f"to {high[0]:+.2f} MB ({high[1]})"
                + (f"; 1.1 added {', '.join(new)}, {mb(min(arm[n][1] for n in new if arm[n]))} to "
                   f"{mb(max(arm[n][1] for n in new if arm[n]))} zipped" if new and all(arm[n] for n in new) else "")
                + ".")
    else:
        lines.append(
            "arm64: **not built on this machine**: `make bench-sizes` builds them with `make build-lambda` "
            "first; run the script alone only after it."
        )
    lines.append("")
    over = [n for n in names if host[n] and host[n][1] / MB >= TARGET_ZIPPED_MB]
    alone = measure(os.path.join(ROOT, "target", "timings", "release", "worker"))
    lines.append(
        "x86_64: the host's release builds of the same code (`target/release/<name>`, built by "
        "`make bench-build` in one cargo run with the benchmark binaries), for comparison only: "
        "Lambda runs the arm64 artifacts"
        + (f" ({', '.join(over)} zipped {'is' if len(over) == 1 else 'are'} over 5 MB on x86_64 only)" if over else "")
        + ". Built in that one run, they get the features the `bench` "
        "and `devstack` crates add to shared dependencies"
        + (f"; the worker built alone (`cargo build --release -p worker`, the cold build of "
           f"`make bench-build-timings`, {when(os.path.getmtime(os.path.join(ROOT, 'target', 'timings', 'release', 'worker')))}) "
           f"is {abs(alone[0] - host['worker'][0]):,} bytes {'larger' if alone[0] >= host['worker'][0] else 'smaller'} "
           f"({mb(alone[0])}, zipped {mb(alone[1])})."
           if alone and host.get("worker") else ".")
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
