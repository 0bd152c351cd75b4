"""Pasted listings: code+date lines, glued title/author lines, abstracts; the split heuristics."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from bot.domain.ingest.listing import HEADER_RE, parse_listing, split_title_authors

LISTING = (Path(__file__).resolve().parent / "fixtures" / "listing.txt").read_text(encoding="utf-8")


def test_fixture_papers_skips_and_doubts() -> None:
    result = parse_listing(LISTING)
    assert len(result.papers) == 9
    assert len(result.skipped) == 1
    assert [u.ref for u in result.uncertain] == ["Planning with LLMs", "Experiments on the iMac"]


def test_first_entry_fields() -> None:
    paper = parse_listing(LISTING).papers[0]
    assert paper.title == "Attention Is Not All You Need Anymore"
    assert paper.author_names == ("Jane Doe", "Wei Zhang", "Amal Haddad")
    assert paper.categories == ("cs.CL",)
    assert paper.published == datetime(2023, 11, 3, tzinfo=UTC)
    assert paper.sources == ("listing",)
    assert paper.arxiv_id is None
    assert paper.key.startswith("t:")


def test_abstract_spans_lines_until_the_next_entry() -> None:
    paper = parse_listing(LISTING).papers[0]
    assert paper.abstract == (
        "We study whether attention layers remain necessary when state-space blocks are "
        "trained with the same budget, and find that a hybrid with one attention layer in "
        "eight matches the full model."
    )


def test_affiliations_go_to_every_author() -> None:
    paper = parse_listing(LISTING).papers[0]
    assert paper.affiliations == ("example-lab", "mila")
    assert all(a.affiliations == ("example-lab", "mila") for a in paper.authors)


def test_codes_map_to_categories() -> None:
    codes = [p.categories for p in parse_listing(LISTING).papers]
    assert codes[:7] == [
        ("cs.CL",),
        ("cs.LG",),
        ("cs.CV",),
        ("cs.CL",),
        ("stat.ML",),
        ("cs.RO",),
        ("hep-th",),
    ]


def test_leap_day_date() -> None:
    assert parse_listing(LISTING).papers[5].published == datetime(2024, 2, 29, tzinfo=UTC)


def test_unsplittable_line_is_skipped_with_line_number() -> None:
    skipped = parse_listing(LISTING).skipped[0]
    assert skipped.position == 29
    assert skipped.reason == "cannot tell where the title ends and the author list begins"
    assert skipped.ref == "a lowercase line that has no author list at all"


def test_source_is_recorded() -> None:
    assert parse_listing(LISTING, source="paste").papers[0].sources == ("paste",)


def test_empty_text_is_an_empty_result() -> None:
    assert parse_listing("").empty
    assert parse_listing("\n\n  \n").empty


def test_text_before_the_first_entry_is_reported() -> None:
    result = parse_listing("Papers I liked\n" + LISTING)
    assert result.skipped[0].position == 1
    assert "before the first" in result.skipped[0].reason
    assert len(result.papers) == 9


def test_entry_without_title_line() -> None:
    result = parse_listing("CLNov 3, 2023\nLGNov 4, 2023\nA TitleJane Doe\nAbstract.")
    assert result.skipped[0].reason == "entry has no title/author line"
    assert len(result.papers) == 1


def test_unknown_code_is_imported_with_doubt() -> None:
    result = parse_listing("ZZNov 3, 2023\nSome TitleJane Doe\nText.")
    assert result.papers[0].categories == ()
    assert "unknown category code 'ZZ'" in result.uncertain[0].reason


@pytest.mark.parametrize(
    ("line", "code", "day"),
    [
        ("CLNov 3, 2023", "CL", datetime(2023, 11, 3, tzinfo=UTC)),
        ("cs.MAMay 3, 2023", "cs.MA", datetime(2023, 5, 3, tzinfo=UTC)),
        ("MAMar 10, 2021", "MA", datetime(2021, 3, 10, tzinfo=UTC)),
        ("hep-thJul 4, 2023", "hep-th", datetime(2023, 7, 4, tzinfo=UTC)),
        ("SESeptember 9, 2024", "SE", datetime(2024, 9, 9, tzinfo=UTC)),
        ("CL Nov 3, 2023", "CL", datetime(2023, 11, 3, tzinfo=UTC)),
    ],
)
def test_header_line(line: str, code: str, day: datetime) -> None:
    m = HEADER_RE.match(line)
    assert m is not None
    assert m.group("code") == code
    result = parse_listing(f"{line}\nA Short TitleJane Doe\nText.")
    assert result.papers[0].published == day


@pytest.mark.parametrize(
    "line", ["We study Nov 3, 2023 results", "Nov 3, 2023", "CLNov 3 2023 and more", "CL"]
)
def test_not_a_header_line(line: str) -> None:
    assert HEADER_RE.match(line) is None


# Each case: the title/author line, the title, the authors, and whether the split is confident.
SPLITS = [
    (
        "Attention Is Not All You Need AnymoreJane Doe, Wei Zhang, Amal Haddad et al.",
        "Attention Is Not All You Need Anymore",
        ("Jane Doe", "Wei Zhang", "Amal Haddad"),
        True,
    ),
    # Title ends in an acronym: the capitals before "Jane" belong to the title.
    (
        "Autoregressive Generation with Perceiver ARJane Doe, Wei Zhang",
        "Autoregressive Generation with Perceiver AR",
        ("Jane Doe", "Wei Zhang"),
        True,
    ),
    (
        "A Survey of 3D Gaussian Splatting in SLAMJane Doe",
        "A Survey of 3D Gaussian Splatting in SLAM",
        ("Jane Doe",),
        True,
    ),
    # Acronym followed by an initial.
    ("Safety via RLHFA. Smith, B. Jones", "Safety via RLHF", ("A. Smith", "B. Jones"), True),
    ("Vitamin DJane Doe and Wei Zhang", "Vitamin D", ("Jane Doe", "Wei Zhang"), True),
    # Ends in digits.
    (
        "Scaling Laws for GPT-4Ana Lopes, Ravi Kumar",
        "Scaling Laws for GPT-4",
        ("Ana Lopes", "Ravi Kumar"),
        True,
    ),
    ("Benchmarks Revisited in 2024Ana Lopes", "Benchmarks Revisited in 2024", ("Ana Lopes",), True),
    # Colon, camel case and hyphens in the title.
    (
        "LoRA: Low-Rank Adaptation of Large Language ModelsEdward Hu, Yelong Shen et al.",
        "LoRA: Low-Rank Adaptation of Large Language Models",
        ("Edward Hu", "Yelong Shen"),
        True,
    ),
    (
        "Fine-Tuning with PyTorch and DeepSpeedAna Lopes, Wei Zhang",
        "Fine-Tuning with PyTorch and DeepSpeed",
        ("Ana Lopes", "Wei Zhang"),
        True,
    ),
    # Closing punctuation.
    (
        "Retrieval-Augmented Generation (RAG)Ana Lopes, Ravi Kumar",
        "Retrieval-Augmented Generation (RAG)",
        ("Ana Lopes", "Ravi Kumar"),
        True,
    ),
    (
        'Finding "Good Views"Hyewon Jeong, Suyeol Yun',
        'Finding "Good Views"',
        ("Hyewon Jeong", "Suyeol Yun"),
        True,
    ),
    # Single author; single author with et al.
    (
        "On the Sample Complexity of Bandits with KnapsacksMaria Schmidt",
        "On the Sample Complexity of Bandits with Knapsacks",
        ("Maria Schmidt",),
        True,
    ),
    ("Deep Sets RevisitedJane Doe et al.", "Deep Sets Revisited", ("Jane Doe",), True),
    # Accents, hyphens, initials, particles, apostrophes, camel-case surnames, suffixes.
    (
        "Réseaux de neurones pour la traductionJosé Martínez-López, Zoë Brontë",
        "Réseaux de neurones pour la traduction",
        ("José Martínez-López", "Zoë Brontë"),
        True,
    ),
    (
        "Machine Learning for ŁódźŁukasz Kaiser, Ørjan Ødegaard",
        "Machine Learning for Łódź",
        ("Łukasz Kaiser", "Ørjan Ødegaard"),
        True,
    ),
    (
        "Cross-Lingual TransferJean-Pierre Dupont-Moretti, Anne-Marie Lagrange",
        "Cross-Lingual Transfer",
        ("Jean-Pierre Dupont-Moretti", "Anne-Marie Lagrange"),
        True,
    ),
    (
        "A Note on Mixing TimesJ. R. R. Tolkien, C. S. Lewis, J.-P. Serre",
        "A Note on Mixing Times",
        ("J. R. R. Tolkien", "C. S. Lewis", "J.-P. Serre"),
        True,
    ),
    (
        "Gradient Flows in Wasserstein SpaceWilke van der Schee, Ludwig van Beethoven",
        "Gradient Flows in Wasserstein Space",
        ("Wilke van der Schee", "Ludwig van Beethoven"),
        True,
    ),
    (
        "Why Do Transformers Generalize?Seán O'Brien, Luca D'Amico",
        "Why Do Transformers Generalize?",
        ("Seán O'Brien", "Luca D'Amico"),
        True,
    ),
    (
        "Gradient-Based Learning Applied to Document RecognitionYann LeCun, Léon Bottou",
        "Gradient-Based Learning Applied to Document Recognition",
        ("Yann LeCun", "Léon Bottou"),
        True,
    ),
    (
        "Sparse ModelsRonald McDonald Smith, Wei Zhang",
        "Sparse Models",
        ("Ronald McDonald Smith", "Wei Zhang"),
        True,
    ),
    (
        "Civil Rights and NetworksMartin Luther King Jr., Ana Lopes",
        "Civil Rights and Networks",
        ("Martin Luther King Jr.", "Ana Lopes"),
        True,
    ),
    (
        "Algebra in BaghdadMuhammad al-Khwarizmi, Jean d'Alembert",
        "Algebra in Baghdad",
        ("Muhammad al-Khwarizmi", "Jean d'Alembert"),
        True,
    ),
    # Collaborations, also after a title ending in capitals.
    (
        "Observation of a New Resonance at 13 TeVThe ATLAS Collaboration",
        "Observation of a New Resonance at 13 TeV",
        ("The ATLAS Collaboration",),
        True,
    ),
    (
        "Fast Radio Bursts at 1 GHzCHIME/FRB Collaboration, Jane Doe",
        "Fast Radio Bursts at 1 GHz",
        ("CHIME/FRB Collaboration", "Jane Doe"),
        True,
    ),
    # Genuinely ambiguous: imported, but flagged.
    (
        "Results for Part IIJJ Abrams, Ana Lopes",
        "Results for Part II",
        ("JJ Abrams", "Ana Lopes"),
        False,
    ),
    ("Experiments on the iMacJane Doe", "Experiments on the iMac", ("Jane Doe",), False),
    (
        "Sparse ModelsLaToya Smith, Wei Zhang",
        "Sparse Models",
        ("LaToya Smith", "Wei Zhang"),
        False,
    ),
    # A mononym only fits the lenient reading.
    ("Planning with LLMsMausam, Ana Lopes", "Planning with LLMs", ("Mausam", "Ana Lopes"), False),
    # Not glued as the format says: split after the last title word, flagged.
    (
        "Towards Robust Vision Ana Lopes, Wei Zhang",
        "Towards Robust Vision",
        ("Ana Lopes", "Wei Zhang"),
        False,
    ),
]


@pytest.mark.parametrize(("line", "title", "authors", "confident"), SPLITS)
def test_split_title_authors(
    line: str, title: str, authors: tuple[str, ...], confident: bool
) -> None:
    split = split_title_authors(line)
    assert split is not None
    assert split.title == title
    assert split.authors == authors
    assert (split.doubt is None) is confident


def test_split_reports_et_al_and_affiliations() -> None:
    split = split_title_authors("Sparse Mixtures at ScaleRavi Kumar, Ana Lopes et al. · lab, uni")
    assert split is not None
    assert split.et_al
    assert split.affiliations == ("lab", "uni")
    assert split.authors == ("Ravi Kumar", "Ana Lopes")


def test_middle_dot_inside_a_title() -> None:
    split = split_title_authors("Cats · Dogs: A StudyJane Doe · MIT")
    assert split is not None
    assert (split.title, split.authors, split.affiliations) == (
        "Cats · Dogs: A Study",
        ("Jane Doe",),
        ("MIT",),
    )


@pytest.mark.parametrize(
    "line",
    [
        "a lowercase line that has no author list at all",
        "Only A Title With No Names",
        "",
    ],
)
def test_unsplittable_lines(line: str) -> None:
    split = split_title_authors(line)
    assert split is None or split.doubt is not None


@settings(max_examples=200, deadline=None)
@given(text=st.text(max_size=400))
def test_arbitrary_text_never_raises(text: str) -> None:
    result = parse_listing(text)
    assert len(result.uncertain) <= len(result.papers)


@settings(max_examples=100, deadline=None)
@given(title=st.text(min_size=1, max_size=80), code=st.sampled_from(["CL", "LG", "CV"]))
def test_arbitrary_title_lines_never_raise(title: str, code: str) -> None:
    parse_listing(f"{code}Nov 3, 2023\n{title}Jane Doe, Wei Zhang\nAbstract.")
