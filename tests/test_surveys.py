"""Surveys and their answers on a real Neo4j: the two file kinds (validated like every kind, answers checked
against their question's scale, idempotent), both load paths agreeing, forget-me and the initial load."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from neo4j import Driver
from rich.console import Console

from personagraph.cli.bulk import LoadPath, importer_applies
from personagraph.graph.audiences.model import AudienceDefinitionError
from personagraph.graph.audiences.parse import parse_definition
from personagraph.graph.audiences.service import audience_members
from personagraph.graph.kinds import Purpose
from personagraph.graph.privacy.consent import set_consent
from personagraph.graph.privacy.forget import forget_user
from personagraph.graph.server.connection import ConnectionInfo
from personagraph.graph.settings import Settings
from personagraph.graph.store import GraphStore
from personagraph.graph.tags import (
    DEFAULT_RULES,
    RuleFileError,
    RuleSet,
    load_rules,
    parse_rules,
    refresh_tags,
)
from personagraph.loaders import pipeline
from personagraph.loaders.bulk.initial import prepare
from personagraph.loaders.pipeline import FileReport, LoadOptions, load_dataset, load_file
from personagraph.loaders.readers import UnusableInputError
from tests.api_support import Secured, as_role, secured
from tests.survey_support import SURVEY_FILES, answers_of, survey_tags, write_files

AS_OF = datetime(2025, 6, 30, tzinfo=UTC)
SURVEY_RULES = ("nps", "quality-over-price", "eco-minded")


def starter_survey_rules() -> RuleSet:
    """The starter file's survey rules (the others would be skipped on this graph anyway)."""
    starter = load_rules(DEFAULT_RULES)
    return starter.model_copy(update={"rules": tuple(r for r in starter.rules if r.id in SURVEY_RULES)})


@pytest.fixture(scope="module")
def module_store(driver: Driver, neo4j_connection: Any) -> GraphStore:
    graph = GraphStore(driver, neo4j_connection.database)
    graph.run_autocommit("server/write/wipe_data")
    return graph


@pytest.fixture(scope="module", params=["whole", "streamed"])
def loaded(
    request: pytest.FixtureRequest,
    module_store: GraphStore,
    tmp_path_factory: pytest.TempPathFactory,
) -> Iterator[tuple[GraphStore, dict[str, FileReport], Path]]:
    """The survey files loaded twice, read whole (as columns) or streamed row by row."""
    if request.param == "streamed":
        patch = pytest.MonkeyPatch()
        patch.setattr(pipeline, "WHOLE_FILE_BYTES", -1)
    module_store.run_autocommit("server/write/wipe_data")
    folder = write_files(tmp_path_factory.mktemp("surveys"), SURVEY_FILES)
    rejects = tmp_path_factory.mktemp("rejects")
    options = LoadOptions(rejects_dir=rejects)
    load_dataset(module_store, folder, options=options)
    again = {r.kind: r for r in load_dataset(module_store, folder, options=options)}
    yield module_store, again, rejects
    if request.param == "streamed":
        patch.undo()


def rejects_of(folder: Path, name: str) -> dict[int, dict[str, Any]]:
    path = folder / f"{name}.jsonl"
    if not path.exists():
        return {}
    return {r["line"]: r for r in map(json.loads, path.read_text().splitlines())}


def test_answers_are_stored_once_per_user_question_and_time(loaded: Any) -> None:
    store, _, _ = loaded
    got = answers_of(store)
    assert got == {
        ("u_promoter", "pulse/recommend", "2025-05-01T10:00:00Z"): ("10", 10, ["10"], "web"),
        ("u_promoter", "pulse/quality_over_price", "2025-05-01T10:00:00Z"): ("5", 5, ["5"], "web"),
        ("u_promoter", "pulse/values", "2025-05-01T10:00:00Z"): (
            "quality|sustainability",
            None,
            ["quality", "sustainability"],
            "web",
        ),
        ("u_detractor", "pulse/recommend", "2025-04-01T09:00:00Z"): ("9", 9, ["9"], None),
        ("u_detractor", "pulse/recommend", "2025-05-02T00:00:00Z"): ("3", 3, ["3"], "app"),
        ("u_detractor", "pulse/quality_over_price", "2025-05-02T00:00:00Z"): ("2", 2, ["2"], "app"),
        ("u_passive", "pulse/recommend", "2025-05-03T00:00:00Z"): ("7", 7, ["7"], None),
        ("u_passive", "pulse/eco", "2025-05-03T00:00:00Z"): ("5", 5, ["5"], None),
        ("u_eco", "pulse/values", "2025-05-03T00:00:00Z"): ("sustainability", None, ["sustainability"], None),
        ("u_eco", "pulse/quality_over_price", "2025-05-03T00:00:00Z"): ("4", 4, ["4"], None),
        ("u_eco", "pulse/eco", "2025-05-03T00:00:00Z"): ("5", 5, ["5"], None),
    }


