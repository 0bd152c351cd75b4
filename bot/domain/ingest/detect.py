"""Which ingest format a file or response is in, from its first few kilobytes."""

from __future__ import annotations

import json
import re

from bot.domain.ingest.listing import HEADER_RE

FORMATS: tuple[str, ...] = (
    "arxiv-api",
    "arxiv-rss",
    "feed",
    "listing",
    "snapshot-jsonl",
    "paperbot-jsonl",
)

_HEAD_BYTES = 8192
_SNAPSHOT_KEYS = ("authors_parsed", "submitter", "update_date", "journal-ref")
_EXPORT_KEYS = ("sources", "pdf_url", "journal_ref", "affiliations")
_JSON_KEY = re.compile(r'"([A-Za-z_\-]+)"\s*:')


def _decode(head: bytes) -> str:
    if head.startswith((b"\xff\xfe", b"\xfe\xff")):
        return head.decode("utf-16", errors="replace")
    return head.decode("utf-8", errors="replace").lstrip("\ufeff")


def _xml_format(text: str) -> str | None:
    lowered = text.lower()
    root = re.search(r"<(?!\?|!)([a-z_][\w:.\-]*)", lowered)
    if root is None:
        return None
    tag = root.group(1)
    if tag in ("html", "body", "head"):
        return None
    if tag == "rss" or tag.endswith(":rdf") or tag == "rdf":
        if "arxiv:announce_type" in lowered or "rss.arxiv.org" in lowered:
            return "arxiv-rss"
        return "feed"
    if tag == "feed":
        if "arxiv.org/api" in lowered or (
            "arxiv.org/schemas/atom" in lowered and "opensearch" in lowered
        ):
            return "arxiv-api"
        return "feed"
    return "feed" if text.lstrip().startswith("<?xml") else None


def _json_format(first_line: str) -> str | None:
    keys: set[str]
    versions_are_dicts = False
    try:
        record = json.loads(first_line)
    except ValueError:
        # A long first record may be cut off by the head: fall back to the key names in it.
        keys = set(_JSON_KEY.findall(first_line))
        versions_are_dicts = bool(re.search(r'"versions"\s*:\s*\[\s*\{', first_line))
    else:
        if not isinstance(record, dict):
            return None
        keys = set(record)
        versions = record.get("versions")
        versions_are_dicts = isinstance(versions, list) and all(
            isinstance(v, dict) for v in versions
        )
        versions_are_dicts = versions_are_dicts and bool(versions)
    if any(k in keys for k in _SNAPSHOT_KEYS) or versions_are_dicts:
        return "snapshot-jsonl"
    if {"id", "title"} <= keys and any(k in keys for k in _EXPORT_KEYS):
        return "paperbot-jsonl"
    return None


def detect_format(head: bytes, filename: str | None = None) -> str:
    """The ingest format of a document from its first few KB (one of :data:`FORMATS`).

    Raises ValueError naming what was seen when nothing fits. ``filename`` only sharpens that
    message: the content decides.
    """
    what = f" in {filename!r}" if filename else ""
    if head.startswith(b"\x1f\x8b"):
        raise ValueError(
            f"cannot tell the format{what}: it is gzip-compressed; a name ending in .gz is read"
        )
    text = _decode(head[:_HEAD_BYTES])
    stripped = text.lstrip()
    if not stripped:
        raise ValueError(f"cannot tell the format{what}: the input is empty")
    if stripped.startswith("<"):
        found = _xml_format(stripped)
        if found:
            return found
        if re.match(r"<!doctype html|<html", stripped, re.IGNORECASE):
            raise ValueError(f"cannot tell the format{what}: it is an HTML page, not a feed")
        raise ValueError(f"cannot tell the format{what}: markup starting {stripped[:60]!r}")
    if stripped.startswith("{"):
        first_line = stripped.split("\n", 1)[0].strip()
        found = _json_format(first_line)
        if found:
            return found
        keys = sorted(set(_JSON_KEY.findall(first_line)))[:12]
        raise ValueError(
            f"cannot tell the format{what}: a JSON object with keys {keys}, neither an arXiv "
            "snapshot record nor a paperbot export record"
        )
    if stripped.startswith("["):
        raise ValueError(
            f"cannot tell the format{what}: a JSON array; expected JSON Lines (one object a line)"
        )
    lines = stripped.splitlines()
    if any(HEADER_RE.match(line) for line in lines[:40]):
        return "listing"
    sample = stripped[:200]
    if "\x00" in sample or sample.count("\ufffd") > 2:
        raise ValueError(f"cannot tell the format{what}: it is binary data, not text")
    raise ValueError(
        f"cannot tell the format{what}: not XML, not JSON Lines, and no 'CODE' + date line "
        f"such as 'CLNov 3, 2023' in the first lines (starts {stripped[:60]!r})"
    )
