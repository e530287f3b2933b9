#!/usr/bin/env python3
"""Keeps docs/API.md in step with docs/openapi.yaml (`make lint-docs`).

The two documents describe one contract; this fails, naming each
disagreement, when:

- an operation (method + path) of the spec has no `### METHOD /path`
  section in API.md, or API.md has a section for one the spec lacks;
- an error code of the spec is missing from API.md's error table, has
  another HTTP status there, or the table names a code the spec lacks;
- an operation's section in API.md does not name, as `STATUS CODE`, each
  error response the spec declares for it (each code of a `oneOf` of error
  schemas, when one status has two codes), or names one the spec does not;
- a job failure code, an enum value, a schema property, a parameter or a
  header of the spec never appears in API.md (in backticks), or a field in
  a table of API.md's routes is in no schema of the spec;
- a length or range limit or a default of a field or parameter is not
  written where API.md describes that field (a default is a schema's
  `default`, or the first value of a "Default: `value`" in its
  description: request fields and query parameters state their defaults
  that way, so that generated clients do not send them);
- a relative link in README.md, CONTRIBUTING.md, ARCHITECTURE.md,
  BENCHMARKS.md or docs/ points at nothing, or anything there names a path
  outside the repository (the contract's copy beside the repository, in
  `shared` + `/spec`, or a `..` + `/shared` link to it).

The "Coming in 1.1" section of API.md lists what is not built yet: it is
not checked against the spec, and what it names does not count as
documented.

Standard library and PyYAML only (the docs venv has it through
openapi-spec-validator).
"""

import re
import sys
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parent.parent
API_MD = ROOT / "docs" / "API.md"
SPEC = ROOT / "docs" / "openapi.yaml"
METHODS = ("get", "put", "post", "delete", "patch", "head", "options")
COMING = "Coming in 1.1"

problems = []


def problem(msg):
    problems.append(msg)


def sections(text, level):
    """`{heading: body}` for the headings of exactly `level` `#`s."""
    pattern = re.compile(rf"^{'#' * level} (.+)$", re.M)
    marks = list(pattern.finditer(text))
    out = {}
    for i, m in enumerate(marks):
        end = len(text)
        # A section ends at the next heading of its level or a higher one.
        nxt = re.compile(rf"^#{{1,{level}}} ", re.M).search(text, m.end())
        if nxt:
            end = nxt.start()
        out[m.group(1).strip()] = text[m.end():end]
    return out


def backticked(text):
    """Every identifier written inside backticks (`items[].id` gives both)."""
    names = set()
    for span in re.findall(r"`([^`\n]+)`", text):
        names.add(span)
        names.update(re.findall(r"[A-Za-z_][A-Za-z0-9_-]*", span))
    return names


def number_spellings(n):
    return {str(n), f"{n:,}"}


class Spec:
    def __init__(self, doc):
        self.doc = doc

    def deref(self, node):
        seen = 0
        while isinstance(node, dict) and "$ref" in node:
            ref = node["$ref"]
            assert ref.startswith("#/"), ref
            node = self.doc
            for part in ref[2:].split("/"):
                node = node[part]
            seen += 1
            assert seen < 20, ref
        return node

    def operations(self):
        for path, item in self.doc["paths"].items():
            shared_params = item.get("parameters", [])
            for method in METHODS:
                if method in item:
                    yield method.upper(), path, item[method], shared_params

    def error_codes_of(self, response):
        """The error codes a response's schema allows: the single code of
        an error schema, or one per alternative of a `oneOf` of them (one
        status answered with either of two codes)."""
        response = self.deref(response)
        schema = response.get("content", {}).get("application/json", {}).get("schema")
        if not schema:
            return set()
        schema = self.deref(schema)
        if "oneOf" in schema:
            codes = [self.single_code(alt) for alt in schema["oneOf"]]
            return set(codes) if all(codes) else set()
        code = self.single_code(schema)
        return {code} if code else set()

    def single_code(self, schema):
        """The one error code an error schema allows (its `error` is a
        `const`, or an `enum` of one), if any."""
        schema = self.deref(schema)
        error = self.deref(schema.get("properties", {}).get("error", {}))
        if "const" in error:
            return error["const"]
        enum = error.get("enum")
        if enum and len(enum) == 1:
            return enum[0]
        return None


