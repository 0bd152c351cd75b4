"""Topic matching and digest building: the percolator against brute force, and 10k digests.

``python -m benchmarks.bench_topics [--quick]`` (or ``run()``; ``bench_topics(options)`` is the
entry point for ``python -m benchmarks``). Two measurements, each with its baseline in the same
run:

1. **Matching a day.** ``papers`` new papers (the RSS fixture's real day, repeated under distinct
   keys: see :func:`day_papers`) against ``topics`` saved topics through
   :meth:`bot.domain.matching.TopicIndex.match_many`, whose covers (for one paper at a time) are
   chosen with document frequencies of the previous day's papers. Brute force (every topic
   against every paper with :func:`bot.domain.query.matches`) runs on a subset of topics and
   papers and is extrapolated; on that subset both must agree exactly.
2. **Digests.** ``subscriptions`` digests built and rendered
   (:class:`bot.domain.digest.DigestBuilder`, messages serialised as they are stored in a claim)
   from the day's matches and the papers' stored notes, before posting (see
   :func:`bench_digests`). Baseline: one builder per digest, so nothing is shared between
   digests (each redoes its papers' TL;DRs, phrases and cards, its ranking and its themes);
   timed on a sample and extrapolated.

Synthetic topics (:func:`synthetic_topics`) are drawn from the fixture's vocabulary in the shapes
people write. Two assumptions shape the numbers and are reported with them: about a fifth of the
topics are shared (guilds following the ready-made topics of config/topics.toml or a popular
theme), and a personal topic is specific (a title phrase, two words, a word in a category, an
author), so that it matches a handful of papers a day, as a digest topic does; the mean number of
papers per topic per day is printed and stored.
"""

from __future__ import annotations

import argparse
import random
import statistics
import sys
import time
from collections.abc import Sequence
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from benchmarks import corpus
from bot.domain.digest import DigestBuilder, DigestOptions, encode_messages
from bot.domain.ingest.arxiv_rss import parse_arxiv_rss
from bot.domain.matching import KeyStats, TopicIndex, match_brute
from bot.domain.paper_notes import PaperNotes, take_notes
from bot.domain.papers import Paper
from bot.domain.query import STOPWORDS, Query, QueryError, parse_query, prepare, tokenize
from bot.domain.topics import Topic, load_ready_made

RESULTS_NAME = "topics"
NOW = datetime(2024, 11, 28, 9, 0, tzinfo=UTC)


@dataclass(slots=True)
class Settings:
    papers: int = 5_000
    topics: int = 100_000
    subscriptions: int = 10_000
    brute_topics: int = 2_000
    brute_papers: int = 500
    seed: int = 0

    @classmethod
    def quick(cls) -> Settings:
        return cls(papers=1_000, topics=20_000, subscriptions=2_000, brute_topics=500)


# --- data -----------------------------------------------------------------------------------------


def fixture_papers() -> list[Paper]:
    """The RSS fixture's 1,504 papers: one real announcement day."""
    return list(parse_arxiv_rss(corpus.FIXTURE.read_bytes()).papers)


def day_papers(n: int) -> list[Paper]:
    """``n`` new papers: the fixture's real day, repeated under distinct keys when ``n`` is
    larger (real word statistics matter to a percolator; the synthetic corpus strings words at
    random, so its phrases would almost never match)."""
    base = fixture_papers()
    out: list[Paper] = []
    copy = 0
    while len(out) < n:
        for paper in base[: n - len(out)]:
            out.append(replace(paper, catalog_key=f"{paper.key}~{copy}" if copy else None))
        copy += 1
    return out


@dataclass(slots=True)
class Vocabulary:
    words: list[str]  # content words found in 0.05% to 1% of the papers
    common: list[str]  # in 1% to 8%
    phrases: list[tuple[str, ...]]  # 2-3 consecutive title words
    names: list[str]  # authors' full names, as people follow them
    categories: list[str]


