"""``ImageSaaS`` (sync, ``httpx.Client``) and ``AsyncImageSaaS`` (``httpx.AsyncClient``).

Both are thin drivers of the flows in ``_core``: a method builds a flow and
runs it; the drivers differ only in how they send a request and sleep.
"""

from __future__ import annotations

import asyncio
import datetime as _dt
import os
import time
from typing import Any, AsyncIterator, Literal, cast, overload, Callable, Dict, Iterator, List, Mapping, Optional, Sequence, Union

import httpx

from . import _core
from ._core import Config, HttpRequest, Outcome, Sleep, T
from ._errors import ImageSaaSError
from ._models import CancelResult, Delivery, Job, JobListItem, JobPage, Redelivery, Submission, UsageReport


def _config(
    api_key: Optional[str],
    base_url: Optional[str],
    *,
    timeout: float,
    max_retries: int,
    max_retry_wait: float,
    wait_timeout: float,
    poll_interval: float,
    headers: Optional[Mapping[str, str]],
) -> Config:
    key = api_key if api_key is not None else os.environ.get("IMAGESAAS_API_KEY")
    if not key:
        raise ImageSaaSError("no API key: pass api_key=... or set IMAGESAAS_API_KEY")
    url = base_url if base_url is not None else os.environ.get("IMAGESAAS_BASE_URL") or _core.DEFAULT_BASE_URL
    if max_retries < 0:
        raise ValueError("max_retries must be 0 or more")
    return Config(
        api_key=key,
        base_url=url.rstrip("/"),
        timeout=float(timeout),
        max_retries=int(max_retries),
        max_retry_wait=float(max_retry_wait),
        wait_timeout=float(wait_timeout),
        poll_interval=float(poll_interval),
        headers=dict(headers or {}),
    )


def _outcome(response: httpx.Response) -> Outcome:
    return Outcome(status=response.status_code, headers=response.headers, content=response.content)


_TRANSPORT_ERRORS = (httpx.TransportError,)


