"""The package type-checks under mypy --strict, and so does a user's code (generate's overloads).

Both clients' methods are bound from one table of operations (``_core``) by
ParamSpec-typed decorators, so these tests also check that mypy still sees
every method's real parameters and result on both clients, and rejects
misuse, rather than an ``(*args, **kwargs)`` that accepts anything.
"""

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
import datetime
from typing import Any, Dict, List, Union
from imagesaas import (
    ApiError, AsyncImageSaaS, CancelResult, Delivery, ImageSaaS, Job, JobPage, RateLimitError, Redelivery,
    Submission, UsageReport,
)
from imagesaas.webhooks import verify

client = ImageSaaS(api_key="img_test_dev_123456789", base_url="http://localhost:3001")
job = client.generate(prompt="A cute cat", mode="draft", wait=True)
urls: List[str] = job.result_urls
status: str = job.status
sub = client.generate("A cat")
key: str = sub.idempotency_key
maybe: bool = len(key) > 3
either: Union[Job, Submission] = client.generate("A cat", wait=maybe)
got: Job = client.jobs.get(sub.job_id, wait=10)
waited: Job = client.jobs.wait(sub.job_id, timeout=5.0)
page: JobPage = client.jobs.list_page("SUCCEEDED", limit=10, cursor=None)
sent: List[Delivery] = client.jobs.deliveries(sub.job_id)
again: Redelivery = client.jobs.redeliver(sub.job_id)
report: UsageReport = client.usage(datetime.date(2026, 12, 1), to="2026-12-31")
health: Dict[str, Any] = client.health()
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
    s: Submission = await a.generate("x", mode="draft")
    c: CancelResult = await a.jobs.cancel(s.job_id)
    p: JobPage = await a.jobs.list_page(limit=1)
    u: UsageReport = await a.usage(from_="2026-12-01")
    async for it in a.jobs.list():
        print(it.id)
    async with AsyncImageSaaS() as b:
        w: Job = await b.jobs.wait("j")

event = verify("whsec_x", {}, b"")
eid: str = event.event_id
'''


# Each line ending in "  # <code>" is wrong, and mypy must say so there, with that code.
MISUSE = """
import httpx
from imagesaas import AsyncImageSaaS, ImageSaaS, Job

client = ImageSaaS()
a = AsyncImageSaaS()
job: Job = client.generate("A cat")  # assignment
client.generate("A cat", wiat=True)  # call-overload
client.generate(prompt=42)  # call-overload
client.jobs.get()  # call-arg
client.jobs.get("j", wait="soon")  # arg-type
client.usage(from_=20261201)  # arg-type
client.jobs.list(page_size=10, cursor="c")  # call-arg
ImageSaaS(http_client=httpx.AsyncClient())  # arg-type
AsyncImageSaaS(http_client=httpx.Client())  # arg-type
for item in a.jobs.list():  # attr-defined
    pass

async def main() -> None:
    j: Job = a.generate("x", wait=True)  # assignment
"""


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


def test_misuse_is_a_type_error(tmp_path):
    f = tmp_path / "misuse.py"
    f.write_text(MISUSE)
    r = mypy(str(f))
    expected = {
        (n, line.rsplit("# ", 1)[1])
        for n, line in enumerate(MISUSE.splitlines(), start=1)
        if "  # " in line
    }
    reported = set()
    for out in r.stdout.splitlines():
        if ": error: " in out:
            _, n, _rest = out.split(":", 2)
            reported.add((int(n), out.rsplit("[", 1)[1].rstrip("]")))
    assert reported == expected, r.stdout
