"""Planted survey answers: the starter survey 'pulse' (rules/tags.yaml's survey rules read it) answered by
a share of the users, with known promoters, passives and detractors, who values quality over price and
who is eco-minded (truth/surveys.json), written to ``surveys/`` beside the other files."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import numpy as np

from personagraph.loaders.generator import vocab
from personagraph.loaders.generator.catalog import Catalog

SURVEY_ID = "pulse"
FOLDER = "surveys"  # a folder of its own: the initial load (loaders/bulk/initial.py) takes no survey files
QUESTIONS: tuple[tuple[str, str, str, str], ...] = (  # (question id, wording, scale, options)
    ("recommend", "How likely are you to recommend us to a friend?", "nps", ""),
    ("quality_over_price", "I would rather pay more for better quality", "likert5", ""),
    ("eco", "I choose eco-friendly products even when they cost more", "likert5", ""),
    (
        "values",
        "What matters to you when you buy?",
        "multi",
        "price|quality|sustainability|brand|convenience",
    ),
)
OTHER_VALUES = ("price", "quality", "brand", "convenience")
RESPONDENTS = 0.3  # share of users who answered
CHANNELS = ("web", "app", "wechat", "")  # where the survey was answered ('' not recorded)


@dataclass
class SurveyTruth:
    """Who the answers make what, by the latest answer to each question."""

    promoters: list[str] = field(default_factory=list)
    passives: list[str] = field(default_factory=list)
    detractors: list[str] = field(default_factory=list)
    quality_over_price: list[str] = field(default_factory=list)
    eco_minded: list[str] = field(default_factory=list)

    def as_dict(self, bad_rows: list[int]) -> dict[str, Any]:
        return {
            "survey_id": SURVEY_ID,
            "promoters": self.promoters,
            "passives": self.passives,
            "detractors": self.detractors,
            "quality_over_price": self.quality_over_price,
            "eco_minded": self.eco_minded,
            "bad_rows": {"survey_answers.csv": bad_rows},
        }


def question_rows() -> list[str]:
    """surveys.csv: one row per question."""
    return [
        f"{SURVEY_ID},Customer pulse,{qid},{text},{scale},{options},{n}"
        for n, (qid, text, scale, options) in enumerate(QUESTIONS, start=1)
    ]


def _at(seconds: int) -> str:
    return datetime.fromtimestamp(seconds, tz=UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def _row(uid: str, question: str, value: object, at: int, channel: str) -> str:
    return f"{uid},{SURVEY_ID},{question},{value},{_at(at)},{channel}"


def _score(rng: np.random.Generator, low: int, high: int) -> int:
    """A score from low to high, both included."""
    return int(rng.integers(low, high + 1))


def _respond(rng: np.random.Generator, uid: str, truth: SurveyTruth) -> list[str]:
    """One respondent's answers, in one sitting; what they plant goes into ``truth``."""
    when = vocab.END - _score(rng, 40, 300) * vocab.DAY - _score(rng, 0, vocab.DAY - 1)
    channel = CHANNELS[int(rng.integers(0, len(CHANNELS)))]
    rows = []
    if rng.random() < 0.25:  # an earlier NPS answer, which the latest replaces
        rows.append(
            _row(uid, "recommend", _score(rng, 0, 10), when - _score(rng, 20, 200) * vocab.DAY, channel)
        )
    band = rng.random()
    score = _score(rng, 9, 10) if band < 0.3 else _score(rng, 7, 8) if band < 0.6 else _score(rng, 0, 6)
    rows.append(_row(uid, "recommend", score, when, channel))
    (truth.promoters if score >= 9 else truth.passives if score >= 7 else truth.detractors).append(uid)
    if rng.random() < 0.9:
        quality = rng.random() < 0.3
        rows.append(
            _row(
                uid, "quality_over_price", _score(rng, 4, 5) if quality else _score(rng, 1, 3), when, channel
            )
        )
        if quality:
            truth.quality_over_price.append(uid)
    kind = rng.random()  # eco-minded 15%; a high eco score without the value 10%; the value without it 10%
    high_eco, names_it = kind < 0.25, kind < 0.15 or 0.25 <= kind < 0.35
    rows.append(_row(uid, "eco", _score(rng, 4, 5) if high_eco else _score(rng, 1, 3), when, channel))
    picked = [v for v in OTHER_VALUES if rng.random() < 0.4] or [OTHER_VALUES[int(rng.integers(0, 4))]]
    if names_it:
        picked.insert(int(rng.integers(0, len(picked) + 1)), "sustainability")
    rows.append(_row(uid, "values", "|".join(picked), when, channel))
    if high_eco and names_it:
        truth.eco_minded.append(uid)
    return rows


def answer_rows(rng: np.random.Generator, catalog: Catalog) -> tuple[list[str], SurveyTruth]:
    """survey_answers.csv's rows and what they plant. Every respondent answers in one sitting 40-300 days
    before the data ends (before any as-of a refresh takes: the latest order); a quarter of them had
    answered the NPS question 20-200 days earlier too (a score the latest answer replaces)."""
    count = max(1, round(catalog.users * RESPONDENTS))
    truth = SurveyTruth()
    rows: list[str] = []
    for index in np.sort(rng.choice(catalog.users, count, replace=False)).tolist():
        rows += _respond(rng, catalog.user_id(index), truth)
    return rows, truth


def survey_folder(out_dir: Path) -> Path:
    folder = out_dir / FOLDER
    folder.mkdir(parents=True, exist_ok=True)
    return folder