def vocabulary(papers: Sequence[Paper], stats: KeyStats) -> Vocabulary:
    """The fixture's vocabulary, sorted into rare and common words by document frequency."""
    n = max(1, stats.papers)
    words: set[str] = set()
    common: set[str] = set()
    phrases: set[tuple[str, ...]] = set()
    names: set[str] = set()
    categories: set[str] = set()
    for paper in papers:
        for w in set(tokenize(paper.abstract)) | set(tokenize(paper.title)):
            if not w.isalpha() or len(w) < 4 or w in STOPWORDS:
                continue
            share = stats.df(w) / n
            if 0.0005 <= share <= 0.01:
                words.add(w)
            elif 0.01 < share <= 0.08:
                common.add(w)
        t = [w for w in tokenize(paper.title) if w.isalpha()]
        for k in (2, 3):
            for i in range(len(t) - k + 1):
                gram = tuple(t[i : i + k])
                if gram[0] not in STOPWORDS and gram[-1] not in STOPWORDS:
                    phrases.add(gram)
        names.update(" ".join(tokenize(a.name)) for a in paper.authors if len(tokenize(a.name)) > 1)
        categories.update(paper.categories)
    return Vocabulary(
        words=sorted(words),
        common=sorted(common),
        phrases=sorted(phrases),
        names=sorted(names),
        categories=sorted(categories),
    )


def _popular(vocab: Vocabulary, rng: random.Random) -> list[str]:
    themes = [t.query_text for t in load_ready_made()]
    for _ in range(200):
        picks = rng.sample(vocab.phrases, 2)
        themes.append(" OR ".join('"' + " ".join(p) + '"' for p in picks))
    return themes


def synthetic_topics(n: int, vocab: Vocabulary, seed: int) -> list[str]:
    """``n`` query texts: a fifth shared (ready-made and popular themes, Zipf-distributed), the
    rest personal, in the shapes people write."""
    rng = random.Random(f"paperbot-topics:{seed}")
    popular = _popular(vocab, rng)
    weights = [1 / (i + 1) for i in range(len(popular))]
    out: list[str] = []

    def word() -> str:
        return rng.choice(vocab.words)

    def phrase() -> str:
        return '"' + " ".join(rng.choice(vocab.phrases)) + '"'

    for _ in range(n):
        r = rng.random()
        if r < 0.20:
            out.append(rng.choices(popular, weights)[0])
        elif r < 0.45:
            out.append(phrase())
        elif r < 0.55:
            out.append(f"{rng.choice(vocab.common)} {rng.choice(vocab.common)} {word()}")
        elif r < 0.65:
            out.append(f"{phrase()} OR {phrase()} OR {word()}")
        elif r < 0.72:
            out.append(f"{rng.choice(vocab.common)} cat:{rng.choice(vocab.categories)}")
        elif r < 0.77:
            out.append(f"{word()[:5]}* {rng.choice(vocab.common)}")
        elif r < 0.82:
            out.append(f'author:"{rng.choice(vocab.names)}"')
        elif r < 0.87:
            out.append(f"title:{word()}")
        elif r < 0.92:
            out.append(f"{phrase()} -{word()}")
        elif r < 0.96:
            out.append(f"({word()} OR {word()}) {rng.choice(vocab.common)}")
        else:
            out.append(f"cat:{rng.choice(vocab.categories)}")
    return out


def parse_all(texts: Sequence[str]) -> list[Query]:
    today = NOW.date()
    out: list[Query] = []
    for text in texts:
        try:
            out.append(parse_query(text, today=today))
        except QueryError:
            continue
    return out


# --- measurements ---------------------------------------------------------------------------------


def _timed(fn: Any) -> tuple[Any, float]:
    started = time.perf_counter()
    result = fn()
    return result, time.perf_counter() - started


