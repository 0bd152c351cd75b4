"""Format detection from the first few KB of a document."""

from __future__ import annotations

import json
from contextlib import suppress
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from bot.domain.ingest.detect import FORMATS, detect_format
from bot.domain.ingest.jsonl import paper_to_json
from bot.domain.papers import Paper

HERE = Path(__file__).resolve().parent / "fixtures"
ARXIV = Path(__file__).resolve().parents[2] / "fixtures" / "arxiv"


def _head(path: Path, size: int = 4096) -> bytes:
    return path.read_bytes()[:size]


def test_formats() -> None:
    assert FORMATS == (
        "arxiv-api",
        "arxiv-rss",
        "feed",
        "listing",
        "snapshot-jsonl",
        "paperbot-jsonl",
    )


@pytest.mark.parametrize(
    ("path", "expected"),
    [
        (ARXIV / "api_2026-04_search_testing_max10.xml", "arxiv-api"),
        (ARXIV / "api_2016_legacy_search_au_del_maestro.xml", "arxiv-api"),
        (ARXIV / "api_2026-04_error_400_id_abc.xml", "arxiv-api"),
        (ARXIV / "api_2026-04_empty_id_0000.0000.xml", "arxiv-api"),
        (ARXIV / "rss_2024-11-28_all_archives.xml", "arxiv-rss"),
        (ARXIV / "rss_2024-11-28_empty_test_archive.xml", "arxiv-rss"),
        (ARXIV / "rss_2024-11-28_error_bad_archive.xml", "arxiv-rss"),
        (HERE / "journal_toc.rss", "feed"),
        (HERE / "lab_blog.atom", "feed"),
        (HERE / "listing.txt", "listing"),
        (HERE / "snapshot_excerpt.jsonl", "snapshot-jsonl"),
    ],
)
def test_detects_fixture(path: Path, expected: str) -> None:
    assert detect_format(_head(path), path.name) == expected


def test_detects_paperbot_export() -> None:
    line = json.dumps(paper_to_json(Paper(title="T", arxiv_id="2411.17702", version=1)))
    assert detect_format(line.encode() + b"\n") == "paperbot-jsonl"


def test_detects_snapshot_when_the_head_cuts_the_first_record() -> None:
    record = json.loads((HERE / "snapshot_excerpt.jsonl").read_text().splitlines()[0])
    record["abstract"] = "x" * 10_000
    head = json.dumps(record).encode()[:4096]
    assert detect_format(head) == "snapshot-jsonl"


def test_snapshot_by_versions_list_alone() -> None:
    line = {"id": "0704.0001", "title": "T", "versions": [{"version": "v1", "created": "x"}]}
    assert detect_format(json.dumps(line).encode()) == "snapshot-jsonl"


def test_rdf_feed() -> None:
    head = (
        b'<?xml version="1.0"?><rdf:RDF xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#"'
        b' xmlns="http://purl.org/rss/1.0/"><channel/></rdf:RDF>'
    )
    assert detect_format(head) == "feed"


def test_byte_order_mark_and_leading_space() -> None:
    head = b"\xef\xbb\xbf\n  " + _head(ARXIV / "rss_2024-11-28_empty_test_archive.xml")
    assert detect_format(head) == "arxiv-rss"


def test_listing_after_a_preamble() -> None:
    assert detect_format(b"My reading list\n\nCLNov 3, 2023\nTitleJane Doe\n") == "listing"


def test_html_page_is_named() -> None:
    with pytest.raises(ValueError, match="HTML page"):
        detect_format(b"<!DOCTYPE html><html><head><title>503</title></head></html>", "x.xml")


def test_json_array_is_named() -> None:
    with pytest.raises(ValueError, match="JSON array"):
        detect_format(b'[{"id": "1"}]')


def test_unknown_json_object_names_its_keys() -> None:
    with pytest.raises(ValueError, match=r"keys \['name', 'size'\]"):
        detect_format(b'{"name": "x", "size": 3}\n')


def test_plain_text_names_what_it_starts_with(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match=r"in 'notes.txt'.*starts 'Dear colleagues"):
        detect_format(b"Dear colleagues,\nplease find attached", "notes.txt")


def test_empty_input() -> None:
    with pytest.raises(ValueError, match="empty"):
        detect_format(b"   \n")


@settings(max_examples=300, deadline=None)
@given(head=st.binary(max_size=3000))
def test_arbitrary_bytes_give_a_format_or_value_error(head: bytes) -> None:
    with suppress(ValueError):
        assert detect_format(head) in FORMATS


def test_binary_and_gzip_are_named_without_echoing_the_bytes() -> None:
    import gzip

    with pytest.raises(ValueError, match=r"it is gzip-compressed; a name ending in \.gz is read"):
        detect_format(gzip.compress(b'{"id": "2401.00001"}\n'), "dump.jsonl")
    noise = bytes(range(256)) * 4
    with pytest.raises(ValueError, match=r"in 'x.bin': it is binary data, not text$"):
        detect_format(noise, "x.bin")
