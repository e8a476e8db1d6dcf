"""The chunk loop: every chunk of users is drawn from its own seeded streams and written straight out."""

from __future__ import annotations

import math
from collections.abc import Callable
from contextlib import ExitStack
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from personagraph.loaders.generator import vocab
from personagraph.loaders.generator.activity import BundleCounts, event_rows, order_rows
from personagraph.loaders.generator.arrays import strings
from personagraph.loaders.generator.catalog import Catalog, build_catalog, channel_rows, tag_rows
from personagraph.loaders.generator.output import (
    HEADERS,
    SURVEY_HEADERS,
    CommunityFile,
    JsonObjectFile,
    Sink,
    write_json,
)
from personagraph.loaders.generator.people import (
    Cohort,
    identity_rows,
    sample_cohort,
    user_rows,
    user_tag_rows,
)
from personagraph.loaders.generator.social import sample_communities, tie_rows
from personagraph.loaders.generator.surveys import FOLDER, answer_rows, question_rows, survey_folder

CHUNK = 25_000
TOP_NAMES = strings([name for name, _ in vocab.CATEGORIES])  # as the first part of a category path
Progress = Callable[[str, int], None]


@dataclass(frozen=True)
class GeneratorReport:
    """What a run wrote, so callers need not re-count the files."""

    out_dir: Path
    users: int
    seed: int
    rows: dict[str, int]  # data lines per file, bad rows included, header excluded
    bad_rows: dict[str, int]

    @property
    def truth_dir(self) -> Path:
        return self.out_dir / "truth"


@dataclass
class _Truth:
    """Planted facts gathered chunk by chunk (all small next to the data, except communities: streamed)."""

    night: list[str] = field(default_factory=list)
    thrifty: list[str] = field(default_factory=list)
    duplicates: list[list[str]] = field(default_factory=list)
    no_consent: int = 0
    opted_out: int = 0
    bundles: BundleCounts = field(default_factory=BundleCounts)

    def collect(self, cohort: Cohort) -> None:
        self.night += cohort.ids[cohort.night].tolist()
        self.thrifty += cohort.ids[cohort.thrifty].tolist()
        pairs = zip(cohort.ids[cohort.dup_orig].tolist(), cohort.ids[cohort.dup_copy].tolist(), strict=True)
        self.duplicates += [[a, b] for a, b in pairs]


@dataclass
class _Run:
    catalog: Catalog
    seed: int
    share: float
    sinks: dict[str, Sink]
    communities: CommunityFile
    lovers: JsonObjectFile  # truth/category_lovers.json, streamed: one entry per user
    salt: int
    truth: _Truth = field(default_factory=_Truth)
    next_order: int = 1
    next_event: int = 1

    def chunk(self, number: int, start: int, size: int) -> None:
        """Everything about users [start, start + size): their rows in every per-user file."""
        streams = np.random.SeedSequence([self.seed, 1, number]).spawn(8)
        cohort_rng, users_rng, ids_rng, tags_rng, orders_rng, events_rng, ties_rng, bad_rng = (
            np.random.default_rng(s) for s in streams
        )
        cohort = sample_cohort(cohort_rng, self.catalog, start, size)
        rows, no_consent, opted_out = user_rows(users_rng, cohort)
        first = number == 0
        self.sinks["users.csv"].write(bad_rng, rows, self.share, first)
        self.sinks["identities.csv"].write(
            bad_rng, identity_rows(ids_rng, cohort, self.salt), self.share, first
        )
        self.sinks["user_tags.csv"].write(bad_rng, user_tag_rows(tags_rng, cohort), self.share, first)
        rows, orders = order_rows(orders_rng, self.catalog, cohort, self.next_order, self.truth.bundles)
        self.next_order += orders
        self.sinks["orders.csv"].write(bad_rng, rows, self.share, first)
        rows = event_rows(events_rng, self.catalog, cohort, self.next_event)
        self.next_event += len(rows)
        self.sinks["events.csv"].write(bad_rng, rows, self.share, first)
        groups = sample_communities(ties_rng, size)
        self.sinks["ties.csv"].write(
            bad_rng, tie_rows(ties_rng, self.catalog, cohort, groups), self.share, first
        )
        self.communities.add(
            [
                cohort.ids[groups.members[s : s + n]].tolist()
                for s, n in zip(groups.start, groups.size, strict=True)
            ]
        )
        self.truth.collect(cohort)
        self.lovers.add_entries(zip(cohort.ids.tolist(), TOP_NAMES[cohort.top].tolist(), strict=True))
        self.truth.no_consent += no_consent
        self.truth.opted_out += opted_out


