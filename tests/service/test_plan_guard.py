"""The plan route's body handling: spooled to disk with a cap, parsed exactly as `json.loads` of
the bytes would be (so digests match `countersign analyze --plan`), refusing what is not JSON."""

from __future__ import annotations

import asyncio
import json
import tempfile
from collections.abc import AsyncIterator

import pytest
from fastapi import HTTPException

from app.service.plan_guard import parse_spooled, spool_body


async def chunks(*parts: bytes) -> AsyncIterator[bytes]:
    for part in parts:
        yield part


def spooled(data: bytes) -> tempfile._TemporaryFileWrapper[bytes]:
    spool = tempfile.NamedTemporaryFile()
    spool.write(data)
    spool.seek(0)
    return spool


@pytest.mark.parametrize(
    "data",
    [
        b'{"a": 18446744073709551616123}',  # beyond 64 bits: kept an integer
        '{"a": "\\ud800 é"}'.encode(),  # a lone surrogate escape and UTF-8
        b'\xef\xbb\xbf{"a": [1, 2.5e-7]}',  # a UTF-8 byte-order mark
        '{"a": "ü"}'.encode("utf-16"),
    ],
)
def test_parsed_as_json_loads_parses_the_bytes(data: bytes) -> None:
    with spooled(data) as spool:
        assert parse_spooled(spool) == json.loads(data)


@pytest.mark.parametrize("data", [b"", b"{", b'{"a": NaN}', b"[Infinity]", b"\xff\xfe\x00"])
def test_not_json_is_a_value_error(data: bytes) -> None:
    with spooled(data) as spool, pytest.raises(ValueError, match=r"\w"):
        parse_spooled(spool)


def test_the_cap_holds_without_content_length() -> None:
    async def run() -> None:
        with pytest.raises(HTTPException) as caught:
            await spool_body(chunks(b"x" * 600, b"y" * 600), None, 1000)
        assert caught.value.status_code == 413

    asyncio.run(run())


def test_a_declared_length_over_the_cap_is_refused_before_reading() -> None:
    async def never() -> AsyncIterator[bytes]:
        raise AssertionError("read")
        yield b""  # pragma: no cover

    async def run() -> None:
        with pytest.raises(HTTPException) as caught:
            await spool_body(never(), "1001", 1000)
        assert caught.value.status_code == 413

    asyncio.run(run())


def test_the_body_lands_in_a_rewound_file() -> None:
    async def run() -> bytes:
        spool = await spool_body(chunks(b'{"dir": ', b'"x"}'), "12", 1000)
        with spool:
            return spool.read()

    assert asyncio.run(run()) == b'{"dir": "x"}'
