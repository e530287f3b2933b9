#!/usr/bin/env python3
"""docs/openapi.yaml generates a clean client (`make test-openapi`).

Generates a Python client from the spec with the pinned
openapi-python-client of system-tests/openapi/requirements.txt, as a new
user would, into a temporary directory (removed afterwards), imports it and
fails, naming each problem, when:

- the generator warns (a schema or an operation it could not turn into
  code is missing from the client);
- two enum classes have the same member values (a nullable or inline field
  repeating an enum instead of referencing its named schema);
- an enum member is unnamed (`VALUE_0`, `VALUE_1`, ...: values such as
  `16:9` or `1K` need `x-enum-varnames`);
- a call or a request model would send a value the caller did not give:
  an operation argument or a request-body field (or a field of a model it
  holds) that defaults to anything but UNSET, or a call made with only its
  required arguments whose query string, optional headers or JSON body
  carry more than those (the request goes to an in-process
  `httpx.MockTransport`, never the network);
- a documented example does not survive the generated models: a request
  body example that does not come back unchanged from
  `from_dict(...).to_dict()`, or a response example that the generated
  `_parse_response` refuses, or parses into a model that does not give it
  back whole (the wrong branch of a `oneOf`: a model that drops or keeps
  aside fields it does not declare).

Prints the enum classes it generated and the checks' tally; exits 1 on any
problem. Run with the docs venv's Python (it has the generator, attrs and
httpx): `.venv-docs/bin/python system-tests/openapi/generated_client.py`.
`--keep DIR` writes the client to DIR instead (not removed), to look at it.
"""

import argparse
import datetime
import enum
import importlib
import inspect
import json
import pkgutil
import re
import subprocess
import sys
import tempfile
from pathlib import Path

import attrs
import httpx
import yaml
from openapi_python_client import strings

ROOT = Path(__file__).resolve().parents[2]
SPEC = ROOT / "docs" / "openapi.yaml"
PACKAGE = "imagesaas_generated"
METHODS = ("get", "put", "post", "delete", "patch")
UNNAMED = re.compile(r"^VALUE_(NEGATIVE_)?\d+$")
# A job id of the contract's shape, for path parameters.
JOB_ID = "cmkuz35wf00034rk15ycgzvce"

problems = []


def problem(msg):
    problems.append(msg)


def generate(spec, out):
    """Runs the pinned generator (the venv's, beside this Python) on `spec`
    into the package directory `out`; no post hooks (no formatter run)."""
    config = out.parent / "openapi-python-client.yaml"
    config.write_text("post_hooks: []\n", encoding="utf-8")
    cli = Path(sys.executable).with_name("openapi-python-client")
    cmd = [str(cli) if cli.exists() else "openapi-python-client"]
    cmd += ["generate", "--path", str(spec), "--meta", "none", "--config", str(config), "--output-path", str(out), "--overwrite"]
    run = subprocess.run(cmd, capture_output=True, text=True)
    output = (run.stdout + run.stderr).strip()
    if run.returncode != 0 or not (out / "__init__.py").exists():
        print(output, file=sys.stderr)
        problem(f"openapi-python-client failed (exit {run.returncode})")
        return False
    if "Warning" in output or "WARNING" in output:
        problem("openapi-python-client warned; the client lacks what it could not generate:\n    " + output.replace("\n", "\n    "))
    return True


def submodules(package):
    for info in pkgutil.walk_packages(package.__path__, package.__name__ + "."):
        yield importlib.import_module(info.name)


def is_unset(value, types):
    return isinstance(value, types.Unset)


# ---- enums

