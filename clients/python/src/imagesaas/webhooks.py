"""Webhook verification (Standard Webhooks), as the service signs.

The service (``shared/src/webhooks/signing.rs`` and ``delivery.rs``) POSTs
the event with the headers ``webhook-id`` (the ``eventId``),
``webhook-timestamp`` (epoch seconds of the attempt) and
``webhook-signature: v1,<base64 HMAC-SHA256>`` of
``{webhook-id}.{webhook-timestamp}.{body}``, keyed with the base64-decoded
part of the tenant secret after ``whsec_``.

    from imagesaas.webhooks import verify
    event = verify(secret, request.headers, request.body)  # the raw bytes, unparsed

Verify the body exactly as received: parsing and re-serialising it changes
the bytes and the signature no longer matches.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import json
import time
from typing import Any, Iterable, Mapping, Optional, Tuple, Union

from ._errors import ImageSaaSError
from ._models import WebhookEvent

SECRET_PREFIX = "whsec_"
DEFAULT_TOLERANCE = 300  # seconds: 5 minutes either way, as Standard Webhooks

Headers = Union[Mapping[str, str], Iterable[Tuple[str, str]]]

__all__ = [
    "DEFAULT_TOLERANCE",
    "WebhookVerificationError",
    "sign",
    "verify",
    "verify_signature",
]


class WebhookVerificationError(ImageSaaSError):
    """A missing header, a malformed or stale timestamp, or no matching signature."""


def _key(secret: Union[str, bytes]) -> bytes:
    if isinstance(secret, bytes):
        key = secret
    else:
        text = secret[len(SECRET_PREFIX) :] if secret.startswith(SECRET_PREFIX) else secret
        try:
            # Padding added as the reference library does, for an unpadded secret.
            key = base64.b64decode(text + "==")
        except (binascii.Error, ValueError) as e:
            raise WebhookVerificationError("the webhook secret is not `whsec_` followed by base64") from e
    if not key:
        raise WebhookVerificationError("the webhook secret is empty")
    return key


def _body_bytes(body: Union[bytes, bytearray, memoryview, str]) -> bytes:
    if isinstance(body, str):
        return body.encode("utf-8")
    return bytes(body)


def sign(secret: Union[str, bytes], msg_id: str, timestamp: int, body: Union[bytes, str]) -> str:
    """``v1,<base64 HMAC-SHA256 of "{msg_id}.{timestamp}.{body}">``: what the service sends."""
    to_sign = f"{msg_id}.{int(timestamp)}.".encode() + _body_bytes(body)
    mac = hmac.new(_key(secret), to_sign, hashlib.sha256).digest()
    return "v1," + base64.b64encode(mac).decode("ascii")


def _header(headers: Headers, name: str) -> Optional[str]:
    items = headers.items() if isinstance(headers, Mapping) else headers
    found = None
    for k, v in items:
        if k.lower() == name:
            if found is not None and found != v:
                raise WebhookVerificationError(f"the header {name} is given twice")
            found = v
    return found


def verify_signature(
    secret: Union[str, bytes],
    headers: Headers,
    body: Union[bytes, str],
    *,
    tolerance: float = DEFAULT_TOLERANCE,
    now: Optional[float] = None,
) -> str:
    """Check the signature and the timestamp; return the ``webhook-id``. Raises ``WebhookVerificationError``."""
    msg_id = _header(headers, "webhook-id")
    timestamp = _header(headers, "webhook-timestamp")
    signatures = _header(headers, "webhook-signature")
    if not msg_id or not timestamp or not signatures:
        raise WebhookVerificationError("missing webhook-id, webhook-timestamp or webhook-signature header")
    ts_text = timestamp.strip()
    if not ts_text.isdigit():
        raise WebhookVerificationError("webhook-timestamp is not an integer of epoch seconds")
    ts = int(ts_text)
    current = time.time() if now is None else now
    if ts < current - tolerance:
        raise WebhookVerificationError("webhook-timestamp is too old (more than the tolerance in the past)")
    if ts > current + tolerance:
        raise WebhookVerificationError("webhook-timestamp is too new (more than the tolerance in the future)")
    expected = base64.b64decode(sign(secret, msg_id, ts, body).split(",", 1)[1])
    # Space-separated `version,signature` pairs (several during a secret
    # rotation); only v1 is HMAC-SHA256, other versions are skipped.
    for candidate in signatures.split():
        version, _, value = candidate.partition(",")
        if version != "v1" or not value:
            continue
        try:
            given = base64.b64decode(value, validate=True)
        except (binascii.Error, ValueError):
            continue
        if hmac.compare_digest(given, expected):
            return msg_id
    raise WebhookVerificationError("no matching v1 signature")


def verify(
    secret: Union[str, bytes],
    headers: Headers,
    body: Union[bytes, str],
    *,
    tolerance: float = DEFAULT_TOLERANCE,
    now: Optional[float] = None,
) -> WebhookEvent:
    """Verify a webhook request and return its event; raises ``WebhookVerificationError``.

    ``headers``: any mapping (case-insensitive names) or list of pairs.
    ``body``: the request body exactly as received. ``tolerance``: how far
    ``webhook-timestamp`` may be from now, in seconds (default 5 minutes).
    """
    msg_id = verify_signature(secret, headers, body, tolerance=tolerance, now=now)
    try:
        data: Any = json.loads(_body_bytes(body))
        event = WebhookEvent.from_dict(data)
    except (ValueError, KeyError, TypeError, AttributeError) as e:
        raise WebhookVerificationError(f"the signed body is not a webhook event: {e}") from e
    if event.event_id != msg_id:
        raise WebhookVerificationError("webhook-id is not the body's eventId")
    return event