def test_loading_twice_changes_nothing(loaded: Any) -> None:
    _, again, _ = loaded
    for kind in ("surveys", "survey_answers"):
        counts = again[kind].counts
        assert (counts.nodes_created, counts.relationships_created) == (0, 0), kind


def test_questions_hold_their_scale_and_options(loaded: Any) -> None:
    store, _, _ = loaded
    rows = store.read("surveys/read/survey_questions", surveyIds=["pulse", "habits"])
    by_key = {q["questionKey"]: q for s in rows for q in s["questions"]}
    assert by_key["pulse/values"]["options"] == ["price", "quality", "sustainability", "brand"]
    assert (by_key["pulse/recommend"]["scale"], by_key["pulse/recommend"]["options"]) == ("nps", None)
    assert {s["surveyId"]: s["title"] for s in rows} == {"pulse": "Customer pulse", "habits": "Habits"}


def test_bad_rows_are_rejected_with_line_and_reason(loaded: Any) -> None:
    _, again, rejects = loaded
    questions = rejects_of(rejects, "surveys")
    assert {line: r["field"] for line, r in questions.items()} == {7: "options", 8: "scale", 9: "survey_id"}
    answers = rejects_of(rejects, "survey_answers")
    assert {line: r["field"] for line, r in answers.items()} == {
        13: "answer",  # 11 on a 0-10 scale
        14: "answer",  # an option the question lacks
        15: "user_id",  # no such user
        16: "question_id",  # no such question
        17: "answer",  # 0 on a 1-5 scale
        18: "answer",  # two choices on a single-choice question
        19: "answer",  # empty part
        20: "answered_at",  # no time
    }
    assert "not on question 'pulse/recommend'" in answers[13]["reason"]
    assert answers[13]["value"] == "11"
    assert answers[16]["reason"] == "unknown question_id 'pulse/nope': no such question"
    assert again["survey_answers"].rejected == 8


def test_create_missing_never_makes_a_question(module_store: GraphStore, tmp_path: Path) -> None:
    folder = write_files(tmp_path / "in", SURVEY_FILES)
    answers = folder / "survey_answers.csv"
    options = LoadOptions(rejects_dir=tmp_path / "rejects", create_missing=True)
    report = load_file(module_store, answers, options=options)
    lines = rejects_of(tmp_path / "rejects", "survey_answers")
    assert 15 not in lines  # the unknown user became a placeholder
    assert lines[16]["field"] == "question_id" and lines[13]["field"] == "answer"
    assert report.rejected == 7


def test_the_initial_load_refuses_survey_files(tmp_path: Path) -> None:
    folder = write_files(tmp_path / "in", SURVEY_FILES)
    with pytest.raises(UnusableInputError, match="does not take survey files"):
        prepare(folder, LoadOptions(rejects_dir=tmp_path / "rejects"))


def test_forget_removes_the_answers(module_store: GraphStore, tmp_path: Path) -> None:
    module_store.run_autocommit("server/write/wipe_data")
    folder = write_files(tmp_path / "in", SURVEY_FILES)
    load_dataset(module_store, folder, options=LoadOptions(rejects_dir=tmp_path / "rejects"))
    assert any(user == "u_eco" for user, _, _ in answers_of(module_store))
    forget_user(module_store, user_id="u_eco", key=b"survey-test-suppression-key-0123", actor="test")
    assert not any(user == "u_eco" for user, _, _ in answers_of(module_store))
    assert any(user == "u_promoter" for user, _, _ in answers_of(module_store))


EXPECTED_TAGS = {
    ("u_promoter", "nps-promoter"),
    ("u_detractor", "nps-detractor"),  # the latest answer (3), not the earlier 9
    ("u_passive", "nps-passive"),
    ("u_promoter", "quality-over-price"),  # 5 of 5
    ("u_eco", "quality-over-price"),  # 4 of 5
    ("u_eco", "eco-minded"),  # eco 5 and names sustainability; u_passive and u_promoter only one of both
}