def check_enums(models):
    enums = {}
    for module in submodules(models):
        for name, obj in vars(module).items():
            if inspect.isclass(obj) and issubclass(obj, enum.Enum) and obj.__module__ == module.__name__:
                enums[name] = {m.name: m.value for m in obj}
    by_values = {}
    for name, members in sorted(enums.items()):
        by_values.setdefault(frozenset(members.values()), []).append(name)
        unnamed = [m for m in members if UNNAMED.match(m)]
        if unnamed:
            problem(
                f"enum {name} has unnamed members {', '.join(f'{m} = {members[m]!r}' for m in unnamed)} "
                "(give its schema `x-enum-varnames`)"
            )
    for values, names in sorted(by_values.items(), key=lambda kv: kv[1]):
        if len(names) > 1:
            problem(
                f"enums {', '.join(names)} repeat the same values {sorted(values)} "
                "(reference one named schema instead of repeating the enum)"
            )
    return enums


# ---- defaults the caller did not give

def model_classes(models):
    return {
        name: obj
        for name, obj in vars(models).items()
        if inspect.isclass(obj) and attrs.has(obj)
    }


def check_model_defaults(cls, classes, types, seen, where):
    """Every init field of a request model (and of the models it holds) has
    no default or UNSET."""
    if cls.__name__ in seen:
        return
    seen.add(cls.__name__)
    for field in attrs.fields(cls):
        if not field.init:
            continue
        default = field.default
        if isinstance(default, attrs.Factory):
            default = default.factory()
        if default is not attrs.NOTHING and not is_unset(default, types):
            problem(
                f"{where}: {cls.__name__}.{field.name} defaults to {default!r}: a generated call sends it "
                "although the caller did not (describe the default instead of declaring `default:`)"
            )
        annotation = field.type if isinstance(field.type, str) else repr(field.type)
        for ident in re.findall(r"[A-Za-z_][A-Za-z0-9_]*", annotation):
            if ident in classes and ident != cls.__name__:
                check_model_defaults(classes[ident], classes, types, seen, where)


def spec_operations(doc):
    for path, item in doc["paths"].items():
        shared = item.get("parameters", [])
        for method in METHODS:
            if method in item:
                yield path, method, item[method], shared


def deref(doc, node):
    while isinstance(node, dict) and "$ref" in node:
        target = doc
        for part in node["$ref"][2:].split("/"):
            target = target[part.replace("~1", "/").replace("~0", "~")]
        node = target
    return node


def operation_module(api, operation_id):
    name = strings.snake_case(operation_id)
    for module in submodules(api):
        if module.__name__.rsplit(".", 1)[-1] == name:
            return module
    return None


def minimal_body(doc, op):
    """The request body with only its required fields, each its schema's
    first example; None when the operation needs no body."""
    body = deref(doc, op.get("requestBody"))
    if not body or not body.get("required"):
        return None
    schema = deref(doc, body["content"]["application/json"]["schema"])
    out = {}
    for name in schema.get("required", []):
        prop = deref(doc, schema["properties"][name])
        if not prop.get("examples"):
            problem(f"{op['operationId']}: required field `{name}` has no example to call the client with")
            continue
        out[name] = prop["examples"][0]
    return out


def body_model(classes, doc, op):
    ref = op["requestBody"]["content"]["application/json"]["schema"].get("$ref", "")
    return classes.get(strings.pascal_case(ref.rsplit("/", 1)[-1])) if ref else None


