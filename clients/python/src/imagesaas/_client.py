"""``ImageSaaS`` (sync, ``httpx.Client``) and ``AsyncImageSaaS`` (``httpx.AsyncClient``).

The public surface is written once, in ``_core``: each operation is a flow
builder (``_core.generate``, ``_core.get_job``, ...) whose parameters after
``cfg``, overloads and docstring are those of the method. The classes below
are that one table of operations bound twice, by four small decorators:

- ``_sync(op)``: a method that runs the flow and returns its result;
- ``_async(op)``: an ``async def`` method that runs it, awaited;
- ``_sync_pages(op)`` / ``_async_pages(op)``: a listing's method, which runs
  one flow a page, when the caller reaches that page, and yields the items
  (``for`` / ``async for``).

They are typed with ``ParamSpec`` and ``Concatenate``, so mypy sees each
method's real parameters and result; it applies a decorator to each of
``generate``'s overloads in turn, so ``generate(wait=True)`` is a ``Job`` (or
an awaitable of one) and a bare ``generate`` a ``Submission``. At run time
each method is a plain function (``async def`` for the async client) named
after its attribute, with the operation's docstring and signature, so
``help()``, ``inspect`` and IDEs show it as written in ``_core``.

What is left per client is what must differ: the driver (``_send`` and
``_run``: ``httpx.Client`` and ``time.sleep``, or ``httpx.AsyncClient`` and
``asyncio.sleep``), ``close`` or ``aclose``, and the context manager.

Generating the sync module from the async one instead (unasync, as httpcore
does) would keep two copies of every signature in the tree, held in step by
a script and a test; this way there is one.
"""

from __future__ import annotations

import asyncio
import inspect
import os
import time
from typing import (
    Any,
    AsyncIterator,
    Awaitable,
    Callable,
    Concatenate,
    Coroutine,
    Generic,
    Iterator,
    Mapping,
    Optional,
    ParamSpec,
    Protocol,
    TypeVar,
    Union,
    cast,
    get_args,
)

import httpx

from . import _core
from ._core import Config, Flow, HttpRequest, Outcome, Pages, Sleep, T
from ._errors import ImageSaaSError

P = ParamSpec("P")
F = TypeVar("F", bound=Callable[..., Any])
D = TypeVar("D", covariant=True)
C = TypeVar("C")
HttpClient = TypeVar("HttpClient", httpx.Client, httpx.AsyncClient)
Transport = TypeVar("Transport", httpx.BaseTransport, httpx.AsyncBaseTransport)


# --- binding the operations ---------------------------------------------------


class _SyncDriver(Protocol):
    @property
    def _config(self) -> Config: ...

    def _run(self, flow: Flow[T]) -> T: ...


class _AsyncDriver(Protocol):
    @property
    def _config(self) -> Config: ...

    async def _run(self, flow: Flow[T]) -> T: ...


class _Bound(Protocol[D]):
    """What an operation is bound into: a client, or its ``jobs``, which runs its flows on the client's driver."""

    @property
    def _driver(self) -> D: ...


def _sync(op: Callable[Concatenate[Config, P], Flow[T]]) -> Callable[Concatenate[_Bound[_SyncDriver], P], T]:
    def method(self: _Bound[_SyncDriver], /, *args: P.args, **kwargs: P.kwargs) -> T:
        driver = self._driver
        return driver._run(op(driver._config, *args, **kwargs))

    return _shown_as(method, op, _flow_result)


def _async(
    op: Callable[Concatenate[Config, P], Flow[T]],
) -> Callable[Concatenate[_Bound[_AsyncDriver], P], Coroutine[Any, Any, T]]:
    async def method(self: _Bound[_AsyncDriver], /, *args: P.args, **kwargs: P.kwargs) -> T:
        driver = self._driver
        return await driver._run(op(driver._config, *args, **kwargs))

    # An async def's return annotation is what awaiting it gives, as for _sync.
    return _shown_as(method, op, _flow_result)


def _sync_pages(op: Callable[Concatenate[Config, P], Pages[T]]) -> Callable[Concatenate[_Bound[_SyncDriver], P], Iterator[T]]:
    def method(self: _Bound[_SyncDriver], /, *args: P.args, **kwargs: P.kwargs) -> Iterator[T]:
        driver = self._driver
        for page in op(driver._config, *args, **kwargs):
            yield from driver._run(page)

    return _shown_as(method, op, _items_of(Iterator))