@pytest.fixture
def answered(store: GraphStore, tmp_path: Path) -> GraphStore:
    load_dataset(store, write_files(tmp_path / "in", SURVEY_FILES), options=LoadOptions(rejects_dir=tmp_path))
    return store


def test_the_starter_survey_rules_tag_exactly_the_users_they_should(answered: GraphStore) -> None:
    report = refresh_tags(answered, rules=starter_survey_rules(), as_of=AS_OF)
    assert not any(r.skipped for r in report.rules)
    tags = survey_tags(answered)
    assert set(tags) == EXPECTED_TAGS
    promoter = tags[("u_promoter", "nps-promoter")]
    assert promoter["evidence"] == ["answer:pulse/recommend=10 on 2025-05-01 (nps)"]
    assert promoter["tier"] == "preference" and promoter["ruleId"] == "nps"
    assert promoter["expiresAt"] is not None
    eco = tags[("u_eco", "eco-minded")]
    assert eco["evidence"] == [
        "answer:pulse/eco=5 on 2025-05-03",
        "answer:pulse/values=sustainability on 2025-05-03",
    ]
    assert eco["weight"] == 1.0


def test_survey_rules_are_skipped_without_answers(store: GraphStore) -> None:
    report = refresh_tags(store, rules=starter_survey_rules(), as_of=AS_OF)
    assert all(r.skipped and "no survey answers" in (r.reason or "") for r in report.rules)


def test_a_rule_takes_min_matched_and_answers_before_as_of_only(answered: GraphStore) -> None:
    tests = [{"question": "pulse/eco", "min": 4}, {"question": "pulse/values", "any_of": ["sustainability"]}]
    rule = {
        "id": "some-green",
        "kind": "survey_answer",
        "tag": {"id": "some-green", "name": "Some green", "tier": "preference"},
        "params": {"min_matched": 1, "tests": tests},
    }
    rules = parse_rules({"version": 1, "rules": [rule]}, source="test")
    refresh_tags(answered, rules=rules, as_of=AS_OF)
    tags = survey_tags(answered)
    assert {u for u, t in tags if t == "some-green"} == {"u_promoter", "u_passive", "u_eco"}
    assert tags[("u_passive", "some-green")]["weight"] == 0.5
    # judged as of a time before the latest answers: u_detractor's 9 of April makes them a promoter
    refresh_tags(answered, rules=starter_survey_rules(), as_of=datetime(2025, 4, 15, tzinfo=UTC))
    assert {(u, t) for u, t in survey_tags(answered) if t.startswith("nps-")} == {
        ("u_detractor", "nps-promoter")
    }


def test_withdrawing_survey_consent_takes_the_survey_tags_away(answered: GraphStore) -> None:
    refresh_tags(answered, rules=starter_survey_rules(), as_of=AS_OF)
    set_consent(answered, user_id="u_eco", purpose="surveys", granted=False, source="preference centre")
    refresh_tags(answered, rules=starter_survey_rules(), as_of=AS_OF)
    assert set(survey_tags(answered)) == {t for t in EXPECTED_TAGS if t[0] != "u_eco"}
    set_consent(answered, user_id="u_eco", purpose="surveys", granted=True, source="preference centre")
    refresh_tags(answered, rules=starter_survey_rules(), as_of=AS_OF)
    assert set(survey_tags(answered)) == EXPECTED_TAGS


def members(store: GraphStore, definition: dict[str, Any]) -> set[str]:
    page = audience_members(store, definition, first=100, purpose=Purpose.ANALYSIS)
    return set(page.users)


def test_survey_answer_conditions_select_by_the_latest_answer(answered: GraphStore) -> None:
    nps = {"surveyId": "pulse", "questionId": "recommend"}
    assert members(answered, {"surveyAnswer": {**nps, "min": 9}}) == {"u_promoter"}
    # u_detractor's latest answer (3) counts, not the earlier 9
    assert members(answered, {"surveyAnswer": {**nps, "max": 6}}) == {"u_detractor"}
    assert members(answered, {"surveyAnswer": {**nps, "min": 7, "max": 8}}) == {"u_passive"}
    values = {"surveyId": "pulse", "questionId": "values"}
    assert members(answered, {"surveyAnswer": {**values, "anyOf": ["sustainability", "brand"]}}) == {
        "u_promoter",
        "u_eco",
    }
    eco = {
        "and": [
            {"surveyAnswer": {**values, "anyOf": ["sustainability"]}},
            {"surveyAnswer": {"surveyId": "pulse", "questionId": "eco", "min": 4}},
        ]
    }
    assert members(answered, eco) == {"u_eco"}
    assert members(answered, {"not": {"surveyAnswer": {**nps, "min": 0}}}) == {"u_eco", "u_quiet"}
    # answers are from May 2025: a window of the last 30 days (from today) holds none of them
    assert members(answered, {"surveyAnswer": {**nps, "min": 0, "lastDays": 30}}) == set()