def check_calls(pkg, doc):
    """Each operation called with only its required arguments sends only
    those: no query parameter, no optional header, a body as given."""
    client_mod = importlib.import_module(f"{pkg.__name__}.client")
    types = importlib.import_module(f"{pkg.__name__}.types")
    models = importlib.import_module(f"{pkg.__name__}.models")
    api = importlib.import_module(f"{pkg.__name__}.api")
    classes = model_classes(models)
    sent = []

    def handler(request):
        sent.append(request)
        return httpx.Response(204)

    client = client_mod.AuthenticatedClient(
        base_url="http://generated-client.invalid",
        token="img_test_dev_123456789",
        httpx_args={"transport": httpx.MockTransport(handler)},
    )
    calls = 0
    for path, method, op, shared in spec_operations(doc):
        op_id = op["operationId"]
        module = operation_module(api, op_id)
        if module is None:
            problem(f"the generated client has no module for operation {op_id} ({method.upper()} {path})")
            continue
        # Arguments with a default other than UNSET are sent when not given.
        defaults = {}
        for fn_name in ("_get_kwargs", "sync_detailed", "sync", "asyncio_detailed", "asyncio"):
            fn = getattr(module, fn_name, None)
            if fn is None:
                continue
            for param in inspect.signature(fn).parameters.values():
                if param.default is inspect.Parameter.empty or is_unset(param.default, types):
                    continue
                defaults.setdefault((param.name, repr(param.default)), []).append(fn_name)
        for (name, default), fns in defaults.items():
            problem(
                f"{op_id}: the argument `{name}` defaults to {default} ({', '.join(fns)}): every call sends it "
                "(describe the default instead of declaring `default:`)"
            )
        params = [deref(doc, p) for p in shared + op.get("parameters", [])]
        optional_headers = {p["name"].lower() for p in params if p["in"] == "header" and not p.get("required")}
        kwargs = {}
        body = minimal_body(doc, op)
        if body is not None:
            cls = body_model(classes, doc, op)
            if cls is None:
                problem(f"{op_id}: no generated model for the request body")
                continue
            check_model_defaults(cls, classes, types, set(), op_id)
            # Built as a caller would: the constructor, given only the
            # required fields (from_dict would leave the rest UNSET).
            loaded = cls.from_dict(body)
            required = {f.name: getattr(loaded, f.name) for f in attrs.fields(cls) if f.init and f.default is attrs.NOTHING}
            kwargs["body"] = cls(**required)
        elif op.get("requestBody"):
            cls = body_model(classes, doc, op)
            if cls is not None:
                check_model_defaults(cls, classes, types, set(), op_id)
        positional = []
        for p in params:
            if p["in"] == "path":
                positional.append(JOB_ID if p["name"] == "jobId" else str(p.get("example", "x")))
        sent.clear()
        module.sync_detailed(*positional, client=client, **kwargs)
        calls += 1
        if len(sent) != 1:
            problem(f"{op_id}: a call made {len(sent)} requests")
            continue
        request = sent[0]
        if request.url.query:
            problem(f"{op_id}: a call without query arguments sent `?{request.url.query.decode()}`")
        extra = sorted(h for h in optional_headers if h in request.headers)
        if extra:
            problem(f"{op_id}: a call without them sent the headers {', '.join(extra)}")
        if body is not None:
            got = json.loads(request.content or b"null")
            if got != body:
                extra_fields = sorted(set(got or {}) - set(body))
                problem(
                    f"{op_id}: a call with the body {json.dumps(body)} sent {json.dumps(got)}"
                    + (f" (fields the caller did not give: {', '.join(extra_fields)})" if extra_fields else "")
                )
    return calls


# ---- documented examples through the generated models

def leftovers(obj, where):
    """Paths of parsed models that kept fields they do not declare."""
    out = []
    if attrs.has(type(obj)):
        extra = getattr(obj, "additional_properties", None)
        if extra:
            out.append(f"{where} ({type(obj).__name__}: {', '.join(sorted(extra))})")
        for field in attrs.fields(type(obj)):
            out += leftovers(getattr(obj, field.name), f"{where}.{field.name}")
    elif isinstance(obj, list):
        for i, item in enumerate(obj):
            out += leftovers(item, f"{where}[{i}]")
    return out


ISO_TIME = re.compile(r"^\d{4}-\d{2}-\d{2}T")


def normalized(value):
    """JSON with date-times as datetimes (the models write `+00:00` and
    microseconds where the examples have `Z` and milliseconds)."""
    if isinstance(value, dict):
        return {k: normalized(v) for k, v in value.items()}
    if isinstance(value, list):
        return [normalized(v) for v in value]
    if isinstance(value, str) and ISO_TIME.match(value):
        try:
            return datetime.datetime.fromisoformat(value)
        except ValueError:
            return value
    return value


