"""Turning what a user names into a fetchable source. Pure: no network, no settings.

Accepted specs (see :func:`resolve_source`):

- an arXiv archive or category, or several joined with ``+``: ``cs``, ``hep-th``, ``cs.CL+cs.LG``
  -> the arXiv RSS feed;
- ``arxiv:QUERY`` or ``api:QUERY`` -> an arXiv API search, newest first;
- ``id:2403.05530,hep-th/9901001`` -> those papers from the arXiv API;
- any ``http(s)://`` URL -> that feed, its format guessed from the host.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Final, Literal
from urllib.parse import quote_plus, urlencode, urlsplit, urlunsplit

from bot.domain.arxiv_ids import parse_arxiv_ref

SourceFormat = Literal["arxiv-rss", "arxiv-api", "feed"]

ARXIV_RSS_BASE: Final = "https://rss.arxiv.org/rss/"
ARXIV_API_BASE: Final = "https://export.arxiv.org/api/query"
# arXiv's API limits: one response holds at most 2,000 results, one query reaches at most 30,000.
API_MAX_SLICE: Final = 2000
API_MAX_TOTAL: Final = 30000
DEFAULT_MAX_RESULTS: Final = 100
SORT_BY: Final = frozenset({"relevance", "lastUpdatedDate", "submittedDate"})
SORT_ORDER: Final = frozenset({"ascending", "descending"})

# The archives rss.arxiv.org serves, as listed in its own "Bad archive" error. Kept here (rather
# than importing the full taxonomy) so a typo such as "astroph" or a keyword such as "transformers"
# is caught before it costs a request.
ARXIV_ARCHIVES: Final = frozenset(
    {
        "astro-ph",
        "cond-mat",
        "cs",
        "econ",
        "eess",
        "gr-qc",
        "hep-ex",
        "hep-lat",
        "hep-ph",
        "hep-th",
        "math",
        "math-ph",
        "nlin",
        "nucl-ex",
        "nucl-th",
        "physics",
        "q-bio",
        "q-fin",
        "quant-ph",
        "stat",
        "test",
    }
)
_ARCHIVE_LIST: Final = ", ".join(sorted(ARXIV_ARCHIVES))
# archive, or archive.SUBJECT: cs.CL, astro-ph.CO, cond-mat.mes-hall, physics.acc-ph.
_CATEGORY_RE = re.compile(
    r"^(?P<archive>[a-z]+(?:-[a-z]+)?)(?:\.(?P<subject>[a-z]+(?:-[a-z]+)?))?$", re.I
)
_SPLIT_RE = re.compile(r"[+,\s]+")
_QUERY_PREFIXES: Final = ("arxiv:", "api:")

ACCEPTED_FORMS: Final = (
    "accepted forms: an arXiv category or archive (cs.CL, hep-th, cs), several joined with '+' "
    "(cs.CL+cs.LG), 'arxiv:QUERY' or 'api:QUERY' for an arXiv API search (arxiv:ti:transformer), "
    "'id:ID[,ID...]' for given papers (id:2403.05530), or an http(s) feed URL"
)


@dataclass(frozen=True)
class SourceSpec:
    name: str
    url: str
    format: SourceFormat


def resolve_source(spec: str) -> SourceSpec:
    """The fetchable source a user's spec names. Raises ValueError saying what is wrong."""
    text = spec.strip()
    if not text:
        raise ValueError(f"empty source; {ACCEPTED_FORMS}")
    lowered = text.lower()
    if lowered.startswith(("http://", "https://")):
        return _from_url(text)
    if "://" in text:
        raise ValueError(f"only http(s) URLs can be fetched, not {text!r}; {ACCEPTED_FORMS}")
    for prefix in _QUERY_PREFIXES:
        if lowered.startswith(prefix):
            return _from_query(text[len(prefix) :].strip(), text)
    if lowered.startswith("id:"):
        ids = _parse_ids(text[3:])
        return SourceSpec(
            name="id:" + ",".join(ids),
            url=arxiv_api_url(id_list=ids, max_results=len(ids)),
            format="arxiv-api",
        )
    categories = _parse_categories(text)
    joined = "+".join(categories)
    return SourceSpec(name=joined, url=ARXIV_RSS_BASE + joined, format="arxiv-rss")


