"""A third-party server of the stack (Grafana, Elasticsearch, Logstash, Kibana, Jaeger): pinned image, host, port.

Each server is described once, in the section of the component it belongs to (`grafana`, `logging`,
`tracing`); the compose stack, the Grafana datasources and the Logstash pipeline all read it from
there, so an image bump or a port change is one edit.
"""

from __future__ import annotations

import re
from typing import Annotated

from pydantic import AfterValidator, Field

from stackgen.spec.types import Port, StrictModel

_FLOATING_TAGS = {"latest", "main", "master", "stable", "edge", "nightly", "dev"}
_IMAGE_RE = re.compile(
    r"^(?P<name>[a-z0-9][a-z0-9._/-]*(?::\d+/[a-z0-9._/-]+)?)"
    r"(?::(?P<tag>[\w][\w.-]{0,127}))?(?:@(?P<digest>sha256:[0-9a-f]{64}))?$"
)


def image_problem(image: str) -> str | None:
    """Why an image reference is not pinned to an exact version, or None when it is.

    Shared by the spec (input) and the deploy validators (output), so both reject the same images.
    """
    match = _IMAGE_RE.match(image)
    if not match:
        return f"image {image!r} is not a valid image reference"
    tag, digest = match.group("tag"), match.group("digest")
    if digest:
        return None
    if not tag:
        return f"image {image!r} has no tag: pin an exact version such as 'name:1.2.3'"
    if tag in _FLOATING_TAGS or not any(c.isdigit() for c in tag):
        return f"image {image!r} is not pinned: tag {tag!r} moves; use an exact version such as '1.2.3'"
    return None


def _pinned(image: str) -> str:
    if problem := image_problem(image):
        raise ValueError(problem)
    return image


PinnedImage = Annotated[str, AfterValidator(_pinned)]
Host = Annotated[
    str,
    Field(
        pattern=r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?$",
        description="the server's host name (the compose service name other containers reach it by)",
    ),
]


class Server(StrictModel):
    """Where a third-party server runs: its pinned image, its host name and the port it serves."""

    image: PinnedImage
    host: Host
    port: Port

    @property
    def url(self) -> str:
        """The address other containers of the stack use to reach it."""
        return f"http://{self.host}:{self.port}"
