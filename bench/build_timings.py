"""What the crates added in 1.1 cost in build time: a cold release build of
the worker with cargo's timings report.

    python3 bench/build_timings.py
        deletes target/timings, runs `cargo build --release -p worker --timings`
        there (CARGO_TARGET_DIR=target/timings, so target/release is never
        touched), reads the report cargo writes
        (target/timings/cargo-timings/cargo-timing.html) and writes the
        `timings` section of BENCHMARKS.md (`make bench-build-timings`).
    python3 bench/build_timings.py --no-build
        the same section from the last run's report and measurements, without
        building (to re-render it).

The crates "added in 1.1" are the packages of Cargo.lock that the lock file
of 1.0's last commit (lambda_sizes.BASELINE_COMMIT) does not have; of those,
the ones this build compiles (the worker's dependencies, build dependencies
included) are listed, with each one's compile time: the durations cargo
reports for its units (library, build script compiled and run). Crates whose
version changed since 1.0 are listed apart. Nothing is asserted.
"""

import datetime
import json
import os
import re
import resource
import shutil
import subprocess
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from lambda_sizes import BASELINE_COMMIT, ROOT, write_section  # noqa: E402

PACKAGE = "worker"
TARGET_DIR = os.path.join(ROOT, "target", "timings")
REPORT = os.path.join(TARGET_DIR, "cargo-timings", "cargo-timing.html")
# The run's own measurements (wall, CPU, machine), kept next to the report
# for --no-build.
RUN_FILE = os.path.join(TARGET_DIR, "build-timings-run.json")

# What each crate added in 1.1 is for, from the commit that added it. A crate
# not named here is described by that commit's subject.
PURPOSE = {
    "aws-sdk-secretsmanager": "secrets read at cold start (Gemini key, cursor key) from Secrets Manager",
    "webp": "lossy WebP results (`outputFormat: \"webp\"`): bindings to libwebp",
    "libwebp-sys": "libwebp, compiled from its C sources with `cc`, for `webp`",
    "glob": "build dependency of libwebp-sys (lists libwebp's C files)",
    "runtime": "workspace crate: the Lambda handler loop and error responder, moved out of `shared` and the functions",
    "time": "bumped to 0.3.55 with rust-version 1.88",
    "time-core": "follows `time`",
    "time-macros": "follows `time`",
    "num-conv": "follows `time`",
}


def git(*args):
    return subprocess.run(["git", "-C", ROOT, *args], capture_output=True, text=True)


def lock_packages(text):
    """{name: {version: source or None}} from a Cargo.lock's text."""
    packages = {}
    for block in text.split("[[package]]")[1:]:
        name = re.search(r'^name = "([^"]+)"', block, re.M)
        version = re.search(r'^version = "([^"]+)"', block, re.M)
        source = re.search(r'^source = "([^"]+)"', block, re.M)
        if name and version:
            packages.setdefault(name.group(1), {})[version.group(1)] = source.group(1) if source else None
    return packages


def lock_diff():
    """(added {name: versions}, changed {name: (old versions, new versions)},
    removed names, sources {name: source}) between 1.0's Cargo.lock and the
    working one."""
    path = os.path.join(ROOT, "Cargo.lock")
    if not os.path.exists(path):
        sys.exit(f"missing {path}")
    with open(path, encoding="utf-8") as f:
        now = lock_packages(f.read())
    old = git("show", f"{BASELINE_COMMIT}:Cargo.lock")
    if old.returncode != 0:
        sys.exit(f"cannot read Cargo.lock of 1.0 ({BASELINE_COMMIT[:7]}) from git: {old.stderr.strip()} "
                 "(a shallow clone? fetch the history first)")
    then = lock_packages(old.stdout)
    added = {n: sorted(v) for n, v in now.items() if n not in then}
    changed = {n: (sorted(then[n]), sorted(v)) for n, v in now.items() if n in then and set(then[n]) != set(v)}
    removed = sorted(n for n in then if n not in now)
    sources = {n: next(iter(v.values())) for n, v in now.items()}
    return added, changed, removed, sources