def _async_pages(
    op: Callable[Concatenate[Config, P], Pages[T]],
) -> Callable[Concatenate[_Bound[_AsyncDriver], P], AsyncIterator[T]]:
    async def method(self: _Bound[_AsyncDriver], /, *args: P.args, **kwargs: P.kwargs) -> AsyncIterator[T]:
        driver = self._driver
        for page in op(driver._config, *args, **kwargs):
            for item in await driver._run(page):
                yield item

    return _shown_as(method, op, _items_of(AsyncIterator))


def _flow_result(flow: Any) -> Any:
    """``T`` of ``Flow[T]`` (``Generator[Step, Optional[Outcome], T]``)."""
    return get_args(flow)[2]


def _items_of(iterator: Any) -> Callable[[Any], Any]:
    """``Pages[T]`` (``Iterator[Flow[List[T]]]``) to ``iterator[T]``."""
    return lambda pages: iterator[get_args(_flow_result(get_args(pages)[0]))[0]]


def _shown_as(method: F, op: Callable[..., Any], result: Callable[[Any], Any]) -> F:
    """``method`` with ``op``'s docstring and signature, ``self`` in place of ``cfg`` and ``result(op's return)`` as return.

    Set as ``__signature__`` (and ``__annotations__``, evaluated), so that
    ``help()`` and ``inspect.signature`` show the parameters, not
    ``*args, **kwargs``. ``_Surface`` names it after its attribute.
    """
    sig = inspect.signature(op, eval_str=True)
    _cfg, *params = sig.parameters.values()
    returns = result(sig.return_annotation)
    self_param = inspect.Parameter("self", inspect.Parameter.POSITIONAL_OR_KEYWORD)
    method.__doc__ = op.__doc__
    method.__annotations__ = {p.name: p.annotation for p in params if p.annotation is not p.empty}
    method.__annotations__["return"] = returns
    setattr(method, "__signature__", sig.replace(parameters=[self_param, *params], return_annotation=returns))
    setattr(method, "__wrapped__", op)
    return method


class _Surface:
    """A class of bound operations: each is named after its attribute (``Jobs.get``, not ``get_job``)."""

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        for name, value in vars(cls).items():
            if inspect.isfunction(value) and hasattr(value, "__wrapped__"):
                value.__name__ = name
                value.__qualname__ = f"{cls.__qualname__}.{name}"
                value.__module__ = cls.__module__


# --- the clients ---------------------------------------------------------------


def _outcome(response: httpx.Response) -> Outcome:
    return Outcome(status=response.status_code, headers=response.headers, content=response.content)


def _httpx_request(http: Union[httpx.Client, httpx.AsyncClient], req: HttpRequest) -> httpx.Request:
    # What ``http.request(...)`` builds before it sends: both clients send exactly this.
    return http.build_request(
        req.method,
        req.url,
        params=list(req.params) or None,
        headers=req.headers,
        content=req.content,
        timeout=req.timeout,
    )


_TRANSPORT_ERRORS = (httpx.TransportError,)


class _Client(_Surface, Generic[HttpClient, Transport]):
    """What both clients share: their arguments, the ``Config`` made of them, the ``http_client`` they own or not."""

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
        http_client: Optional[HttpClient] = None,
        transport: Optional[Transport] = None,
    ) -> None:
        key = api_key if api_key is not None else os.environ.get("IMAGESAAS_API_KEY")
        if not key:
            raise ImageSaaSError("no API key: pass api_key=... or set IMAGESAAS_API_KEY")
        url = base_url if base_url is not None else os.environ.get("IMAGESAAS_BASE_URL") or _core.DEFAULT_BASE_URL
        if max_retries < 0:
            raise ValueError("max_retries must be 0 or more")
        self._config = Config(
            api_key=key,
            base_url=url.rstrip("/"),
            timeout=float(timeout),
            max_retries=int(max_retries),
            max_retry_wait=float(max_retry_wait),
            wait_timeout=float(wait_timeout),
            poll_interval=float(poll_interval),
            headers=dict(headers or {}),
        )
        self._owns_http = http_client is None
        self._attach(http_client, transport)

    def _attach(self, http_client: Optional[HttpClient], transport: Optional[Transport]) -> None:
        """Set ``_http`` (``http_client``, or a new one on ``transport``), ``_sleep`` and ``jobs``."""
        raise NotImplementedError

    @property
    def _driver(self: C) -> C:
        return self