def _from_query(query: str, original: str) -> SourceSpec:
    if not query:
        raise ValueError(f"{original!r} has no search query after the prefix; {ACCEPTED_FORMS}")
    # arXiv's docs write queries URL-style (au:del_maestro+AND+ti:checkerboard) and people copy
    # them; '+' means a space there, and a literal '+' has no meaning in arXiv's search syntax.
    query = " ".join(query.replace("+", " ").split())
    # "arXiv:2403.05530" is how papers are cited; searching all fields for that text is never what
    # the user meant, so an id-shaped query fetches the paper itself.
    ref = parse_arxiv_ref(query)
    if ref is not None:
        return SourceSpec(
            name=f"id:{ref.versioned}",
            url=arxiv_api_url(id_list=[ref.versioned], max_results=1),
            format="arxiv-api",
        )
    return SourceSpec(
        name=f"arxiv:{query}",
        url=arxiv_api_url(search_query=query, max_results=DEFAULT_MAX_RESULTS),
        format="arxiv-api",
    )


def _parse_ids(text: str) -> list[str]:
    ids: list[str] = []
    bad: list[str] = []
    for raw in _SPLIT_RE.split(text.strip()):
        if not raw:
            continue
        ref = parse_arxiv_ref(raw)
        if ref is None:
            bad.append(raw)
        elif ref.versioned not in ids:
            ids.append(ref.versioned)
    if bad:
        raise ValueError(
            f"not arXiv ids: {', '.join(repr(b) for b in bad)}; "
            "expected ids like 2403.05530, 2403.05530v2 or hep-th/9901001"
        )
    if not ids:
        raise ValueError(f"'id:' needs at least one arXiv id; {ACCEPTED_FORMS}")
    if len(ids) > API_MAX_SLICE:
        raise ValueError(
            f"{len(ids)} ids is more than the arXiv API returns at once ({API_MAX_SLICE})"
        )
    return ids


def _parse_categories(text: str) -> list[str]:
    categories: list[str] = []
    problems: list[str] = []
    unknown: list[str] = []  # archives nobody has heard of, named together
    for raw in _SPLIT_RE.split(text):
        if not raw:
            continue
        m = _CATEGORY_RE.match(raw)
        if m is None:
            problems.append(f"{raw!r} is not an arXiv category or archive")
            continue
        archive = m.group("archive").lower()
        if archive not in ARXIV_ARCHIVES:
            if archive not in unknown:
                unknown.append(archive)
            continue
        subject = m.group("subject")
        if subject is None:
            code = archive
        else:
            # Two-letter subject classes are upper case (cs.CL, astro-ph.CO); the longer physics
            # ones are lower case (cond-mat.mes-hall), and arXiv's feeds are case-sensitive.
            code = f"{archive}.{subject.upper() if len(subject) == 2 else subject.lower()}"
        if code not in categories:
            categories.append(code)
    if unknown:
        names = ", ".join(repr(a) for a in unknown)
        verb = "is not an arXiv archive" if len(unknown) == 1 else "are not arXiv archives"
        problems.append(f"{names} {verb} (archives: {_ARCHIVE_LIST})")
    if problems:
        # Words that are not categories are most likely a search ("large language models").
        hint = f"; to search arXiv for it, use 'arxiv:{text}'" if ":" not in text else ""
        raise ValueError(f"{'; '.join(problems)}{hint}; {ACCEPTED_FORMS}")
    if not categories:
        raise ValueError(f"no category given; {ACCEPTED_FORMS}")
    return categories


def _from_url(url: str) -> SourceSpec:
    parts = urlsplit(url)
    host = (parts.hostname or "").lower()
    if not host:
        raise ValueError(f"URL {url!r} has no host; {ACCEPTED_FORMS}")
    path = parts.path
    fmt: SourceFormat
    name: str
    on_arxiv = host == "arxiv.org" or host.endswith(".arxiv.org")
    if host == "rss.arxiv.org" or (on_arxiv and path.startswith("/rss/")):
        fmt = "arxiv-rss"
        name = path.rsplit("/", 1)[-1] or url
    elif host == "export.arxiv.org" and path.startswith("/api"):
        fmt = "arxiv-api"
        name = f"arxiv-api:{parts.query}" if parts.query else url
    else:
        fmt = "feed"
        name = host + (path.rstrip("/") if path not in ("", "/") else "")
    # Scheme and host are case-insensitive; normalising them keeps one feed from being two sources.
    normalised = urlunsplit((parts.scheme.lower(), parts.netloc.lower(), path, parts.query, ""))
    return SourceSpec(name=name, url=normalised, format=fmt)