def main():
    text = API_MD.read_text(encoding="utf-8")
    spec = Spec(yaml.safe_load(SPEC.read_text(encoding="utf-8")))

    # What is not built yet is not part of the checked document.
    top = sections(text, 2)
    if COMING not in top:
        problem(f'API.md has no "## {COMING}" section')
    coming = top.get(COMING, "")
    doc = text.replace(coming, "\n") if coming else text
    doc_names = backticked(doc)
    doc_top = sections(doc, 2)

    # ---- operations
    route_sections = {}
    for heading, body in sections(doc, 3).items():
        m = re.fullmatch(r"(GET|PUT|POST|DELETE|PATCH|HEAD|OPTIONS) (/\S*)", heading)
        if m:
            route_sections[(m.group(1), m.group(2))] = body
    spec_ops = {(method, path): (op, params) for method, path, op, params in spec.operations()}
    for key in sorted(spec_ops.keys() - route_sections.keys()):
        problem(f"operation {key[0]} {key[1]} is in openapi.yaml but has no `### {key[0]} {key[1]}` in API.md")
    for key in sorted(route_sections.keys() - spec_ops.keys()):
        problem(f"API.md documents {key[0]} {key[1]}, which openapi.yaml lacks")

    # ---- error codes: the table, and each operation's responses
    schemas = spec.doc["components"]["schemas"]
    spec_codes = set(schemas["ErrorCode"]["enum"])
    code_status = {}
    op_errors = {}
    for (method, path), (op, _) in spec_ops.items():
        errors = set()
        for status, response in op.get("responses", {}).items():
            for code in spec.error_codes_of(response):
                errors.add((int(status), code))
                if code_status.setdefault(code, int(status)) != int(status):
                    problem(f"openapi.yaml gives {code} two statuses")
        op_errors[(method, path)] = errors
    table = {}
    for m in re.finditer(r"^\| `([A-Z_]+)` \| (\d{3}) \|", doc_top.get("Errors", ""), re.M):
        table[m.group(1)] = int(m.group(2))
    for code in sorted(spec_codes - table.keys()):
        problem(f"error code {code} is in openapi.yaml but not in API.md's error table")
    for code in sorted(table.keys() - spec_codes):
        problem(f"API.md's error table names {code}, which openapi.yaml lacks")
    for code, status in sorted(code_status.items()):
        if code in table and table[code] != status:
            problem(f"{code} is HTTP {status} in openapi.yaml but {table[code]} in API.md")
    for key, body in route_sections.items():
        if key not in op_errors:
            continue
        written = {(int(s), c) for s, c in re.findall(r"`(\d{3}) ([A-Z_]+)`", body)}
        for status, code in sorted(op_errors[key] - written):
            problem(f"API.md's {key[0]} {key[1]} does not name `{status} {code}`, which the spec declares")
        for status, code in sorted(written - op_errors[key]):
            problem(f"API.md's {key[0]} {key[1]} names `{status} {code}`, which the spec does not declare for it")

    # ---- names: enums, properties, parameters, headers
    spec_props = set()
    for name, schema in schemas.items():
        for value in schema.get("enum", []) or []:
            if value is not None and str(value) not in doc_names:
                problem(f"{name} value `{value}` of openapi.yaml is not in API.md")
        for prop, body in (schema.get("properties") or {}).items():
            spec_props.add(prop)
            if prop not in doc_names:
                problem(f"field `{prop}` of {name} in openapi.yaml is not in API.md")
            body = spec.deref(body)
            for value in body.get("enum", []) or []:
                if value is not None and str(value) not in doc_names:
                    problem(f"{name}.{prop} value `{value}` of openapi.yaml is not in API.md")
    for name in spec.doc["components"].get("headers", {}):
        if name not in doc_names:
            problem(f"header `{name}` of openapi.yaml is not in API.md")
    params = [spec.deref(p) for p in spec.doc["components"].get("parameters", {}).values()]
    for p in params:
        if p["name"] not in doc_names:
            problem(f"parameter `{p['name']}` of openapi.yaml is not in API.md")

    # Fields API.md's route tables describe must exist in the spec.
    known = spec_props | {p["name"] for p in params}
    for key, body in route_sections.items():
        for header, rows in tables(body):
            if header not in ("field", "parameter"):
                continue
            for first in rows:
                for span in re.findall(r"`([^`]+)`", first):
                    leaf = re.findall(r"[A-Za-z_][A-Za-z0-9_]*", span)[-1]
                    if leaf not in known:
                        problem(f"API.md's {key[0]} {key[1]} describes `{span}`, which no schema of openapi.yaml has")

    # ---- limits and defaults, written where API.md describes the field
    blocks = re.split(r"\n\s*\n|\n(?=\|)", doc)
    # (name, schema, the node whose description documents it): a
    # parameter's description is the parameter's, a field's its schema's.
    limited = [(p["name"], p.get("schema", {}), p) for p in params]
    limited += [(n, s, s) for n, s in schemas["GenerateRequest"]["properties"].items()]
    for name, schema, documented in limited:
        schema = spec.deref(schema)
        wanted = {}
        for key in ("maxLength", "maximum"):
            if key in schema:
                wanted[key] = number_spellings(schema[key])
        if "default" in schema:
            wanted["default"] = {str(schema["default"])}
        # Request fields and query parameters describe their defaults
        # instead of declaring them (a generated client would send a
        # declared one).
        described = described_default(documented)
        if described is not None and "default" not in wanted:
            wanted["default"] = {described}
        where = [b for b in blocks if f"`{name}`" in b]
        for key, spellings in wanted.items():
            if not any(any(s in b for s in spellings) for b in where):
                problem(f"API.md does not state the {key} of `{name}` ({min(spellings)}) where it describes it")

    check_links()

    if problems:
        print(f"docs/API.md and docs/openapi.yaml disagree ({len(problems)}):", file=sys.stderr)
        for p in problems:
            print(f"  - {p}", file=sys.stderr)
        return 1
    print(
        f"docs/API.md matches docs/openapi.yaml: {len(spec_ops)} operations, "
        f"{len(spec_codes)} error codes, {len(spec_props)} fields; links in the docs resolve"
    )
    return 0


