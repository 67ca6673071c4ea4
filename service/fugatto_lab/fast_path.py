"""The opt-in fast path for ``POST /generate`` (``FUGATTO_FAST_PATH=1``; off by default).

The one place the service steps around its framework for speed. Installed just inside the
observability middleware (which has already capped, buffered and timed the request), it answers
a request whose content type is exactly ``application/json`` and whose body pydantic's JSON
parser accepts as a :class:`GenerateRequest`, by calling the route's own ``serve_generation``.
That skips FastAPI's exception middleware, router, dependency solving and body handling
(``json.loads``, a content-type parse through ``email.message``, validation of the Python
objects). What it buys is measured in bench/results/service.md.

Every other request - another content type, a body the parser rejects, another route or
method - goes on to FastAPI with the body replayed, so every 4xx is FastAPI's own and the plain
route stays the API's only declaration (OpenAPI, 405, validation). The answers agree because
a body pydantic's JSON parser accepts, ``json.loads`` plus validation accepts with the same
values (tests/service/test_fast_path.py); the reverse need not hold (a UTF-8 BOM, a lone
surrogate), and those bodies are FastAPI's to decide.
"""

from __future__ import annotations

from pydantic import ValidationError
from starlette.types import ASGIApp, Receive, Scope, Send

from .api import GENERATE_PATH, GenerateRequest, serve_generation
from .context import ServiceContext
from .middleware import replay

_JSON = b"application/json"


def parse(content_type: bytes | None, body: bytes) -> GenerateRequest | None:
    """The request the fast path serves, or None for FastAPI to decide."""
    if content_type != _JSON:
        return None
    try:
        return GenerateRequest.model_validate_json(body)
    except ValidationError:
        return None


class FastGenerate:
    def __init__(self, app: ASGIApp, *, svc: ServiceContext) -> None:
        self.app = app
        self.svc = svc

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["method"] != "POST" or scope["path"] != GENERATE_PATH:
            await self.app(scope, receive, send)
            return
        content_type = next((v for k, v in scope["headers"] if k == b"content-type"), None)
        body = await _body(receive)
        request = parse(content_type, body)
        if request is None:
            await self.app(scope, replay(body, receive), send)
            return
        response = await serve_generation(self.svc, request)
        await response(scope, receive, send)


async def _body(receive: Receive) -> bytes:
    chunks = []
    while True:
        message = await receive()
        if message["type"] != "http.request":
            break
        chunks.append(message.get("body", b""))
        if not message.get("more_body", False):
            break
    return b"".join(chunks)
