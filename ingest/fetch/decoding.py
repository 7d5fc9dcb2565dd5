"""Streaming Content-Encoding decoders whose memory stays bounded whatever the input.

httpx inflates each network chunk in full, so 64 KiB of a gzip bomb becomes 64 MiB at once.
These decoders instead hand out at most :data:`PIECE` bytes per step (zlib's ``max_length``,
brotli's ``output_buffer_limit``), lazily through every layer of a nested encoding such as
``gzip, gzip``, so the reader can stop at its byte cap having held about one piece per layer.
"""

from __future__ import annotations

import zlib
from collections.abc import Iterable, Iterator, Sequence
from typing import Any, Protocol

import brotli

PIECE = 64 * 1024
MAX_LAYERS = 4
SUPPORTED = ("gzip", "x-gzip", "deflate", "br")
ACCEPT_ENCODING = "gzip, deflate, br"


class DecodingError(Exception):
    """The body does not match its Content-Encoding, or the encoding is unsupported."""


class StreamDecoder(Protocol):
    def feed(self, data: bytes) -> Iterator[bytes]: ...

    def finish(self) -> Iterator[bytes]: ...


class ZlibStream:
    """gzip (several members allowed) or deflate (zlib-wrapped or raw, as servers send both)."""

    def __init__(self, encoding: str) -> None:
        self._gzip = encoding in ("gzip", "x-gzip")
        self._obj: Any = None
        self._members = 0
        self._pending = b""
        self._trailing = False  # past the last member: the rest is ignored

    def feed(self, data: bytes) -> Iterator[bytes]:
        if self._trailing:
            return
        self._pending += data
        while self._pending and not self._trailing:
            if self._obj is None and not self._open():
                return
            data, self._pending = self._pending, b""
            yield from _inflate(self._obj, data)
            if self._obj.eof:
                self._pending, self._obj = self._obj.unused_data, None

    def finish(self) -> Iterator[bytes]:
        if self._obj is None and self._pending and not self._trailing:
            raise DecodingError("the compressed body is truncated")
        if self._obj is not None:
            yield from _inflate(self._obj, b"")

    def _open(self) -> bool:
        """Start the next member once its first two bytes are here; False to wait for more."""
        if len(self._pending) < 2:
            return False
        head = self._pending[:2]
        if self._members and (not self._gzip or head != b"\x1f\x8b"):
            self._trailing = True  # bytes after the last member, as some servers send
            self._pending = b""
            return False
        if self._gzip:
            if head != b"\x1f\x8b":
                raise DecodingError("gzip body without the gzip magic number")
            wbits = 16 + zlib.MAX_WBITS
        else:
            zlib_header = head[0] & 0x0F == 8 and int.from_bytes(head, "big") % 31 == 0
            wbits = zlib.MAX_WBITS if zlib_header else -zlib.MAX_WBITS
        self._obj = zlib.decompressobj(wbits)
        self._members += 1
        return True


def _inflate(obj: Any, data: bytes) -> Iterator[bytes]:
    while True:
        try:
            out = obj.decompress(data, PIECE)
        except zlib.error as exc:
            raise DecodingError(f"corrupt compressed body: {exc}") from exc
        if out:
            yield out
        data = obj.unconsumed_tail
        if obj.eof or (not data and len(out) < PIECE):
            return


class BrotliStream:
    def __init__(self) -> None:
        self._obj = brotli.Decompressor()

    def feed(self, data: bytes) -> Iterator[bytes]:
        """Input is taken whole; output comes a bounded piece per ``process`` call until the
        decompressor has nothing more to give for the input seen so far."""
        try:
            out = self._obj.process(data, output_buffer_limit=PIECE)
            idle = 0
            while not self._obj.is_finished():
                if out:
                    yield out
                    idle = 0
                elif self._obj.can_accept_more_data():
                    return
                else:
                    idle += 1
                    if idle > 2:
                        raise DecodingError("brotli decoder made no progress")
                out = self._obj.process(b"", output_buffer_limit=PIECE)
            if out:
                yield out
        except brotli.error as exc:
            raise DecodingError(f"corrupt brotli body: {exc}") from exc

    def finish(self) -> Iterator[bytes]:
        return iter(())


def decoders_for(content_encoding: str) -> list[StreamDecoder]:
    """The decoders to apply, in order, for a Content-Encoding header ("gzip, br" → br, gzip)."""
    names = [n.strip().lower() for n in content_encoding.split(",")]
    names = [n for n in names if n and n != "identity"]
    if len(names) > MAX_LAYERS:
        raise DecodingError(f"more than {MAX_LAYERS} nested content encodings")
    unknown = [n for n in names if n not in SUPPORTED]
    if unknown:
        raise DecodingError(f"unsupported content encoding {unknown[0]!r}")
    return [BrotliStream() if n == "br" else ZlibStream(n) for n in reversed(names)]


def decode_stream(raw: Iterable[bytes], decoders: Sequence[StreamDecoder]) -> Iterator[bytes]:
    """Decoded pieces of ``raw`` (an iterable of network chunks), produced lazily."""
    for chunk in raw:
        yield from _through(decoders, 0, (chunk,))
    for index, decoder in enumerate(decoders):
        yield from _through(decoders, index + 1, decoder.finish())


def _through(
    decoders: Sequence[StreamDecoder], start: int, pieces: Iterable[bytes]
) -> Iterator[bytes]:
    for decoder in decoders[start:]:
        pieces = _feed_all(decoder, pieces)
    yield from pieces


def _feed_all(decoder: StreamDecoder, pieces: Iterable[bytes]) -> Iterator[bytes]:
    for piece in pieces:
        yield from decoder.feed(piece)
