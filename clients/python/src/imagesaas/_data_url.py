"""``data_url``: an image's bytes as the ``data:`` URL the submit accepts."""

from __future__ import annotations

import base64
import os
from typing import Optional, Union

_SIGNATURES = (
    (b"\x89PNG\r\n\x1a\n", "image/png"),
    (b"\xff\xd8\xff", "image/jpeg"),
    (b"GIF87a", "image/gif"),
    (b"GIF89a", "image/gif"),
)


def _sniff(data: bytes) -> Optional[str]:
    for magic, kind in _SIGNATURES:
        if data.startswith(magic):
            return kind
    if len(data) >= 12 and data[:4] == b"RIFF" and data[8:12] == b"WEBP":
        return "image/webp"
    return None


def data_url(image: Union[bytes, bytearray, str, "os.PathLike[str]"], content_type: Optional[str] = None) -> str:
    """``data:image/...;base64,...`` of an image's bytes, or of the file at a path.

    The type is read from the bytes (PNG, JPEG, WebP, GIF: the ones the API
    takes) unless ``content_type`` is given. The API accepts at most
    3,000,000 bytes decoded per image and checks that the bytes are the type
    named; this helper only encodes.
    """
    if isinstance(image, (str, os.PathLike)):
        with open(image, "rb") as f:
            data = f.read()
    else:
        data = bytes(image)
    kind = content_type or _sniff(data)
    if kind is None:
        raise ValueError("not a PNG, JPEG, WebP or GIF image; pass content_type= to override")
    return f"data:{kind};base64," + base64.b64encode(data).decode("ascii")
