"""Small survey datasets for the survey tests: users, two surveys, their answers (good and bad rows)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from personagraph.graph.store import GraphStore

# Lines (header = 1) are named in tests/test_surveys.py's reject checks.
SURVEY_FILES: dict[str, str] = {
    "channels.csv": "channel_id,name,kind\nweb,Web,online\napp,App,online\n",
    "users.csv": "user_id\nu_promoter\nu_detractor\nu_passive\nu_eco\nu_quiet\n",
    "surveys.csv": (
        "survey_id,title,question_id,question,scale,options,position\n"
        "pulse,Customer pulse,recommend,How likely are you to recommend us?,nps,,1\n"  # 2
        "pulse,Customer pulse,quality_over_price,I would rather pay more for better quality,likert5,,2\n"  # 3
        "pulse,Customer pulse,values,What matters to you?,multi,price|quality|sustainability|brand,3\n"  # 4
        "pulse,Customer pulse,eco,I choose eco-friendly products even when they cost more,likert5,,4\n"  # 5
        "habits,Habits,bag,Do you bring your own bag?,single,always|sometimes|never,1\n"  # 6
        "habits,Habits,broken,One option only,single,only,2\n"  # 7: a choice needs 2 options
        "habits,Habits,odd,Scale unknown,stars,,3\n"  # 8
        "bad/id,Bad,q,Slash in the survey id,nps,,1\n"  # 9
    ),
    "survey_answers.csv": (
        "user_id,survey_id,question_id,answer,answered_at,channel_id\n"
        "u_promoter,pulse,recommend,10,2025-05-01T10:00:00Z,web\n"  # 2
        "u_promoter,pulse,quality_over_price,5,2025-05-01T10:00:00Z,web\n"  # 3
        "u_promoter,pulse,values,quality| sustainability,2025-05-01T10:00:00Z,web\n"  # 4
        "u_detractor,pulse,recommend,9,2025-04-01T09:00:00Z,\n"  # 5: an earlier answer
        "u_detractor,pulse,recommend,03,2025-05-02,app\n"  # 6: the latest, written plainly as 3
        "u_detractor,pulse,quality_over_price,2,2025-05-02,app\n"  # 7
        "u_passive,pulse,recommend,7,2025-05-03,\n"  # 8
        "u_passive,pulse,eco,5,2025-05-03,\n"  # 9: eco, but names no sustainability
        "u_eco,pulse,values,sustainability,2025-05-03,\n"  # 10
        "u_eco,pulse,quality_over_price,4,2025-05-03,\n"  # 11
        "u_eco,pulse,eco,5,2025-05-03,\n"  # 12
        "u_quiet,pulse,recommend,11,2025-05-03,\n"  # 13: off the 0-10 scale
        "u_quiet,pulse,values,cheap,2025-05-03,\n"  # 14: not an option
        "u_nobody,pulse,recommend,8,2025-05-03,\n"  # 15: no such user
        "u_quiet,pulse,nope,3,2025-05-03,\n"  # 16: no such question
        "u_quiet,pulse,quality_over_price,0,2025-05-03,\n"  # 17: off the 1-5 scale
        "u_quiet,habits,bag,always|never,2025-05-03,\n"  # 18: two choices for one
        "u_quiet,pulse,values,price||brand,2025-05-03,\n"  # 19: an empty part
        "u_quiet,pulse,recommend,5,,\n"  # 20: no time
    ),
}

ANSWERS = """
MATCH (u:User)-[a:ANSWERED]->(q:Question)
RETURN u.userId AS user, q.questionKey AS question, a.at AS at, a.answer AS answer, a.score AS score,
       a.choices AS choices, a.channelId AS channel
"""


def write_files(folder: Path, files: dict[str, str]) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    for name, text in files.items():
        (folder / name).write_text(text, encoding="utf-8")
    return folder


def answers_of(
    store: GraphStore,
) -> dict[tuple[str, str, str], tuple[str, int | None, list[str], str | None]]:
    """Every stored answer, read independently of the code under test: (user, question, time) -> (answer,
    score, choices, channel)."""
    records, _, _ = store.driver.execute_query(ANSWERS, database_=store.database)
    return {
        (r["user"], r["question"], r["at"].to_native().strftime("%Y-%m-%dT%H:%M:%SZ")): (
            r["answer"],
            r["score"],
            list(r["choices"]),
            r["channel"],
        )
        for r in records
    }


TAGS = """
MATCH (u:User)-[h:HAS_TAG {source: 'rule'}]->(t:Tag)
RETURN u.userId AS user, t.tagId AS tag, t.tier AS tier, h.ruleId AS ruleId, h.weight AS weight,
       h.evidence AS evidence, h.expiresAt AS expiresAt
"""


def survey_tags(store: GraphStore) -> dict[tuple[str, str], dict[str, Any]]:
    """Every rule tag edge, read independently of the code under test: (user, tag) -> its properties."""
    records, _, _ = store.driver.execute_query(TAGS, database_=store.database)
    return {(r["user"], r["tag"]): dict(r) for r in records}
