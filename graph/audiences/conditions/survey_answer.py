"""``surveyAnswer``: the user's latest answer to one survey question meets a score range or names a
choice; a user who withdrew survey consent (``surveyOptOut``) never matches."""

from __future__ import annotations

from datetime import timedelta

from personagraph.graph.audiences.conditions.context import Context
from personagraph.graph.audiences.model import SurveyAnswerCondition
from personagraph.graph.records import question_key


def answered(c: SurveyAnswerCondition, var: str, ctx: Context) -> str:
    edge, last, choice = ctx.var("a"), ctx.var("last"), ctx.var("choice")
    window = ""
    if c.lastDays is not None:
        window = f" WHERE {edge}.at >= {ctx.param(ctx.now - timedelta(days=c.lastDays))}"
    latest = (
        f"COLLECT {{ MATCH ({var})-[{edge}:ANSWERED]->(:Question {{questionKey: "
        f"{ctx.param(question_key(c.surveyId, c.questionId))}}}){window} "
        f"RETURN {edge} ORDER BY {edge}.at DESC LIMIT 1 }}"
    )
    tests = []
    if c.min is not None:
        tests.append(f"{last}.score >= {ctx.param(c.min)}")
    if c.max is not None:
        tests.append(f"{last}.score <= {ctx.param(c.max)}")
    if c.anyOf is not None:
        tests.append(f"any({choice} IN {last}.choices WHERE {choice} IN {ctx.param(c.anyOf)})")
    consented = f"coalesce({var}.surveyOptOut, false) = false"
    return f"({consented} AND any({last} IN {latest} WHERE {' AND '.join(tests)}))"
