"""resolve_source, arxiv_api_url, with_base: pure functions, no network."""

from __future__ import annotations

from urllib.parse import parse_qs, urlsplit

import pytest
from hypothesis import given
from hypothesis import strategies as st

from bot.ingest.sources import (
    API_MAX_SLICE,
    API_MAX_TOTAL,
    SourceSpec,
    arxiv_api_url,
    host_groups_for,
    resolve_source,
    with_base,
)


def query_of(url: str) -> dict[str, list[str]]:
    return parse_qs(urlsplit(url).query, keep_blank_values=True)


# -- arXiv categories -> RSS -------------------------------------------------------------------


@pytest.mark.parametrize(
    ("spec", "name"),
    [
        ("cs.CL", "cs.CL"),
        ("hep-th", "hep-th"),
        ("cs", "cs"),
        ("cs.CL+cs.LG", "cs.CL+cs.LG"),
        ("  cs.CL + cs.LG ", "cs.CL+cs.LG"),
        ("cs.CL,cs.LG,cs.CL", "cs.CL+cs.LG"),
        ("cs.cl", "cs.CL"),
        ("astro-ph.co", "astro-ph.CO"),
        ("cond-mat.mes-hall", "cond-mat.mes-hall"),
        ("physics.acc-ph", "physics.acc-ph"),
        ("math.AG+q-bio.BM+stat", "math.AG+q-bio.BM+stat"),
    ],
)
def test_categories_become_rss(spec: str, name: str) -> None:
    assert resolve_source(spec) == SourceSpec(
        name=name, url=f"https://rss.arxiv.org/rss/{name}", format="arxiv-rss"
    )


@pytest.mark.parametrize(
    ("spec", "message"),
    [
        ("astroph", "'astroph' is not an arXiv archive"),
        ("transformers", "use 'arxiv:transformers'"),
        ("large language models", "use 'arxiv:large language models'"),
        ("large language models", "'large', 'language', 'models' are not arXiv archives ("),
        ("cs..CL", "not an arXiv category"),
        ("cs.CL!", "not an arXiv category"),
        ("foo.BAR", "'foo' is not an arXiv archive"),
        ("", "empty source"),
        ("   ", "empty source"),
        ("+", "no category given"),
        ("ftp://example.org/feed", "only http(s) URLs"),
        ("https://", "has no host"),
    ],
)
def test_bad_specs_say_what_is_wrong(spec: str, message: str) -> None:
    with pytest.raises(ValueError) as info:
        resolve_source(spec)
    assert message in str(info.value)


def test_error_lists_accepted_forms() -> None:
    with pytest.raises(ValueError) as info:
        resolve_source("not a spec!")
    text = str(info.value)
    for form in ("cs.CL", "cs.CL+cs.LG", "arxiv:QUERY", "api:QUERY", "id:", "http(s)"):
        assert form in text


# -- arXiv API -------------------------------------------------------------------------------------


def test_api_query_spec() -> None:
    source = resolve_source('arxiv:ti:"large language" AND cat:cs.CL')
    assert source.format == "arxiv-api"
    assert source.name == 'arxiv:ti:"large language" AND cat:cs.CL'
    assert source.url.startswith("https://export.arxiv.org/api/query?search_query=")
    assert query_of(source.url) == {
        "search_query": ['ti:"large language" AND cat:cs.CL'],
        "start": ["0"],
        "max_results": ["100"],
        "sortBy": ["submittedDate"],
        "sortOrder": ["descending"],
    }
    # Spaces, quotes and parentheses are encoded; nothing raw breaks the URL.
    assert " " not in source.url and '"' not in source.url


def test_api_prefix_forms() -> None:
    api = resolve_source("api:au:del_maestro")
    assert api == resolve_source("ARXIV:au:del_maestro")
    assert query_of(api.url)["search_query"] == ["au:del_maestro"]
    # Queries copied from arXiv's docs are URL-style, '+' for space.
    copied = resolve_source("arxiv:au:del_maestro+AND+ti:checkerboard")
    assert query_of(copied.url)["search_query"] == ["au:del_maestro AND ti:checkerboard"]


def test_id_shaped_query_fetches_the_paper() -> None:
    source = resolve_source("arXiv:2403.05530")
    assert source.name == "id:2403.05530"
    assert query_of(source.url)["id_list"] == ["2403.05530"]
    assert "search_query" not in query_of(source.url)


def test_id_list_spec() -> None:
    source = resolve_source("id:2403.05530, 2401.00001v2 hep-th/9901001,2403.05530")
    assert source.format == "arxiv-api"
    assert source.name == "id:2403.05530,2401.00001v2,hep-th/9901001"
    query = query_of(source.url)
    assert query["id_list"] == ["2403.05530,2401.00001v2,hep-th/9901001"]
    # arXiv returns 10 results unless told otherwise: every id must fit.
    assert query["max_results"] == ["3"]
    assert "id_list=2403.05530,2401.00001v2,hep-th/9901001&" in source.url