DESCRIBED_DEFAULT = re.compile(r"\bDefault: `([^`]+)`")


def described_default(node):
    """The value of the first "Default: `value`" in a description."""
    m = DESCRIBED_DEFAULT.search((node or {}).get("description", "") or "")
    return m.group(1) if m else None


def tables(body):
    """`(first header cell, [first cell of each row])` for each table."""
    out = []
    lines = body.splitlines()
    i = 0
    while i < len(lines):
        if lines[i].startswith("|") and i + 1 < len(lines) and re.match(r"^\|[-| :]+\|$", lines[i + 1]):
            header = lines[i].strip("|").split("|")[0].strip()
            rows = []
            i += 2
            while i < len(lines) and lines[i].startswith("|"):
                rows.append(lines[i].strip("|").split("|")[0])
                i += 1
            out.append((header, rows))
        else:
            i += 1
    return out


# Files in the repository the docs name in backticks (`system-tests/tests/api/`):
# they must exist, so a move that forgets the docs fails here.
REPO_PATH = re.compile(
    r"(?<![\w/.-])(?:admin|bench|devstack|docs|events|functions|fuzz|local|runtime|shared|system-tests|testkit|\.ci)"
    r"/[A-Za-z0-9_.-]+(?:/[A-Za-z0-9_.-]+)*/?"
)
# Made by builds and runs, not in a clean clone.
GENERATED = ("fuzz/target", "fuzz/artifacts", "system-tests/browser/node_modules")


def check_links():
    files = [ROOT / n for n in ("README.md", "CONTRIBUTING.md", "ARCHITECTURE.md", "BENCHMARKS.md")]
    files += sorted((ROOT / "docs").glob("*.md")) + [ROOT / "docs" / "api.html", SPEC]
    for f in files:
        if not f.exists():
            continue
        text = f.read_text(encoding="utf-8")
        rel = f.relative_to(ROOT)
        # Spelled in two parts so that this file does not name them itself.
        for bad in ("shared" + "/spec", ".." + "/shared"):
            if bad in text:
                problem(f"{rel} names `{bad}`, a path outside the repository")
        if f.suffix != ".md":
            continue
        seen = set()
        for target in re.findall(r"\]\(([^)\s]+)\)", text):
            if re.match(r"^[a-z]+:", target) or target.startswith("#") or target in seen:
                continue
            seen.add(target)
            path = (f.parent / target.split("#", 1)[0]).resolve()
            if ROOT not in path.parents and path != ROOT:
                problem(f"{rel} links `{target}`, outside the repository")
            elif not path.exists():
                problem(f"{rel} links `{target}`, which does not exist")
        fenced = re.findall(r"^```[a-z]*\n(.*?)^```", text, re.S | re.M)
        inline = re.findall(r"`([^`\n]+)`", re.sub(r"^```.*?^```", "", text, flags=re.S | re.M))
        for span in sorted(set(inline + fenced)):
            for name in REPO_PATH.findall(span):
                if not name.startswith(GENERATED) and not (ROOT / name).exists():
                    problem(f"{rel} names `{name}`, which is not in the repository")


if __name__ == "__main__":
    sys.exit(main())