def arxiv_api_url(
    search_query: str | None = None,
    id_list: Iterable[str] = (),
    start: int = 0,
    max_results: int = DEFAULT_MAX_RESULTS,
    sort_by: str = "submittedDate",
    sort_order: str = "descending",
) -> str:
    """An arXiv API query URL, refusing what the API would refuse or silently cut short."""
    ids = [i.strip() for i in id_list if i.strip()]
    query = (search_query or "").strip()
    if not query and not ids:
        raise ValueError("an arXiv API query needs a search_query, an id_list, or both")
    if start < 0:
        raise ValueError(f"start must not be negative (got {start})")
    if max_results < 0:
        raise ValueError(f"max_results must not be negative (got {max_results})")
    if max_results > API_MAX_SLICE:
        raise ValueError(
            f"max_results={max_results} is over the arXiv API's {API_MAX_SLICE} per request; "
            "page with start instead"
        )
    if start + max_results > API_MAX_TOTAL:
        raise ValueError(
            f"start+max_results={start + max_results} is past the arXiv API's {API_MAX_TOTAL} "
            "results per query; narrow the query (for example by submittedDate)"
        )
    if sort_by not in SORT_BY:
        raise ValueError(f"sort_by must be one of {sorted(SORT_BY)}, not {sort_by!r}")
    if sort_order not in SORT_ORDER:
        raise ValueError(f"sort_order must be one of {sorted(SORT_ORDER)}, not {sort_order!r}")
    params: list[tuple[str, str | int]] = []
    if query:
        params.append(("search_query", query))
    if ids:
        params.append(("id_list", ",".join(ids)))
    params += [
        ("start", start),
        ("max_results", max_results),
        ("sortBy", sort_by),
        ("sortOrder", sort_order),
    ]
    # ':' and ',' stay readable (au:smith, id lists) and mean the same to arXiv either way.
    return f"{ARXIV_API_BASE}?{urlencode(params, quote_via=quote_plus, safe=':,/')}"


def _origin_key(origin: str) -> tuple[str | None, str]:
    """(scheme or None, host[:port]) for an override key such as ``https://rss.arxiv.org``."""
    text = origin.strip()
    if "://" not in text:
        text = "//" + text
    parts = urlsplit(text)
    if not parts.hostname:
        raise ValueError(f"base override key {origin!r} names no host")
    scheme = parts.scheme.lower() or None
    return scheme, _netloc(scheme, parts.hostname, parts.port)


def _netloc(scheme: str | None, hostname: str, port: int | None) -> str:
    host = hostname.lower()
    if ":" in host:
        host = f"[{host}]"
    default = {"http": 80, "https": 443}.get(scheme or "")
    return host if port is None or port == default else f"{host}:{port}"


def with_base(url: str, base_overrides: Mapping[str, str]) -> str:
    """``url`` with its scheme and host replaced by a configured base, if one matches.

    Keys are origins (``https://rss.arxiv.org``, or ``rss.arxiv.org`` for any scheme); values are
    bases such as ``http://127.0.0.1:8080`` or ``http://proxy:3128/arxiv-rss`` (a path prefix is
    kept in front of the original path). URLs matching no key come back unchanged.
    """
    parts = urlsplit(url)
    if not parts.hostname:
        return url
    scheme = parts.scheme.lower()
    netloc = _netloc(scheme, parts.hostname, parts.port)
    for origin, base in base_overrides.items():
        key_scheme, key_netloc = _origin_key(origin)
        if key_netloc != netloc or (key_scheme is not None and key_scheme != scheme):
            continue
        target = urlsplit(base.strip())
        if target.scheme.lower() not in ("http", "https") or not target.netloc:
            raise ValueError(f"base override for {origin!r} must be an http(s) URL, not {base!r}")
        path = target.path.rstrip("/") + (parts.path or "/")
        return urlunsplit((target.scheme.lower(), target.netloc, path, parts.query, parts.fragment))
    return url


def host_groups_for(base_overrides: Mapping[str, str]) -> dict[str, str]:
    """Host mapping for :class:`bot.ingest.fetcher.Fetcher` so an overridden host keeps its limits.

    Pointing ``https://export.arxiv.org`` at a proxy must not lift arXiv's 3 s rule: the proxy's
    host is mapped onto the original host, which the fetcher then puts in arXiv's group.
    """
    groups: dict[str, str] = {}
    for origin, base in base_overrides.items():
        _, source = _origin_key(origin)
        target = urlsplit(base.strip())
        if target.hostname:
            scheme = target.scheme.lower() or None
            groups[_netloc(scheme, target.hostname, target.port)] = source
    return groups
