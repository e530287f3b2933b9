#!/usr/bin/env python3
"""Every example in docs/openapi.yaml is valid against its schema
(`make test-openapi`).

openapi-spec-validator checks the document's shape, not its examples.
This validates, with JSON Schema 2020-12 (the dialect of OpenAPI 3.1) and
format checks:

- each `example` and each `examples` entry (`value`) of a media type, a
  parameter or a header, against that object's `schema`;
- each schema's own `examples` list, against that schema (a property's
  examples against the property).

`$ref`s resolve inside the document. Fails, naming each example and the
first error, when one is invalid. Run with the docs venv's Python (it has
jsonschema through openapi-spec-validator).
"""

import sys
from pathlib import Path

import yaml
from jsonschema import Draft202012Validator
from jsonschema.exceptions import best_match
from referencing import Registry, Resource
from referencing.jsonschema import DRAFT202012

ROOT = Path(__file__).resolve().parents[2]
SPEC = ROOT / "docs" / "openapi.yaml"
BASE = "urn:imagesaas:openapi"


def pointer(parts):
    return "/" + "/".join(str(p).replace("~", "~0").replace("/", "~1") for p in parts)


def deref(doc, node):
    while isinstance(node, dict) and "$ref" in node:
        target = doc
        for part in node["$ref"][2:].split("/"):
            target = target[part.replace("~1", "/").replace("~0", "~")]
        node = target
    return node


def walk(node, parts=()):
    """(path, dict) for every mapping in the document."""
    if isinstance(node, dict):
        yield parts, node
        for k, v in node.items():
            yield from walk(v, parts + (k,))
    elif isinstance(node, list):
        for i, v in enumerate(node):
            yield from walk(v, parts + (i,))


def main(spec_path=SPEC):
    doc = yaml.safe_load(Path(spec_path).read_text(encoding="utf-8"))
    registry = Registry().with_resource(BASE, Resource.from_contents(doc, default_specification=DRAFT202012))
    problems = []
    count = 0

    def check(value, schema_parts, where):
        nonlocal count
        count += 1
        validator = Draft202012Validator(
            {"$ref": f"{BASE}#{pointer(schema_parts)}"},
            registry=registry,
            format_checker=Draft202012Validator.FORMAT_CHECKER,
        )
        error = best_match(validator.iter_errors(value))
        if error is not None:
            at = "/".join(str(p) for p in error.absolute_path) or "(the whole value)"
            problems.append(f"{where}: at {at}: {error.message}")

    for parts, node in walk(doc):
        # Skip what is only a schema's content (an example's value, an enum).
        if any(p in ("value", "enum", "const", "default") for p in parts):
            continue
        here = pointer(parts)
        if "schema" in node and isinstance(node["schema"], dict):
            # A media type, a parameter or a header.
            if "example" in node:
                check(node["example"], parts + ("schema",), f"{here}/example")
            for name, example in (node.get("examples") or {}).items():
                example = deref(doc, example)
                if "value" in example:
                    check(example["value"], parts + ("schema",), f"{here}/examples/{name}")
        elif isinstance(node.get("examples"), list) and parts and parts[-1] != "examples":
            # A schema's own examples.
            for i, value in enumerate(node["examples"]):
                check(value, parts, f"{here}/examples/{i}")

    if problems:
        print(f"{Path(spec_path).name}: {len(problems)} of {count} examples are invalid:", file=sys.stderr)
        for p in problems:
            print(f"  - {p}", file=sys.stderr)
        return 1
    print(f"{Path(spec_path).name}: all {count} examples are valid against their schemas")
    return 0


if __name__ == "__main__":
    sys.exit(main(*sys.argv[1:]))
