"""Bounds every HTTP probe applies to what a server sends: body size and listing length.

A server may be broken, hostile or simply not the API the target names. Whatever it sends,
one answer costs at most ``max_response_bytes`` of memory (read in chunks, never whole), and
one listing stops when the server repeats a page token or passes :data:`MAX_PAGES` pages;
the probe then reports what it could not see instead of looping until its timeout.

Sizes, documented per probe (``max_response_bytes`` where a setting exists):

======================  ==========  ============================================
probe                   default     what
======================  ==========  ============================================
kubernetes              64 MiB      one LIST page, discovery or /version answer
mlflow                  64 MiB      one REST answer (a page of runs ...)
prometheus              64 MiB      one API answer (rules, alerts, config)
oci                     8 MiB       one manifest, config blob or list page
aws                     64 MiB      one API answer (any service)
======================  ==========  ============================================
"""

from __future__ import annotations

from collections.abc import Callable, Hashable, Iterable

MiB = 1024 * 1024
#: default cap on one HTTP answer
MAX_RESPONSE_BYTES = 64 * MiB
#: pages one listing may take; no real estate comes near (10 000 pages of 100 = 1 M items)
MAX_PAGES = 10_000
CHUNK = 64 * 1024


class ResponseTooLarge(Exception):
    """An answer passed its size cap; what was read is dropped."""

    def __init__(self, what: str, limit: int) -> None:
        super().__init__(f"{what}: answer larger than {_size(limit)}; not read "
                         "(max_response_bytes)")
        self.limit = limit


class EndlessListing(Exception):
    """A listing that would not end: a repeated page token, or absurdly many pages."""


def _size(n: int) -> str:
    return f"{n // MiB} MiB" if n >= MiB and n % MiB == 0 else f"{n} bytes"


def read_capped(read: Callable[[int], bytes], limit: int, what: str) -> bytes:
    """Read a body with ``read(n)`` until it ends; raise :class:`ResponseTooLarge` as soon
    as more than ``limit`` bytes arrived (at most ``limit`` + one chunk is ever held)."""
    buf = bytearray()
    while True:
        part = read(CHUNK)
        if not part:
            return bytes(buf)
        buf += part
        if len(buf) > limit:
            raise ResponseTooLarge(what, limit)


def join_capped(chunks: Iterable[bytes], limit: int, what: str) -> bytes:
    """:func:`read_capped` for an iterator of chunks (``requests``' ``iter_content``)."""
    it = iter(chunks)
    return read_capped(lambda _n: next(it, b""), limit, what)


class PageGuard:
    """Call :meth:`next` with each next-page token before following it."""

    def __init__(self, what: str, max_pages: int = MAX_PAGES,
                 error: Callable[[str], Exception] = EndlessListing) -> None:
        self.what = what
        self.max_pages = max_pages
        self.error = error
        self.pages = 0
        self._seen: set[Hashable] = set()

    def next(self, token: Hashable) -> None:
        """Raise ``error`` when ``token`` was already followed or the listing is too long."""
        self.pages += 1
        if token in self._seen:
            raise self.error(f"{self.what}: the server sent the same next-page token twice; "
                             f"listing stopped after {self.pages} pages")
        if self.pages >= self.max_pages:
            raise self.error(f"{self.what}: more than {self.max_pages} pages; listing stopped")
        self._seen.add(token)