class _Jobs(_Surface, Generic[C]):
    def __init__(self, client: C) -> None:
        self._client = client

    @property
    def _driver(self) -> C:
        return self._client


class ImageSaaS(_Client[httpx.Client, httpx.BaseTransport]):
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

    def _attach(self, http_client: Optional[httpx.Client], transport: Optional[httpx.BaseTransport]) -> None:
        self._http = http_client or httpx.Client(transport=transport, follow_redirects=False)
        self._sleep: Callable[[float], None] = time.sleep
        self.jobs = Jobs(self)

    # -- the driver --------------------------------------------------------

    def _send(self, req: HttpRequest) -> Outcome:
        try:
            r = self._http.send(_httpx_request(self._http, req))
        except _TRANSPORT_ERRORS as e:
            return Outcome(error=e)
        return _outcome(r)

    def _run(self, flow: Flow[T]) -> T:
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

    # -- the API (written in _core) ------------------------------------------

    generate = _sync(_core.generate)
    usage = _sync(_core.usage)
    health = _sync(_core.health)

    def close(self) -> None:
        """Close the connection pool; an ``http_client`` you passed is yours to close."""
        if self._owns_http:
            self._http.close()

    def __enter__(self) -> "ImageSaaS":
        return self

    def __exit__(self, *exc: Any) -> None:
        self.close()


class Jobs(_Jobs[ImageSaaS]):
    """``client.jobs``: read, list, wait for, cancel jobs; their webhook deliveries."""

    get = _sync(_core.get_job)
    wait = _sync(_core.wait_job)
    cancel = _sync(_core.cancel_job)
    list = _sync_pages(_core.list_jobs)
    list_page = _sync(_core.list_page)
    deliveries = _sync(_core.deliveries)
    redeliver = _sync(_core.redeliver)


class AsyncImageSaaS(_Client[httpx.AsyncClient, httpx.AsyncBaseTransport]):
    """The asyncio client: the same methods as ``ImageSaaS``, awaited; ``jobs.list`` is ``async for``.

    It takes the same arguments; ``http_client`` or ``transport``: an
    ``httpx.AsyncClient`` or async transport of your own.
    """

    def _attach(self, http_client: Optional[httpx.AsyncClient], transport: Optional[httpx.AsyncBaseTransport]) -> None:
        self._http = http_client or httpx.AsyncClient(transport=transport, follow_redirects=False)
        self._sleep: Callable[[float], Awaitable[None]] = asyncio.sleep
        self.jobs = AsyncJobs(self)

    # -- the driver --------------------------------------------------------

    async def _send(self, req: HttpRequest) -> Outcome:
        try:
            r = await self._http.send(_httpx_request(self._http, req))
        except _TRANSPORT_ERRORS as e:
            return Outcome(error=e)
        return _outcome(r)

    async def _run(self, flow: Flow[T]) -> T:
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

    # -- the API (written in _core) ------------------------------------------

    generate = _async(_core.generate)
    usage = _async(_core.usage)
    health = _async(_core.health)

    async def aclose(self) -> None:
        """Close the connection pool; an ``http_client`` you passed is yours to close."""
        if self._owns_http:
            await self._http.aclose()

    async def __aenter__(self) -> "AsyncImageSaaS":
        return self

    async def __aexit__(self, *exc: Any) -> None:
        await self.aclose()


class AsyncJobs(_Jobs[AsyncImageSaaS]):
    """``client.jobs`` of ``AsyncImageSaaS``: the same methods as ``Jobs``, awaited; ``list`` is ``async for``."""

    get = _async(_core.get_job)
    wait = _async(_core.wait_job)
    cancel = _async(_core.cancel_job)
    list = _async_pages(_core.list_jobs)
    list_page = _async(_core.list_page)
    deliveries = _async(_core.deliveries)
    redeliver = _async(_core.redeliver)