def check_examples(pkg, doc):
    client_mod = importlib.import_module(f"{pkg.__name__}.client")
    models = importlib.import_module(f"{pkg.__name__}.models")
    api = importlib.import_module(f"{pkg.__name__}.api")
    classes = model_classes(models)
    client = client_mod.Client(base_url="http://generated-client.invalid", raise_on_unexpected_status=True)
    count = 0
    ops = [(f"{m.upper()} {p}", op) for p, m, op, _ in spec_operations(doc)]
    ops += [(f"webhook {name}", op) for name, item in doc.get("webhooks", {}).items() for m, op in item.items() if m in METHODS]
    for label, op in ops:
        # Request bodies: from_dict then to_dict gives the example back.
        body = deref(doc, op.get("requestBody"))
        media = (body or {}).get("content", {}).get("application/json", {})
        cls = body_model(classes, doc, op) if media else None
        for name, example in media.get("examples", {}).items():
            value = deref(doc, example)["value"]
            count += 1
            if cls is None:
                problem(f"{label}: no generated model for the request body (example {name})")
                continue
            try:
                again = cls.from_dict(value).to_dict()
            except Exception as e:  # noqa: BLE001 - any failure is the finding
                problem(f"{label}: request example {name} does not load into {cls.__name__}: {e!r}")
                continue
            if again != value:
                problem(f"{label}: request example {name} comes back from {cls.__name__} as {json.dumps(again)}")
        if label.startswith("webhook"):
            continue
        module = operation_module(api, op["operationId"])
        if module is None:
            continue
        for status, response in op.get("responses", {}).items():
            response = deref(doc, response)
            media = response.get("content", {}).get("application/json", {})
            for name, example in media.get("examples", {}).items():
                value = deref(doc, example)["value"]
                count += 1
                where = f"{label} {status} example {name}"
                answer = httpx.Response(int(status), json=value, request=httpx.Request("GET", "http://generated-client.invalid"))
                try:
                    parsed = module._parse_response(client=client, response=answer)
                except Exception as e:  # noqa: BLE001 - any failure is the finding
                    problem(f"{where}: the generated client cannot parse it: {e!r}")
                    continue
                if parsed is None:
                    problem(f"{where}: the generated client returns None for it")
                    continue
                for leftover in leftovers(parsed, "body"):
                    problem(f"{where}: parsed into a model that does not declare some of its fields: {leftover}")
                # A model of `additionalProperties: false` drops what it does
                # not declare: the example must come back whole.
                again = parsed.to_dict() if hasattr(parsed, "to_dict") else parsed
                if normalized(again) != normalized(value):
                    problem(
                        f"{where}: parsed into {type(parsed).__name__}, which gives back {json.dumps(again)}"
                    )
    return count


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--spec", type=Path, default=SPEC)
    parser.add_argument("--keep", type=Path, help="write the client here and keep it")
    args = parser.parse_args()
    doc = yaml.safe_load(args.spec.read_text(encoding="utf-8"))

    with tempfile.TemporaryDirectory(prefix="generated-client-") as tmp:
        base = args.keep.resolve() if args.keep else Path(tmp)
        base.mkdir(parents=True, exist_ok=True)
        out = base / PACKAGE
        if generate(args.spec, out):
            sys.path.insert(0, str(base))
            sys.dont_write_bytecode = True
            try:
                pkg = importlib.import_module(PACKAGE)
                enums = check_enums(importlib.import_module(f"{PACKAGE}.models"))
                calls = check_calls(pkg, doc)
                examples = check_examples(pkg, doc)
            finally:
                sys.path.remove(str(base))
            print(f"enum classes ({len(enums)}):")
            for name, members in sorted(enums.items()):
                print(f"  {name}: {', '.join(f'{k}={v}' for k, v in members.items())}")
            if not problems:
                print(
                    f"generated client from {args.spec.name} is clean: {len(enums)} enums, none repeated or unnamed; "
                    f"{calls} operations called with only their required arguments send nothing else; "
                    f"{examples} examples load into the generated models"
                )

    if problems:
        print(f"the client generated from {args.spec.name} has problems ({len(problems)}):", file=sys.stderr)
        for p in problems:
            print(f"  - {p}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