@pytest.mark.parametrize(
    ("spec", "message"),
    [
        ("id:abc", "not arXiv ids: 'abc'"),
        ("id:2403.05530,12", "not arXiv ids: '12'"),
        ("id:", "needs at least one arXiv id"),
        ("arxiv:", "no search query"),
        ("api:   ", "no search query"),
    ],
)
def test_bad_api_specs(spec: str, message: str) -> None:
    with pytest.raises(ValueError) as info:
        resolve_source(spec)
    assert message in str(info.value)


def test_arxiv_api_url_limits() -> None:
    assert query_of(arxiv_api_url("all:x", max_results=API_MAX_SLICE))["max_results"] == ["2000"]
    arxiv_api_url("all:x", start=API_MAX_TOTAL - API_MAX_SLICE, max_results=API_MAX_SLICE)
    with pytest.raises(ValueError, match="2000 per request"):
        arxiv_api_url("all:x", max_results=API_MAX_SLICE + 1)
    with pytest.raises(ValueError, match="30000 results per query"):
        arxiv_api_url("all:x", start=API_MAX_TOTAL - API_MAX_SLICE + 1, max_results=API_MAX_SLICE)
    with pytest.raises(ValueError, match="needs a search_query"):
        arxiv_api_url()
    with pytest.raises(ValueError, match="start"):
        arxiv_api_url("all:x", start=-1)
    with pytest.raises(ValueError, match="sort_by"):
        arxiv_api_url("all:x", sort_by="date")
    with pytest.raises(ValueError, match="sort_order"):
        arxiv_api_url("all:x", sort_order="down")
    with pytest.raises(ValueError, match="more than the arXiv API returns"):
        resolve_source("id:" + ",".join(f"2401.{n:05d}" for n in range(API_MAX_SLICE + 1)))


def test_arxiv_api_url_both_query_and_ids() -> None:
    url = arxiv_api_url("cat:cs.CL", id_list=["2403.05530"], start=200, sort_by="relevance")
    assert url == (
        "https://export.arxiv.org/api/query?search_query=cat:cs.CL&id_list=2403.05530"
        "&start=200&max_results=100&sortBy=relevance&sortOrder=descending"
    )


@given(st.text(min_size=1).filter(str.strip))
def test_any_search_query_round_trips(query: str) -> None:
    url = arxiv_api_url(search_query=query)
    assert query_of(url)["search_query"] == [query.strip()]
    assert urlsplit(url).netloc == "export.arxiv.org"


# -- URLs ------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("url", "fmt", "name"),
    [
        ("https://rss.arxiv.org/rss/cs.CL+cs.LG", "arxiv-rss", "cs.CL+cs.LG"),
        ("https://RSS.arXiv.org/atom/cs.CL", "arxiv-rss", "cs.CL"),
        ("http://export.arxiv.org/rss/cs.CL", "arxiv-rss", "cs.CL"),
        ("https://export.arxiv.org/api/query?id_list=2403.05530", "arxiv-api", None),
        ("https://export.arxiv.org/abs/2403.05530", "feed", None),
        ("https://notarxiv.org/rss/cs.CL", "feed", "notarxiv.org/rss/cs.CL"),
        ("https://www.nature.com/nature.rss", "feed", "www.nature.com/nature.rss"),
        ("https://example.org/", "feed", "example.org"),
    ],
)
def test_urls_guess_format_from_host(url: str, fmt: str, name: str | None) -> None:
    source = resolve_source(url)
    assert source.format == fmt
    if name is not None:
        assert source.name == name
    assert source.url.lower() == url.lower()
    assert urlsplit(source.url).netloc == urlsplit(url).netloc.lower()


# -- base overrides --------------------------------------------------------------------------------


def test_with_base_rewrites_scheme_and_host_only() -> None:
    overrides = {
        "https://rss.arxiv.org": "http://127.0.0.1:8123",
        "export.arxiv.org": "http://proxy.local:3128/arxiv-api/",
    }
    assert (
        with_base("https://rss.arxiv.org/rss/cs.CL+cs.LG", overrides)
        == "http://127.0.0.1:8123/rss/cs.CL+cs.LG"
    )
    assert (
        with_base("https://export.arxiv.org/api/query?id_list=1,2&start=0", overrides)
        == "http://proxy.local:3128/arxiv-api/api/query?id_list=1,2&start=0"
    )
    # The default port is the same origin; another scheme with a scheme-qualified key is not.
    assert with_base("https://rss.arxiv.org:443/rss/cs", overrides).startswith("http://127.0.0.1")
    assert with_base("http://rss.arxiv.org/rss/cs", overrides) == "http://rss.arxiv.org/rss/cs"
    assert with_base("https://arxiv.org/abs/1", overrides) == "https://arxiv.org/abs/1"
    assert with_base("https://rss.arxiv.org/rss/cs", {}) == "https://rss.arxiv.org/rss/cs"


def test_with_base_rejects_unusable_base() -> None:
    with pytest.raises(ValueError, match="must be an http"):
        with_base("https://rss.arxiv.org/rss/cs", {"https://rss.arxiv.org": "127.0.0.1:8000"})


def test_host_groups_for_overrides() -> None:
    assert host_groups_for(
        {
            "https://rss.arxiv.org": "http://127.0.0.1:8123",
            "https://export.arxiv.org": "http://proxy.local/arxiv",
        }
    ) == {"127.0.0.1:8123": "rss.arxiv.org", "proxy.local": "export.arxiv.org"}