def linked_crates():
    """Names of the crates the worker links (normal dependencies)."""
    out = subprocess.run(["cargo", "tree", "-p", PACKAGE, "-e", "normal", "--prefix", "none"],
                         cwd=ROOT, capture_output=True, text=True)
    if out.returncode != 0:
        sys.exit(f"cargo tree failed: {out.stderr.strip()}")
    return {line.split()[0] for line in out.stdout.splitlines() if line.strip()}


def first_commit_subject(name):
    log = git("log", "--reverse", "--format=%h %s", f"-Sname = \"{name}\"", f"{BASELINE_COMMIT}..HEAD", "--", "Cargo.lock")
    line = log.stdout.splitlines()[0] if log.returncode == 0 and log.stdout.strip() else ""
    return (line[:90] + "…") if len(line) > 90 else (line or "not found in the history")


def machine():
    model = "unknown CPU"
    try:
        with open("/proc/cpuinfo", encoding="utf-8") as f:
            for line in f:
                if line.startswith("model name"):
                    model = line.split(":", 1)[1].strip()
                    break
    except OSError:
        pass
    try:
        with open("/proc/loadavg", encoding="utf-8") as f:
            load = float(f.read().split()[0])
    except OSError:
        load = None
    return {"cores": os.cpu_count(), "cpu": model, "load1": load}