class ImageSaaS:
    """The synchronous client.

    ``api_key`` defaults to ``$IMAGESAAS_API_KEY``, ``base_url`` to
    ``$IMAGESAAS_BASE_URL``, else ``http://localhost:3001`` (``make dev``).
    ``timeout``: seconds per HTTP request (a waiting request gets its wait
    on top). ``max_retries``: retries of a 429 ``RATE_LIMIT_EXCEEDED``, a 5xx
    or a connection error, with jittered exponential backoff, or after
    ``Retry-After`` when it is at most ``max_retry_wait`` seconds (longer is
    raised at once, as is ``QUOTA_EXCEEDED``). ``wait_timeout``: the
    default bound of ``generate(wait=True)`` and ``jobs.wait``.
    ``poll_interval``: the shortest gap between two polls. ``http_client``
    or ``transport``: an ``httpx.Client`` or transport of your own.
    """

    def __init__(
        self,
        api_key: Optional[str] = None,
        base_url: Optional[str] = None,
        *,
        timeout: float = 30.0,
        max_retries: int = 3,
        max_retry_wait: float = 60.0,
        wait_timeout: float = 300.0,
        poll_interval: float = 1.0,
        headers: Optional[Mapping[str, str]] = None,
        http_client: Optional[httpx.Client] = None,
        transport: Optional[httpx.BaseTransport] = None,
    ) -> None:
        self._config = _config(
            api_key,
            base_url,
            timeout=timeout,
            max_retries=max_retries,
            max_retry_wait=max_retry_wait,
            wait_timeout=wait_timeout,
            poll_interval=poll_interval,
            headers=headers,
        )
        self._owns_http = http_client is None
        self._http = http_client or httpx.Client(transport=transport, follow_redirects=False)
        self._sleep: Callable[[float], None] = time.sleep
        self.jobs = Jobs(self)

    # -- the driver --------------------------------------------------------

    def _send(self, req: HttpRequest) -> Outcome:
        try:
            r = self._http.request(
                req.method,
                req.url,
                params=list(req.params) or None,
                headers=req.headers,
                content=req.content,
                timeout=req.timeout,
            )
        except _TRANSPORT_ERRORS as e:
            return Outcome(error=e)
        return _outcome(r)

    def _run(self, flow: _core.Flow[T]) -> T:
        try:
            step = next(flow)
            while True:
                if isinstance(step, Sleep):
                    self._sleep(step.seconds)
                    step = flow.send(None)
                else:
                    step = flow.send(self._send(step))
        except StopIteration as stop:
            return cast(T, stop.value)

    # -- the API -----------------------------------------------------------

    @overload
    def generate(
        self,
        prompt: str,
        *,
        mode: Optional[str] = None,
        aspect_ratio: Optional[str] = None,
        input_image_url: Optional[str] = None,
        input_image_urls: Optional[Sequence[str]] = None,
        image_size: Optional[str] = None,
        number_of_images: Optional[int] = None,
        output_format: Optional[str] = None,
        output_quality: Optional[int] = None,
        deadline_seconds: Optional[int] = None,
        webhook_url: Optional[str] = None,
        idempotency_key: Optional[str] = None,
        wait: Literal[True],
        timeout: Optional[float] = None,
    ) -> Job: ...

    @overload
    def generate(
        self,
        prompt: str,
        *,
        mode: Optional[str] = None,
        aspect_ratio: Optional[str] = None,
        input_image_url: Optional[str] = None,
        input_image_urls: Optional[Sequence[str]] = None,
        image_size: Optional[str] = None,
        number_of_images: Optional[int] = None,
        output_format: Optional[str] = None,
        output_quality: Optional[int] = None,
        deadline_seconds: Optional[int] = None,
        webhook_url: Optional[str] = None,
        idempotency_key: Optional[str] = None,
        wait: Literal[False] = False,
        timeout: Optional[float] = None,
    ) -> Submission: ...

    @overload
    def generate(
        self,
        prompt: str,
        *,
        mode: Optional[str] = None,
        aspect_ratio: Optional[str] = None,
        input_image_url: Optional[str] = None,
        input_image_urls: Optional[Sequence[str]] = None,
        image_size: Optional[str] = None,
        number_of_images: Optional[int] = None,
        output_format: Optional[str] = None,
        output_quality: Optional[int] = None,
        deadline_seconds: Optional[int] = None,
        webhook_url: Optional[str] = None,
        idempotency_key: Optional[str] = None,
        wait: bool = False,
        timeout: Optional[float] = None,
    ) -> Union[Job, Submission]: ...

    def generate(
        self,
        prompt: str,
        *,
        mode: Optional[str] = None,
        aspect_ratio: Optional[str] = None,
        input_image_url: Optional[str] = None,
        input_image_urls: Optional[Sequence[str]] = None,
        image_size: Optional[str] = None,
        number_of_images: Optional[int] = None,
        output_format: Optional[str] = None,
        output_quality: Optional[int] = None,
        deadline_seconds: Optional[int] = None,
        webhook_url: Optional[str] = None,
        idempotency_key: Optional[str] = None,
        wait: bool = False,
        timeout: Optional[float] = None,
    ) -> Union[Job, Submission]:
        """Submit a job: ``POST /v1/images/generate``.

        Only the options given are sent (the API applies its defaults).
        ``idempotency_key`` defaults to a new UUID4, sent on every retry.
        Without ``wait``: the ``Submission`` (``job_id``, ``status``).
        With ``wait=True``: ``Prefer: wait``, then long polls until the job
        is terminal, and the final ``Job``; ``WaitTimeoutError`` (with the
        last view in ``.job``) after ``timeout`` seconds (default
        ``wait_timeout``).
        """
        body = _core.generate_body(
            prompt,
            mode=mode,
            aspect_ratio=aspect_ratio,
            input_image_url=input_image_url,
            input_image_urls=input_image_urls,
            image_size=image_size,
            number_of_images=number_of_images,
            output_format=output_format,
            output_quality=output_quality,
            deadline_seconds=deadline_seconds,
            webhook_url=webhook_url,
        )
        return self._run(
            _core.submit(self._config, body, idempotency_key=idempotency_key, wait=wait, timeout=timeout)
        )

    def usage(
        self,
        from_: Union[str, _dt.date, None] = None,
        to: Union[str, _dt.date, None] = None,
    ) -> UsageReport:
        """``GET /v1/usage``: days (``date`` or ``YYYY-MM-DD``), both included; default the month so far."""
        return self._run(_core.usage(self._config, from_=from_, to=to))

    def health(self) -> Dict[str, Any]:
        """``GET /health`` (no authentication)."""
        return self._run(_core.health(self._config))

    def close(self) -> None:
        if self._owns_http:
            self._http.close()

    def __enter__(self) -> "ImageSaaS":
        return self

    def __exit__(self, *exc: Any) -> None:
        self.close()


