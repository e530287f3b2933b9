#!/usr/bin/env python3
"""The fuzz project (fuzz/, outside the workspace, with its own Cargo.lock)
must build the code it fuzzes with the dependencies the workspace ships:
every crate both lock files hold must be resolved to the same versions, and
a dependency fuzz/Cargo.toml declares that the workspace pins too must be
declared alike. Run by `make lint`; exits 1 naming each mismatch.

When it fails: copy the workspace's versions into fuzz/Cargo.lock, e.g.
`cd fuzz && cargo update -p NAME --precise VERSION`.
"""

import sys
import tomllib
from collections import defaultdict
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def locked(path):
    versions = defaultdict(set)
    for package in tomllib.loads(path.read_text())["package"]:
        if "source" in package:  # registry crates; path crates are ours
            versions[package["name"]].add(package["version"])
    return versions


def main():
    problems = []
    workspace, fuzz = locked(ROOT / "Cargo.lock"), locked(ROOT / "fuzz/Cargo.lock")
    for name in sorted(workspace.keys() & fuzz.keys()):
        extra = fuzz[name] - workspace[name]
        if extra:
            problems.append(
                f"fuzz/Cargo.lock has {name} {', '.join(sorted(extra))}; "
                f"Cargo.lock has {', '.join(sorted(workspace[name]))}"
            )
    pinned = tomllib.loads((ROOT / "Cargo.toml").read_text())["workspace"]["dependencies"]
    declared = tomllib.loads((ROOT / "fuzz/Cargo.toml").read_text()).get("dependencies", {})
    for name in sorted(pinned.keys() & declared.keys()):
        want, have = pinned[name], declared[name]
        if isinstance(want, dict) and "path" in want:
            continue
        if have != want and not (isinstance(have, dict) and have.get("workspace")):
            problems.append(
                f"fuzz/Cargo.toml declares {name} = {have!r}; the workspace pins {want!r}"
            )
    for problem in problems:
        print(f"fuzz pins: {problem}", file=sys.stderr)
    if problems:
        return 1
    print(f"fuzz pins: {len(workspace.keys() & fuzz.keys())} shared crates, same versions")
    return 0


if __name__ == "__main__":
    sys.exit(main())
