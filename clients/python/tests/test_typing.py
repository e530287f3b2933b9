"""The package type-checks under mypy --strict, and so does a user's code (generate's overloads)."""

from __future__ import annotations

import pathlib
import subprocess
import sys
import textwrap

import pytest

pytest.importorskip("mypy")

HERE = pathlib.Path(__file__).resolve().parent
SRC = HERE.parent / "src" / "imagesaas"

USER_CODE = '''
from typing import List
from imagesaas import ImageSaaS, AsyncImageSaaS, Job, Submission, ApiError, RateLimitError
from imagesaas.webhooks import verify

client = ImageSaaS(api_key="img_test_dev_123456789", base_url="http://localhost:3001")
job = client.generate(prompt="A cute cat", mode="draft", wait=True)
urls: List[str] = job.result_urls
status: str = job.status
sub = client.generate("A cat")
key: str = sub.idempotency_key
for item in client.jobs.list(status="SUCCEEDED"):
    prompt: str = item.prompt
try:
    client.jobs.cancel(job.job_id)
except RateLimitError as e:
    wait_s = e.retry_after
except ApiError as e:
    rid = e.request_id

async def main() -> None:
    a = AsyncImageSaaS()
    j = await a.generate("x", wait=True, timeout=60)
    n: int = len(j.images)
    async for it in a.jobs.list():
        print(it.id)

event = verify("whsec_x", {}, b"")
eid: str = event.event_id
'''


def mypy(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "mypy", "--strict", "--no-incremental", *args], capture_output=True, text=True)


def test_the_package_is_mypy_strict_clean():
    if not SRC.exists():
        pytest.skip("run from the source tree")
    r = mypy(str(SRC))
    assert r.returncode == 0, r.stdout + r.stderr


def test_user_code_type_checks(tmp_path):
    f = tmp_path / "user_code.py"
    f.write_text(textwrap.dedent(USER_CODE))
    r = mypy(str(f))
    assert r.returncode == 0, r.stdout + r.stderr