def test_survey_answer_conditions_skip_users_who_withdrew_survey_consent(answered: GraphStore) -> None:
    values = {"surveyAnswer": {"surveyId": "pulse", "questionId": "values", "anyOf": ["sustainability"]}}
    set_consent(answered, user_id="u_eco", purpose="surveys", granted=False, source="preference centre")
    assert members(answered, values) == {"u_promoter"}
    assert "u_eco" in members(answered, {"not": values})


@pytest.mark.parametrize(
    ("condition", "problem"),
    [
        ({"surveyId": "pulse", "questionId": "q"}, "give either a score range"),
        ({"surveyId": "pulse", "questionId": "q", "min": 3, "anyOf": ["a"]}, "give either a score range"),
        ({"surveyId": "pulse", "questionId": "q", "min": 8, "max": 3}, "min 8 is above max 3"),
        ({"surveyId": "pulse", "questionId": "q", "min": 11}, "less than or equal to 10"),
        ({"surveyId": "a/b", "questionId": "q", "min": 1}, "holds no '/'"),
        ({"surveyId": "pulse", "questionId": "q", "anyOf": []}, "at least 1 item"),
    ],
)
def test_bad_survey_answer_conditions_are_refused(condition: dict[str, Any], problem: str) -> None:
    with pytest.raises(AudienceDefinitionError, match=problem):
        parse_definition({"surveyAnswer": condition})


SURVEYS_QUERY = """
query Answers($id: ID!) { user(id: $id) { id surveys { surveyId title answers {
  questionId question scale options answer choices score answeredAt channelId } } } }
"""


@pytest.fixture
def api(
    answered: GraphStore, neo4j_connection: ConnectionInfo, tmp_path: Path
) -> Iterator[tuple[Secured, Any]]:
    keys = secured(tmp_path / "keys")
    with keys.client(neo4j_connection, role=None) as client:
        yield keys, client


def test_user_surveys_shows_the_answers_latest_first(api: tuple[Secured, Any]) -> None:
    keys, client = api
    user = as_role(client, keys, "analyst").data(SURVEYS_QUERY, {"id": "u_detractor"})["user"]
    assert [s["surveyId"] for s in user["surveys"]] == ["pulse"]
    pulse = user["surveys"][0]
    assert pulse["title"] == "Customer pulse"
    assert [(a["questionId"], a["answer"], a["score"], a["answeredAt"]) for a in pulse["answers"]] == [
        ("recommend", "3", 3, "2025-05-02T00:00:00+00:00"),
        ("quality_over_price", "2", 2, "2025-05-02T00:00:00+00:00"),
        ("recommend", "9", 9, "2025-04-01T09:00:00+00:00"),
    ]
    assert pulse["answers"][0]["scale"] == "NPS" and pulse["answers"][0]["channelId"] == "app"
    promoter = as_role(client, keys, "service").data(SURVEYS_QUERY, {"id": "u_promoter"})["user"]
    values = next(a for a in promoter["surveys"][0]["answers"] if a["questionId"] == "values")
    assert (values["scale"], values["choices"], values["score"]) == (
        "MULTI",
        ["quality", "sustainability"],
        None,
    )
    assert values["options"] == ["price", "quality", "sustainability", "brand"]
    assert values["question"] == "What matters to you?"
    limited = as_role(client, keys, "admin").data('{ user(id: "u_eco") { surveys(first: 1) { surveyId } } }')[
        "user"
    ]
    assert limited["surveys"] == [{"surveyId": "pulse"}]


