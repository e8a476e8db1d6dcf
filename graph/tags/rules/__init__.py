"""Rule kinds: each a parameter model, the one catalog statement it runs, and how a match is weighed.

One module per kind, named after it (churn_risk.py runs cypher/tags/rules/churn_risk.cypher); the shared
base is in base.py. A rule file (rules/tags.yaml, read by graph/tags/rule_file.py) picks a kind by name
from `KINDS` (an allow-list); its parameters only ever reach Cypher as query parameters. The statement
filters users; the kind turns each returned row into a weight in 0-1 (how strongly the rule holds) and
short evidence strings (which events or orders made it true).
"""

from personagraph.graph.tags.rules.base import (
    NO_EVENTS,
    NO_LIST_PRICES,
    NO_ORDERS,
    NO_SPEND,
    EvalContext,
    GraphInputs,
    InputName,
    Match,
    Prepared,
    RuleParams,
)
from personagraph.graph.tags.rules.brand_loyal import BrandLoyal
from personagraph.graph.tags.rules.category_lover import CategoryLover
from personagraph.graph.tags.rules.churn_risk import ChurnRisk
from personagraph.graph.tags.rules.high_value import HighValue
from personagraph.graph.tags.rules.influencer import Influencer
from personagraph.graph.tags.rules.new_customer import NewCustomer
from personagraph.graph.tags.rules.night_activity import NightActivity
from personagraph.graph.tags.rules.nps import Nps
from personagraph.graph.tags.rules.price_sensitive import PriceSensitive
from personagraph.graph.tags.rules.social_connector import SocialConnector
from personagraph.graph.tags.rules.survey_answer import SurveyAnswer

KINDS: dict[str, type[RuleParams]] = {
    "night_activity": NightActivity,
    "price_sensitive": PriceSensitive,
    "high_value": HighValue,
    "new_customer": NewCustomer,
    "churn_risk": ChurnRisk,
    "category_lover": CategoryLover,
    "brand_loyal": BrandLoyal,
    "social_connector": SocialConnector,
    "influencer": Influencer,
    "nps": Nps,
    "survey_answer": SurveyAnswer,
}

__all__ = [
    "KINDS",
    "NO_EVENTS",
    "NO_LIST_PRICES",
    "NO_ORDERS",
    "NO_SPEND",
    "BrandLoyal",
    "CategoryLover",
    "ChurnRisk",
    "EvalContext",
    "GraphInputs",
    "HighValue",
    "Influencer",
    "InputName",
    "Match",
    "NewCustomer",
    "NightActivity",
    "Nps",
    "Prepared",
    "PriceSensitive",
    "RuleParams",
    "SocialConnector",
    "SurveyAnswer",
]
