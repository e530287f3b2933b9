"""Fixtures of the live suite: the stack, and one tenant per test."""

from __future__ import annotations

import itertools
from typing import Any, Callable, Iterator

import httpx
import pytest

import live_stack
from imagesaas import ImageSaaS

_names = itertools.count(1)


@pytest.fixture(scope="session")
def base_url() -> str:
    if not live_stack.BASE_URL:
        pytest.skip(live_stack.SKIP_REASON)
    # Set means the stack must be there: a failure here, never a skip.
    httpx.get(f"{live_stack.BASE_URL}/health", timeout=30).raise_for_status()
    return live_stack.BASE_URL


@pytest.fixture
def new_tenant(base_url: str, request: pytest.FixtureRequest) -> Callable[..., live_stack.Tenant]:
    """``new_tenant(rpm=..., max_concurrency=..., webhook_url=..., monthly_image_quota=...)``."""

    def make(**kw: Any) -> live_stack.Tenant:
        return live_stack.new_tenant(f"py-{request.node.name[:40]}-{next(_names)}", **kw)

    return make


@pytest.fixture
def connect(base_url: str) -> Iterator[Callable[..., ImageSaaS]]:
    """``connect(key, **options)``: a client of the stack, closed after the test."""
    made = []

    def make(key: str, **kw: Any) -> ImageSaaS:
        kw.setdefault("base_url", base_url)
        kw.setdefault("poll_interval", 0.2)
        client = ImageSaaS(api_key=key, **kw)
        made.append(client)
        return client

    yield make
    for client in made:
        client.close()
