"""``JsonBodyRoute`` answers exactly as FastAPI's own route does, for well-formed and malformed
requests alike (same status, media type and body), through real uvicorn."""

from __future__ import annotations

from datetime import datetime

import httpx
import pytest
from astrocyte_gateway.fast_route import JsonBodyRoute
from astrocyte_gateway.problems import install_problem_handlers
from astrocyte_gateway.server import serving
from fastapi import APIRouter, FastAPI, Request, Response
from fastapi.routing import APIRoute
from pydantic import BaseModel, Field, field_validator


class Note(BaseModel):
    text: str = Field(min_length=1)
    count: int = 1
    when: datetime | None = None

    @field_validator("text")
    @classmethod
    def _no_shouting(cls, value: str) -> str:
        if value.isupper():
            raise ValueError("no shouting")
        return value


async def echo(body: Note, request: Request) -> Response:
    return Response(body.model_dump_json(), media_type="application/json")


def _app(route_class: type[APIRoute]) -> FastAPI:
    app = FastAPI()
    install_problem_handlers(app)
    router = APIRouter(route_class=route_class)
    router.add_api_route("/echo", echo, methods=["POST"])
    app.include_router(router)
    return app


JSON = "application/json"
#: (content type or None, body): well-formed, lax-coerced, and every kind of malformed request.
REQUESTS: list[tuple[str | None, bytes]] = [
    (JSON, b'{"text": "hello"}'),
    (JSON, b'{"text": "hello", "count": "3", "when": "2024-05-01T10:00:00Z"}'),
    ("application/json; charset=utf-8", b'{"text": "hello"}'),
    ("Application/JSON", b'{"text": "hello"}'),
    ("application/vnd.notes+json", b'{"text": "hello"}'),
    ("text/plain", b'{"text": "hello"}'),
    (None, b'{"text": "hello"}'),
    (JSON, b""),
    (JSON, b"{not json"),
    (JSON, b"\xff\xfe"),
    (JSON, b"[1, 2]"),
    (JSON, b'{"count": 2}'),
    (JSON, b'{"text": ""}'),
    (JSON, b'{"text": "HELLO"}'),
    (JSON, b'{"text": "hello", "count": 1.5}'),
]


@pytest.mark.parametrize(("content_type", "body"), REQUESTS)
async def test_answers_as_fastapi_does(content_type: str | None, body: bytes) -> None:
    headers = {"content-type": content_type} if content_type else {}
    async with (
        serving(_app(APIRoute)) as plain,
        serving(_app(JsonBodyRoute)) as fast,
        httpx.AsyncClient() as client,
    ):
        expected = await client.post(f"{plain}/echo", content=body, headers=headers)
        actual = await client.post(f"{fast}/echo", content=body, headers=headers)
    assert (actual.status_code, actual.headers["content-type"]) == (
        expected.status_code,
        expected.headers["content-type"],
    )
    assert actual.json() == expected.json()


def test_refuses_an_endpoint_of_another_shape() -> None:
    async def two_bodies(body: Note, other: Note) -> Response:
        return Response()

    router = APIRouter(route_class=JsonBodyRoute)
    with pytest.raises(TypeError, match="two_bodies must be"):
        router.add_api_route("/x", two_bodies, methods=["POST"])


async def test_well_formed_json_takes_the_short_path() -> None:
    """A bare request lacks the scope FastAPI's request handler asserts on: only the short path can
    answer it, and a malformed one must reach FastAPI's handler."""
    handler = JsonBodyRoute("/echo", echo, methods=["POST"]).get_route_handler()

    def bare(body: bytes) -> Request:
        async def receive() -> dict[str, object]:
            return {"type": "http.request", "body": body, "more_body": False}

        scope = {
            "type": "http",
            "method": "POST",
            "path": "/echo",
            "headers": [(b"content-type", b"application/json")],
        }
        return Request(scope, receive)

    response = await handler(bare(b'{"text": "hello", "count": "3"}'))
    assert response.body == b'{"text":"hello","count":3,"when":null}'
    with pytest.raises(AssertionError, match="fastapi_middleware_astack"):
        await handler(bare(b'{"text": ""}'))
