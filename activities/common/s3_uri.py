"""``s3://bucket/key`` URIs: parsed and checked once, the same way at the edge and in activities."""

from __future__ import annotations

import re
from dataclasses import dataclass

# S3's bucket naming rules (lower case, digits, dots, hyphens; 3-63 characters).
_BUCKET = re.compile(r"^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$")


class InvalidS3Uri(ValueError):
    """The text is not an ``s3://bucket/key`` URI; the message says why."""


@dataclass(frozen=True)
class S3Location:
    """An object's bucket and key."""

    bucket: str
    key: str

    @property
    def uri(self) -> str:
        """The ``s3://`` form."""
        return f"s3://{self.bucket}/{self.key}"


def parse_s3_uri(uri: str) -> S3Location:
    """Split ``s3://bucket/key``; raise :class:`InvalidS3Uri` naming what is wrong."""
    if not uri.startswith("s3://"):
        raise InvalidS3Uri(f"expected s3://bucket/key, got {uri!r}")
    bucket, _, key = uri[len("s3://") :].partition("/")
    if not _BUCKET.match(bucket):
        raise InvalidS3Uri(f"{bucket!r} is not a valid S3 bucket name")
    if not key or key.endswith("/"):
        raise InvalidS3Uri(f"{uri!r} names no object (the key is empty or a folder)")
    if len(key.encode()) > 1024:
        raise InvalidS3Uri("the object key is longer than S3's 1,024 bytes")
    return S3Location(bucket, key)