def cold_build():
    """Builds the worker from an empty target dir; returns the run's figures."""
    if os.path.exists(TARGET_DIR):
        shutil.rmtree(TARGET_DIR)
    run = {"machine": machine(), "started": datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%d %H:%M UTC")}
    env = dict(os.environ, CARGO_TARGET_DIR=TARGET_DIR)
    cmd = ["cargo", "build", "--release", "--quiet", "-p", PACKAGE, "--timings"]
    print(f"cold build: {' '.join(cmd)} (CARGO_TARGET_DIR={os.path.relpath(TARGET_DIR, ROOT)})", flush=True)
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    start = time.monotonic()
    code = subprocess.run(cmd, cwd=ROOT, env=env).returncode
    run["wall_s"] = time.monotonic() - start
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    if code != 0:
        sys.exit(f"cargo build failed (exit {code})")
    run["cpu_s"] = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    run["rustc"] = subprocess.run(["rustc", "--version"], cwd=ROOT, capture_output=True, text=True).stdout.strip()
    with open(RUN_FILE, "w", encoding="utf-8") as f:
        json.dump(run, f)
    return run


def unit_data():
    """The `UNIT_DATA` array of cargo's timings report."""
    if not os.path.exists(REPORT):
        sys.exit(f"missing {REPORT}: run without --no-build first")
    with open(REPORT, encoding="utf-8") as f:
        html = f.read()
    marker = re.search(r"const\s+UNIT_DATA\s*=\s*", html)
    if not marker:
        sys.exit(f"no UNIT_DATA in {REPORT}: has cargo's report format changed?")
    units, _ = json.JSONDecoder().raw_decode(html, marker.end())
    return units


def unit_kind(unit):
    target = unit.get("target", "").strip()
    if unit.get("mode") == "run-custom-build":
        return "build script run"
    if "build-script" in target:
        return "build script"
    return "lib" if not target else target.replace('"', "")


def per_crate(units):
    """{(name, version): {"s": seconds, "units": [(kind, seconds)]}}."""
    crates = {}
    for u in units:
        entry = crates.setdefault((u["name"], u["version"]), {"s": 0.0, "units": []})
        entry["s"] += float(u["duration"])
        entry["units"].append((unit_kind(u), float(u["duration"])))
    return crates


def unit_list(crate):
    return ", ".join(f"{kind} {s:.1f}" for kind, s in sorted(crate["units"], key=lambda k: -k[1]))


def seconds(s):
    return f"{s:,.1f}"


def section(run, units):
    added, changed, removed, sources = lock_diff()
    linked = linked_crates()
    crates = per_crate(units)
    total_units = sum(c["s"] for c in crates.values())
    built = {name for name, _ in crates}
    m = run["machine"]
    load = "unknown" if m["load1"] is None else f"{m['load1']:.2f}"
    lines = [
        "## Build time of the worker (cold)",
        "",
        f"`make bench-build-timings`: `cargo build --release -p {PACKAGE} --timings` from an empty target "
        f"directory (`target/timings`, deleted first, so every run is cold: what each `make bench` pays for it), "
        f"started {run['started']}, {run.get('rustc', 'rustc')}. Machine: {m['cores']} cores ({m['cpu']}), "
        f"1-minute load average {load} at the start (other builds may share it).",
        "",
        f"- Wall: **{seconds(run['wall_s'])} s**; CPU (user + system of every process of the build, rustc, "
        f"cc and the linker): **{seconds(run['cpu_s'])} s**.",
        f"- Cargo's report: {len(units)} units of {len(crates)} crates, {seconds(total_units)} s of unit time "
        "in all (each unit's own duration: compiling a library, or a build script, or running one, "
        "which for libwebp-sys compiles libwebp's C). \"CPU s\" below is a crate's unit time and its share "
        f"a share of that sum; unit time tracks CPU ({seconds(total_units)} s against {seconds(run['cpu_s'])} s "
        "measured), though a unit that runs beside another on a busy core takes longer than its own CPU.",
        "",
        f"Crates added to Cargo.lock since 1.0 (`{BASELINE_COMMIT[:7]}`, the last commit before 1.1) that this build "
        "compiles; \"linked\" means a normal dependency of the worker (`cargo tree -e normal`), \"build\" one "
        "only the build needs:",
        "",
        "| crate | version | kind | for | units (s) | CPU s | share |",
        "|---|---|---|---|---|---|---|",
    ]
    added_total = 0.0
    rows = []
    for (name, version), c in crates.items():
        if name in added:
            added_total += c["s"]
            rows.append((c["s"], name, version, c))
    for s, name, version, c in sorted(rows, key=lambda r: -r[0]):
        kind = ("workspace" if sources.get(name) is None else "linked" if name in linked else "build")
        purpose = PURPOSE.get(name) or first_commit_subject(name)
        lines.append(f"| {name} | {version} | {kind} | {purpose} | {unit_list(c)} "
                     f"| {seconds(s)} | {100 * s / total_units:.1f}% |")
    lines.append(f"| **all of them** | | | | | **{seconds(added_total)}** | **{100 * added_total / total_units:.1f}%** |")
    not_built = sorted(n for n in added if n not in built)
    lines.append("")
    lines.append(
        f"The other crates added since 1.0 are not in the worker's build: {', '.join(not_built)}"
        + (" (workspace crates: new functions and tools)." if all(sources.get(n) is None for n in not_built) else ".")
        if not_built else
        "Every crate added since 1.0 is in the worker's build.")
    if removed:
        lines[-1] += f" Gone since 1.0: {', '.join(removed)}."
    bumped = [(n, v) for n, v in sorted(changed.items()) if n in built]
    if bumped:
        lines.append("")
        lines.append("Crates of this build whose version changed since 1.0:")
        lines.append("")
        lines.append("| crate | 1.0 | now | why | CPU s | share |")
        lines.append("|---|---|---|---|---|---|")
        for n, (was, now) in bumped:
            s = sum(c["s"] for (name, _), c in crates.items() if name == n)
            lines.append(f"| {n} | {', '.join(was)} | {', '.join(now)} | {PURPOSE.get(n) or first_commit_subject(n)} "
                         f"| {seconds(s)} | {100 * s / total_units:.1f}% |")
    heaviest = sorted(crates.items(), key=lambda kv: -kv[1]["s"])[:5]
    lines.append("")
    lines.append(
        "For scale, the five longest crates of the build: "
        + ", ".join(f"{name} {seconds(c['s'])} s" for (name, _), c in heaviest)
        + f" (the `{PACKAGE}` unit includes the thin-LTO link of the whole binary).")
    return "\n".join(lines) + "\n"


def main():
    args = sys.argv[1:]
    if args not in ([], ["--no-build"]):
        sys.exit(__doc__)
    if args == ["--no-build"]:
        if not os.path.exists(RUN_FILE):
            sys.exit(f"missing {RUN_FILE}: run without --no-build first")
        with open(RUN_FILE, encoding="utf-8") as f:
            run = json.load(f)
    else:
        run = cold_build()
    text = section(run, unit_data())
    print(text)
    write_section("timings", text)


if __name__ == "__main__":
    main()