def bench_matching(s: Settings) -> tuple[dict[str, Any], TopicIndex[int], list[Query]]:
    day = day_papers(s.papers)
    stats = KeyStats.from_papers(fixture_papers())
    vocab = vocabulary(fixture_papers(), stats)
    queries = parse_all(synthetic_topics(s.topics, vocab, s.seed))
    entries = list(enumerate(queries))
    index, t_build = _timed(lambda: TopicIndex(entries, stats=stats))
    cpu = time.process_time()
    matched, t_match = _timed(lambda: index.match_many(day, now=NOW))
    cpu_match = time.process_time() - cpu
    pairs = sum(len(v) for v in matched.values())
    # One paper at a time (a paper arriving on its own), on a sample.
    sample = [prepare(p) for p in day[: max(1, len(day) // 10)]]
    _, t_single = _timed(lambda: [index.match(doc, now=NOW) for doc in sample])

    sub_entries = entries[: s.brute_topics]
    sub_papers = day[: s.brute_papers]
    brute, t_brute = _timed(lambda: match_brute(sub_entries, sub_papers, now=NOW))
    sub_index = TopicIndex(sub_entries, stats=stats)
    indexed = sub_index.match_many(sub_papers, now=NOW)
    agree = {k: [p.key for p in v] for k, v in indexed.items()} == {
        k: [p.key for p in v] for k, v in brute.items()
    }
    per_eval = t_brute / (len(sub_entries) * len(sub_papers))
    brute_day = per_eval * len(queries) * len(day)
    rate = len(day) / t_match
    result = {
        "papers": len(day),
        "topics": len(queries),
        "index": {
            "build_s": round(t_build, 3),
            "distinct_queries": index.stats.distinct_queries,
            "branches": index.stats.branches,
            "by_term": index.stats.by_term,
            "by_prefix": index.stats.by_prefix,
            "by_filter": index.stats.by_filter,
            "by_author": index.stats.by_author,
            "scanned": index.stats.scanned,
        },
        "match_s": round(t_match, 3),
        "match_cpu_s": round(cpu_match, 3),
        "papers_per_s": round(rate),
        "one_at_a_time_papers_per_s": round(len(sample) / t_single),
        "matched_pairs": pairs,
        "topics_per_paper": round(pairs / len(day), 1),
        "papers_per_topic_mean": round(pairs / len(queries), 2),
        "topics_with_a_match": len(matched),
        "brute_subset": {
            "topics": len(sub_entries),
            "papers": len(sub_papers),
            "seconds": round(t_brute, 3),
            "us_per_evaluation": round(per_eval * 1e6, 2),
            "agrees_with_index": agree,
        },
        "brute_day_s_extrapolated": round(brute_day, 1),
        "speedup_vs_brute": round(brute_day / t_match, 1),
        "targets": {
            "papers_per_s>=1000": rate >= 1000,
            "day<10s": t_match < 10,
        },
    }
    print(
        f"   index: {len(queries):,} topics ({index.stats.distinct_queries:,} distinct) built "
        f"in {t_build:.1f}s\n"
        f"   match: {len(day):,} papers in {t_match:.2f}s (CPU {cpu_match:.2f}s) = {rate:,.0f} "
        f"papers/s ({len(sample) / t_single:,.0f}/s one paper at a time); "
        f"{pairs / len(day):.1f} topics per paper, {pairs / len(queries):.2f} papers per topic\n"
        f"   brute force: {per_eval * 1e6:.1f} us per (topic, paper) on {len(sub_entries):,} x "
        f"{len(sub_papers):,}; the day extrapolated: {brute_day:,.0f}s -> "
        f"{brute_day / t_match:,.0f}x slower; same results: {agree}",
        flush=True,
    )
    if not agree:
        raise AssertionError("the index and brute force disagree")
    return result, index, queries


def bench_digests(s: Settings, index: TopicIndex[int], queries: list[Query]) -> dict[str, Any]:
    """Digests of ``subscriptions`` topics drawn at random from all of them, over one real
    announcement day (the fixture's 1,504 papers, about arXiv's daily volume).

    As in the bot: each paper's notes (TL;DR, phrases) are taken when it enters the catalog
    (timed apart, as "notes at ingest") and stored as JSON (storage/notes.py); the digests'
    time starts from the stored JSON: reading the notes, priming one builder with the day, then
    building every digest and encoding its messages as a claim stores them. The baseline takes
    everything from scratch with one builder per digest (nothing shared between digests, notes
    taken again), on a sample, extrapolated; a second reference shares one builder but takes
    the notes during the run (a day whose notes were not taken at ingest).
    """
    day = fixture_papers()
    matched = index.match_many(day, now=NOW)
    rng = random.Random(f"paperbot-subscriptions:{s.seed}")
    chosen = [rng.randrange(len(queries)) for _ in range(s.subscriptions)]
    topics = {
        o: Topic(guild_id=1, name=f"topic-{o}", query_text=queries[o].raw, query=queries[o])
        for o in set(chosen)
    }
    options = DigestOptions()
    cpu = time.process_time()
    stored, t_notes = _timed(lambda: {p.key: take_notes(p).to_json() for p in day})
    cpu_notes = time.process_time() - cpu

    def build(chosen: list[int], shared: bool, noted: bool = True) -> tuple[int, int]:
        builder = DigestBuilder(options)
        if shared:
            if noted:  # read back as the digest service does (DigestService._give_notes)
                for paper in day:
                    notes = PaperNotes.from_json(stored[paper.key])
                    assert notes is not None and notes.fits(paper)
                    builder.remember(paper, notes)
            builder.prime(day)  # the day's shared work, once (part of the time measured)
        messages = cards = 0
        for o in chosen:
            b = builder if shared else DigestBuilder(options)
            digest = b.build(topics[o], matched.get(o, []), now=NOW)
            # What a claim stores before posting (storage/subscriptions.py, claim()).
            encode_messages(digest.messages)
            messages += len(digest.messages)
            cards += sum(len(m.cards) for m in digest.messages)
        return messages, cards

    cpu = time.process_time()
    (messages, cards), t_build = _timed(lambda: build(chosen, True))
    cpu_build = time.process_time() - cpu
    _, t_unnoted = _timed(lambda: build(chosen, True, noted=False))
    sizes = [len(matched.get(o, [])) for o in chosen]
    sample = chosen[: max(1, len(chosen) // 20)]
    _, t_sample = _timed(lambda: build(sample, False))
    naive = t_sample * len(chosen) / len(sample)
    result = {
        "day_papers": len(day),
        "subscriptions": len(chosen),
        "with_papers": sum(1 for n in sizes if n),
        "papers_per_digest_mean": round(statistics.fmean(sizes), 1) if sizes else 0,
        "papers_per_digest_max": max(sizes, default=0),
        "messages": messages,
        "cards": cards,
        "notes_at_ingest_s": round(t_notes, 3),
        "notes_at_ingest_cpu_s": round(cpu_notes, 3),
        "notes_us_per_paper": round(t_notes / len(day) * 1e6),
        "seconds": round(t_build, 3),
        "cpu_seconds": round(cpu_build, 3),
        "target_under_2s": t_build < 2,
        "notes_taken_during_the_run_s": round(t_unnoted, 3),
        "without_shared_caches_s_extrapolated": round(naive, 1),
        "speedup_vs_without_shared_caches": round(naive / t_build, 1),
    }
    print(
        f"   notes at ingest: {len(day):,} papers in {t_notes:.2f}s "
        f"({t_notes / len(day) * 1e6:,.0f} us each)\n"
        f"   digests: {len(chosen):,} subscriptions over a day of {len(day):,} papers "
        f"({result['with_papers']:,} with papers, {result['papers_per_digest_mean']} papers on "
        f"average, {messages:,} messages) built and rendered in {t_build:.2f}s (CPU "
        f"{cpu_build:.2f}s); notes taken during the run instead: {t_unnoted:.2f}s; one builder "
        f"per digest instead: about {naive:.1f}s -> {naive / t_build:,.0f}x slower",
        flush=True,
    )
    return result


def bench_topics(options: Any = None) -> dict[str, Any]:
    """Entry point for ``python -m benchmarks`` (takes its Options; uses ``seed`` and whether
    the quick sizes were asked for)."""
    quick = options is not None and getattr(options, "corpus_records", 200_000) < 200_000
    s = Settings.quick() if quick else Settings()
    if options is not None:
        s.seed = getattr(options, "seed", 0)
    matching, index, queries = bench_matching(s)
    digests = bench_digests(s, index, queries)
    return {"settings": _settings(s), "matching": matching, "digests": digests}


def _settings(s: Settings) -> dict[str, Any]:
    return {name: getattr(s, name) for name in Settings.__slots__}  # type: ignore[attr-defined]


def run(quick: bool = False, seed: int = 0) -> dict[str, Any]:
    """Run both measurements and write ``benchmarks/results/topics-*.json``."""
    from benchmarks.common import write_results

    s = Settings.quick() if quick else Settings()
    s.seed = seed
    matching, index, queries = bench_matching(s)
    digests = bench_digests(s, index, queries)
    payload = {"settings": _settings(s), "matching": matching, "digests": digests}
    path: Path = write_results(RESULTS_NAME, payload)
    print(f"   results in {path}")
    return payload


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.bench_topics")
    parser.add_argument("--quick", action="store_true")
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args(argv)
    run(quick=args.quick, seed=args.seed)
    return 0


if __name__ == "__main__":
    sys.exit(main())