class Jobs:
    """``client.jobs``: read, list, wait for, cancel jobs; their webhook deliveries."""

    def __init__(self, client: ImageSaaS) -> None:
        self._client = client

    def get(self, job_id: str, *, wait: Optional[int] = None) -> Job:
        """``GET /v1/jobs/{jobId}``; ``wait`` (1 to 25) makes it one long poll."""
        return self._client._run(_core.get_job(self._client._config, job_id, wait=wait))

    def wait(self, job_id: str, *, timeout: Optional[float] = None) -> Job:
        """Long-poll until the job is terminal; ``WaitTimeoutError`` after ``timeout`` seconds."""
        return self._client._run(_core.wait_job(self._client._config, job_id, timeout=timeout))

    def cancel(self, job_id: str) -> CancelResult:
        """``DELETE /v1/jobs/{jobId}``: only ``QUEUED`` and ``RETRYING`` jobs (else ``InvalidStateError``)."""
        return self._client._run(_core.cancel_job(self._client._config, job_id))

    def list(self, status: Optional[str] = None, *, page_size: Optional[int] = None) -> Iterator[JobListItem]:
        """Every job, newest first, following ``nextCursor`` page by page (``page_size`` is ``limit``)."""
        pager = _core.Pager(self._client._config, status=status, page_size=page_size)
        while not pager.done:
            page: JobPage = self._client._run(pager.next_page())
            yield from page.items

    def list_page(
        self, status: Optional[str] = None, *, limit: Optional[int] = None, cursor: Optional[str] = None
    ) -> JobPage:
        """One page of ``GET /v1/jobs``."""
        return self._client._run(_core.list_page(self._client._config, status=status, limit=limit, cursor=cursor))

    def deliveries(self, job_id: str) -> List[Delivery]:
        """``GET /v1/jobs/{jobId}/deliveries``: the webhook attempts, newest first."""
        return self._client._run(_core.deliveries(self._client._config, job_id))

    def redeliver(self, job_id: str) -> Redelivery:
        """``POST /v1/jobs/{jobId}/deliveries``: send the terminal event again (same ``eventId``)."""
        return self._client._run(_core.redeliver(self._client._config, job_id))


