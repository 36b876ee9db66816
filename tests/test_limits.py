"""The shared bounds: a capped body read and a page guard."""

from __future__ import annotations

import io

import pytest

from auditor.limits import EndlessListing, PageGuard, ResponseTooLarge, join_capped, read_capped


def test_a_body_within_the_cap_is_read_whole_and_a_larger_one_is_refused():
    assert read_capped(io.BytesIO(b"x" * 100_000).read, 100_000, "GET /a") == b"x" * 100_000
    stream = io.BytesIO(b"y" * 1_000_000)
    with pytest.raises(ResponseTooLarge, match=r"^GET /b: answer larger than 100000 bytes"):
        read_capped(stream.read, 100_000, "GET /b")
    assert stream.tell() < 100_000 + 2 * 64 * 1024  # stopped soon after the cap, not at the end


def test_chunks_from_an_iterator_are_capped_too():
    with pytest.raises(ResponseTooLarge, match="1 MiB"):
        join_capped(iter([b"z" * 65536] * 100), 1024 * 1024, "runs")
    assert join_capped(iter([b"a", b"b"]), 10, "small") == b"ab"


def test_a_repeated_token_ends_the_listing_with_the_probe_s_own_error():
    guard = PageGuard("list pods", error=ValueError)
    guard.next("t1")
    guard.next("t2")
    with pytest.raises(ValueError, match="same next-page token twice; listing stopped after 3"):
        guard.next("t1")


def test_distinct_tokens_stop_past_the_page_limit():
    guard = PageGuard("search", max_pages=5)
    for n in range(4):
        guard.next(f"t{n}")
    with pytest.raises(EndlessListing, match="more than 5 pages"):
        guard.next("t4")
