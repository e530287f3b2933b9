"""Fixtures: the in-process fake (tests/fake_api.py) and the contract's examples."""

from __future__ import annotations

import pathlib
from typing import Any, Dict, List

import pytest

from fake_api import DEV_KEY, FakeImageSaaS
from imagesaas import AsyncImageSaaS, ImageSaaS

OPENAPI = pathlib.Path(__file__).resolve().parents[3] / "docs" / "openapi.yaml"
BASE_URL = "http://imagesaas.test"


@pytest.fixture
def fake() -> FakeImageSaaS:
    return FakeImageSaaS()


class SleepRecorder:
    """Stands in for time.sleep: records the waits instead of sleeping."""

    def __init__(self) -> None:
        self.calls: List[float] = []

    def __call__(self, seconds: float) -> None:
        self.calls.append(seconds)


@pytest.fixture
def sleeps() -> SleepRecorder:
    return SleepRecorder()


@pytest.fixture
def client(fake: FakeImageSaaS, sleeps: SleepRecorder) -> ImageSaaS:
    c = ImageSaaS(api_key=DEV_KEY, base_url=BASE_URL, transport=fake.transport, poll_interval=0.01)
    c._sleep = sleeps
    yield c
    c.close()


def make_async(fake: FakeImageSaaS, **kw: Any) -> AsyncImageSaaS:
    kw.setdefault("poll_interval", 0.01)
    return AsyncImageSaaS(api_key=DEV_KEY, base_url=BASE_URL, transport=fake.async_transport, **kw)


@pytest.fixture(scope="session")
def openapi() -> Dict[str, Any]:
    if not OPENAPI.exists():
        pytest.skip("docs/openapi.yaml is not beside this package (run the suite from the repository)")
    yaml = pytest.importorskip("yaml")
    return yaml.safe_load(OPENAPI.read_text())


def examples(openapi: Dict[str, Any], path: str, method: str, status: str) -> Dict[str, Any]:
    """The named examples of one response of docs/openapi.yaml."""
    op = openapi["paths"][path][method]
    resp = op["responses"][status]
    if "$ref" in resp:
        resp = openapi["components"]["responses"][resp["$ref"].rsplit("/", 1)[1]]
    return {name: ex["value"] for name, ex in resp["content"]["application/json"]["examples"].items()}


def schema(openapi: Dict[str, Any], name: str) -> Dict[str, Any]:
    return openapi["components"]["schemas"][name]
