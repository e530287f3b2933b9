"""Fixtures: the in-process fake (tests/fake_api.py) and the contract's examples."""

from __future__ import annotations

from typing import Any, Dict, List

import pytest

from fake_api import DEV_KEY, FakeImageSaaS
from imagesaas import ImageSaaS
from support import BASE_URL, OPENAPI


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


@pytest.fixture(scope="session")
def openapi() -> Dict[str, Any]:
    if not OPENAPI.exists():
        pytest.skip("docs/openapi.yaml is not beside this package (run the suite from the repository)")
    yaml = pytest.importorskip("yaml")
    return yaml.safe_load(OPENAPI.read_text())