class AsyncImageSaaS:
    """The asyncio client: the same methods as ``ImageSaaS``, awaited; ``jobs.list`` is ``async for``."""

    def __init__(
        self,
        api_key: Optional[str] = None,
        base_url: Optional[str] = None,
        *,
        timeout: float = 30.0,
        max_retries: int = 3,
        max_retry_wait: float = 60.0,
        wait_timeout: float = 300.0,
        poll_interval: float = 1.0,
        headers: Optional[Mapping[str, str]] = None,
        http_client: Optional[httpx.AsyncClient] = None,
        transport: Optional[httpx.AsyncBaseTransport] = None,
    ) -> None:
        self._config = _config(
            api_key,
            base_url,
            timeout=timeout,
            max_retries=max_retries,
            max_retry_wait=max_retry_wait,
            wait_timeout=wait_timeout,
            poll_interval=poll_interval,
            headers=headers,
        )
        self._owns_http = http_client is None
        self._http = http_client or httpx.AsyncClient(transport=transport, follow_redirects=False)
        self._sleep: Callable[[float], Any] = asyncio.sleep
        self.jobs = AsyncJobs(self)

    async def _send(self, req: HttpRequest) -> Outcome:
        try:
            r = await self._http.request(
                req.method,
                req.url,
                params=list(req.params) or None,
                headers=req.headers,
                content=req.content,
                timeout=req.timeout,
            )
        except _TRANSPORT_ERRORS as e:
            return Outcome(error=e)
        return _outcome(r)

    async def _run(self, flow: _core.Flow[T]) -> T:
        try:
            step = next(flow)
            while True:
                if isinstance(step, Sleep):
                    await self._sleep(step.seconds)
                    step = flow.send(None)
                else:
                    step = flow.send(await self._send(step))
        except StopIteration as stop:
            return cast(T, stop.value)

    @overload
    async def generate(
        self,
        prompt: str,
        *,
        mode: Optional[str] = None,
        aspect_ratio: Optional[str] = None,
        input_image_url: Optional[str] = None,
        input_image_urls: Optional[Sequence[str]] = None,
        image_size: Optional[str] = None,
        number_of_images: Optional[int] = None,
        output_format: Optional[str] = None,
        output_quality: Optional[int] = None,
        deadline_seconds: Optional[int] = None,
        webhook_url: Optional[str] = None,
        idempotency_key: Optional[str] = None,
        wait: Literal[True],
        timeout: Optional[float] = None,
    ) -> Job: ...

    @overload
    async def generate(
        self,
        prompt: str,
        *,
        mode: Optional[str] = None,
        aspect_ratio: Optional[str] = None,
        input_image_url: Optional[str] = None,
        input_image_urls: Optional[Sequence[str]] = None,
        image_size: Optional[str] = None,
        number_of_images: Optional[int] = None,
        output_format: Optional[str] = None,
        output_quality: Optional[int] = None,
        deadline_seconds: Optional[int] = None,
        webhook_url: Optional[str] = None,
        idempotency_key: Optional[str] = None,
        wait: Literal[False] = False,
        timeout: Optional[float] = None,
    ) -> Submission: ...

    @overload
    async def generate(
        self,
        prompt: str,
        *,
        mode: Optional[str] = None,
        aspect_ratio: Optional[str] = None,
        input_image_url: Optional[str] = None,
        input_image_urls: Optional[Sequence[str]] = None,
        image_size: Optional[str] = None,
        number_of_images: Optional[int] = None,
        output_format: Optional[str] = None,
        output_quality: Optional[int] = None,
        deadline_seconds: Optional[int] = None,
        webhook_url: Optional[str] = None,
        idempotency_key: Optional[str] = None,
        wait: bool = False,
        timeout: Optional[float] = None,
    ) -> Union[Job, Submission]: ...

    async def generate(
        self,
        prompt: str,
        *,
        mode: Optional[str] = None,
        aspect_ratio: Optional[str] = None,
        input_image_url: Optional[str] = None,
        input_image_urls: Optional[Sequence[str]] = None,
        image_size: Optional[str] = None,
        number_of_images: Optional[int] = None,
        output_format: Optional[str] = None,
        output_quality: Optional[int] = None,
        deadline_seconds: Optional[int] = None,
        webhook_url: Optional[str] = None,
        idempotency_key: Optional[str] = None,
        wait: bool = False,
        timeout: Optional[float] = None,
    ) -> Union[Job, Submission]:
        """See ``ImageSaaS.generate``."""
        body = _core.generate_body(
            prompt,
            mode=mode,
            aspect_ratio=aspect_ratio,
            input_image_url=input_image_url,
            input_image_urls=input_image_urls,
            image_size=image_size,
            number_of_images=number_of_images,
            output_format=output_format,
            output_quality=output_quality,
            deadline_seconds=deadline_seconds,
            webhook_url=webhook_url,
        )
        return await self._run(
            _core.submit(self._config, body, idempotency_key=idempotency_key, wait=wait, timeout=timeout)
        )

    async def usage(
        self,
        from_: Union[str, _dt.date, None] = None,
        to: Union[str, _dt.date, None] = None,
    ) -> UsageReport:
        return await self._run(_core.usage(self._config, from_=from_, to=to))

    async def health(self) -> Dict[str, Any]:
        return await self._run(_core.health(self._config))

    async def aclose(self) -> None:
        if self._owns_http:
            await self._http.aclose()

    async def __aenter__(self) -> "AsyncImageSaaS":
        return self

    async def __aexit__(self, *exc: Any) -> None:
        await self.aclose()


class AsyncJobs:
    """``client.jobs`` of ``AsyncImageSaaS``."""

    def __init__(self, client: AsyncImageSaaS) -> None:
        self._client = client

    async def get(self, job_id: str, *, wait: Optional[int] = None) -> Job:
        return await self._client._run(_core.get_job(self._client._config, job_id, wait=wait))

    async def wait(self, job_id: str, *, timeout: Optional[float] = None) -> Job:
        return await self._client._run(_core.wait_job(self._client._config, job_id, timeout=timeout))

    async def cancel(self, job_id: str) -> CancelResult:
        return await self._client._run(_core.cancel_job(self._client._config, job_id))

    async def list(self, status: Optional[str] = None, *, page_size: Optional[int] = None) -> AsyncIterator[JobListItem]:
        pager = _core.Pager(self._client._config, status=status, page_size=page_size)
        while not pager.done:
            page: JobPage = await self._client._run(pager.next_page())
            for item in page.items:
                yield item

    async def list_page(
        self, status: Optional[str] = None, *, limit: Optional[int] = None, cursor: Optional[str] = None
    ) -> JobPage:
        return await self._client._run(
            _core.list_page(self._client._config, status=status, limit=limit, cursor=cursor)
        )

    async def deliveries(self, job_id: str) -> List[Delivery]:
        return await self._client._run(_core.deliveries(self._client._config, job_id))

    async def redeliver(self, job_id: str) -> Redelivery:
        return await self._client._run(_core.redeliver(self._client._config, job_id))