def _ghosts(catalog: Catalog) -> tuple[Callable[[int], str], Callable[[int], str]]:
    """Ids past the last real user / product, so a row naming one names nothing that exists."""
    users, products, sku_width = catalog.users, len(catalog.skus), len(str(catalog.skus[0])) - 1
    return (
        lambda k: catalog.user_id(users + k),
        lambda k: f"P{products + 1 + k:0{sku_width}d}",
    )


def _write_truth(folder: Path, run: _Run, sinks: dict[str, Sink]) -> None:
    """One JSON file per planted fact, named in the module docstring of `loaders.generator`."""
    truth, catalog = run.truth, run.catalog
    write_json(folder / "influencers.json", catalog.user_ids(catalog.influencers))
    lifts = truth.bundles.lift()
    write_json(
        folder / "bundles.json",
        [
            {
                "skus": catalog.skus[pair].tolist(),
                "lift_min": math.floor(0.8 * lift * 100) / 100,
                "lift": round(lift, 3),
                "orders_with_both": int(both),
            }
            for pair, lift, both in zip(catalog.bundles, lifts, truth.bundles.both.tolist(), strict=True)
        ],
    )
    write_json(folder / "night_browsers.json", truth.night)
    write_json(folder / "price_sensitive.json", truth.thrifty)
    write_json(folder / "duplicates.json", truth.duplicates)
    write_json(folder / "bad_rows.json", {name: sink.bad for name, sink in sinks.items()})
    write_json(
        folder / "consent.json",
        {"marketing_consent_false": truth.no_consent, "personalization_opt_out_true": truth.opted_out},
    )


def generate(
    out_dir: Path,
    *,
    users: int,
    seed: int,
    bad_row_share: float = 0.005,
    progress: Progress | None = None,
    chunk_size: int = CHUNK,
) -> GeneratorReport:
    """Write a synthetic dataset plus `truth/` (the planted facts) to `out_dir`; same seed, same bytes."""
    if users < 10 or seed < 0 or not 0 <= bad_row_share < 0.5 or chunk_size < 10:
        raise ValueError("need users >= 10, seed >= 0, 0 <= bad_row_share < 0.5 and chunk_size >= 10")
    (out_dir / "truth").mkdir(parents=True, exist_ok=True)
    catalog = build_catalog(np.random.default_rng(np.random.SeedSequence([seed, 0])), users)
    with ExitStack() as stack:
        sinks = {name: Sink(out_dir, name, _ghosts(catalog)) for name in HEADERS}
        for sink in sinks.values():
            stack.callback(sink.close)
        static_rng = np.random.default_rng(np.random.SeedSequence([seed, 2]))
        for name, rows in (
            ("channels.csv", channel_rows()),
            ("products.csv", catalog.product_rows),
            ("tags.csv", tag_rows()),
        ):
            sinks[name].write(static_rng, rows, bad_row_share, True)
        salt = int(np.random.SeedSequence([seed, 3]).generate_state(1)[0])
        with (
            CommunityFile(out_dir / "truth" / "communities.json") as communities,
            JsonObjectFile(out_dir / "truth" / "category_lovers.json") as lovers,
        ):
            run = _Run(catalog, seed, bad_row_share, sinks, communities, lovers, salt)
            for number, start in enumerate(range(0, users, chunk_size)):
                run.chunk(number, start, min(chunk_size, users - start))
                if progress is not None:
                    progress("users", min(start + chunk_size, users))
    _write_truth(out_dir / "truth", run, sinks)
    survey_sinks = _write_surveys(out_dir, catalog, seed, bad_row_share)
    return GeneratorReport(
        out_dir=out_dir,
        users=users,
        seed=seed,
        rows={name: sink.rows for name, sink in (*sinks.items(), *survey_sinks.items())},
        bad_rows={name: len(sink.bad) for name, sink in (*sinks.items(), *survey_sinks.items())},
    )


def _write_surveys(out_dir: Path, catalog: Catalog, seed: int, share: float) -> dict[str, Sink]:
    """``surveys/surveys.csv`` and ``surveys/survey_answers.csv`` (bad rows among the answers only: a bad
    question would take its answers with it), and truth/surveys.json; from a stream of their own, so the
    other files are the bytes they were. Named ``surveys/<file>`` in the report."""
    rng = np.random.default_rng(np.random.SeedSequence([seed, 4]))
    folder = survey_folder(out_dir)
    sinks = {name: Sink(folder, name, _ghosts(catalog)) for name in SURVEY_HEADERS}
    try:
        sinks["surveys.csv"].write(rng, question_rows(), 0.0)
        rows, truth = answer_rows(rng, catalog)
        sinks["survey_answers.csv"].write(rng, rows, share, True)
    finally:
        for sink in sinks.values():
            sink.close()
    write_json(out_dir / "truth" / "surveys.json", truth.as_dict(sinks["survey_answers.csv"].bad))
    return {f"{FOLDER}/{name}": sink for name, sink in sinks.items()}
