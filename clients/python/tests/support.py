"""What the fake suite's tests import: the fake's base URL, an async client
of the fake, and readers of docs/openapi.yaml's examples and schemas.
(conftest.py holds only fixtures: two suites' conftest modules cannot both
be imported by name.)"""

from __future__ import annotations

import pathlib
from typing import Any, Dict

from fake_api import DEV_KEY, FakeImageSaaS
from imagesaas import AsyncImageSaaS

OPENAPI = pathlib.Path(__file__).resolve().parents[3] / "docs" / "openapi.yaml"
BASE_URL = "http://imagesaas.test"


def make_async(fake: FakeImageSaaS, **kw: Any) -> AsyncImageSaaS:
    kw.setdefault("poll_interval", 0.01)
    return AsyncImageSaaS(api_key=DEV_KEY, base_url=BASE_URL, transport=fake.async_transport, **kw)


def examples(openapi: Dict[str, Any], path: str, method: str, status: str) -> Dict[str, Any]:
    """The named examples of one response of docs/openapi.yaml."""
    op = openapi["paths"][path][method]
    resp = op["responses"][status]
    if "$ref" in resp:
        resp = openapi["components"]["responses"][resp["$ref"].rsplit("/", 1)[1]]
    return {name: ex["value"] for name, ex in resp["content"]["application/json"]["examples"].items()}


def schema(openapi: Dict[str, Any], name: str) -> Dict[str, Any]:
    return openapi["components"]["schemas"][name]