def test_reading_survey_answers_is_audited(api: tuple[Secured, Any]) -> None:
    keys, client = api
    before = len(keys.audit_entries())
    as_role(client, keys, "analyst").data(SURVEYS_QUERY, {"id": "u_eco"})
    as_role(client, keys, "analyst").data('{ user(id: "u_eco") { id city } }')  # no PII: no entry
    new = [(e["action"], e["what"], e["role"]) for e in keys.audit_entries()[before:]]
    assert new == [("read", "user", "analyst")]


def test_a_marketer_cannot_read_survey_answers_through_an_audience(api: tuple[Secured, Any]) -> None:
    keys, client = api
    marketer = as_role(client, keys, "marketer")
    query = (
        '{ audience(definition: {surveyAnswer: {surveyId: "pulse", questionId: "recommend", min: 0}}) '
        "{ members { edges { node { id surveys { answers { answer } } } } } } }"
    )
    refused = marketer.error(query)
    assert refused["extensions"]["code"] == "FORBIDDEN" and "User.surveys" in refused["message"]
    # the same query without the answers is refused for another reason only (the k-anonymity floor)
    other = marketer.error(query.replace("surveys { answers { answer } }", ""))
    assert "User.surveys" not in other["message"]
    assert marketer.code(SURVEYS_QUERY, {"id": "u_eco"}) == "FORBIDDEN"


def test_withdrawn_survey_consent_hides_the_answers(api: tuple[Secured, Any], answered: GraphStore) -> None:
    keys, client = api
    refresh_tags(answered, rules=starter_survey_rules(), as_of=AS_OF)
    assert {t for u, t in survey_tags(answered) if u == "u_eco"} == {"quality-over-price", "eco-minded"}
    service = as_role(client, keys, "service")
    withdraw = (
        'mutation { setConsent(userId: "u_eco", purpose: SURVEYS, granted: false, source: "app") '
        "{ purpose granted applied } }"
    )
    assert service.data(withdraw)["setConsent"] == {"purpose": "SURVEYS", "granted": False, "applied": True}
    assert service.data(SURVEYS_QUERY, {"id": "u_eco"})["user"]["surveys"] == []
    # the survey rules judged the user again at once: their survey tags are gone, the others' stay
    assert {u for u, _ in survey_tags(answered)} == {"u_promoter", "u_detractor", "u_passive"}
    assert service.data(SURVEYS_QUERY, {"id": "u_promoter"})["user"]["surveys"] != []
    history = service.data('{ user(id: "u_eco") { consentHistory { purpose granted } } }')["user"]
    assert history["consentHistory"] == [{"purpose": "SURVEYS", "granted": False}]


@pytest.mark.parametrize(
    ("params", "problem"),
    [
        ({"tests": []}, "at least 1 item"),
        ({"tests": [{"question": "pulse/eco"}]}, "give min, max or any_of"),
        ({"tests": [{"question": "pulse/eco", "min": 4, "any_of": ["a"]}]}, "not both"),
        ({"tests": [{"question": "pulse/eco", "min": 5, "max": 2}]}, "min 5 is above max 2"),
        ({"tests": [{"question": "eco", "min": 4}]}, "should match pattern"),
        ({"tests": [{"question": "pulse/eco", "min": 4}], "min_matched": 2}, "above the 1 tests"),
        ({"tests": [{"question": "pulse/eco", "min": 4}], "threshold": 2}, "threshold"),
    ],
)
def test_bad_survey_answer_rule_parameters_are_refused(params: dict[str, Any], problem: str) -> None:
    rule = {"id": "r", "kind": "survey_answer", "tag": {"id": "r", "name": "R", "tier": "preference"}}
    with pytest.raises(RuleFileError, match=problem):
        parse_rules({"version": 1, "rules": [{**rule, "params": params}]}, source="test")


def test_the_nps_rule_needs_a_templated_tag() -> None:
    rule = {"id": "n", "kind": "nps", "tag": {"id": "nps", "name": "NPS", "tier": "preference"}}
    with pytest.raises(RuleFileError, match="category"):
        parse_rules({"version": 1, "rules": [rule]}, source="test")


def test_persona_load_takes_a_folder_with_survey_files_through_transactions(tmp_path: Path) -> None:
    folder = write_files(tmp_path / "in", SURVEY_FILES)
    console = Console(record=True, width=200)
    # decided before any Neo4j is asked whether it is empty: survey files never go to the offline importer
    assert not importer_applies(Settings(neo4j_uri=None), folder, LoadPath.IMPORT, console)
    assert "does not take survey files (surveys.csv, survey_answers.csv)" in console.export_text()
