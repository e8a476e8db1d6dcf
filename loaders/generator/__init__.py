"""Synthetic, seeded customer datasets with planted structure, for loading and analytics at scale.

`generate(out_dir, users=..., seed=...)` writes the nine loader CSV files and, under `truth/`:

- `communities.json`: {"c000001": [user ids], ...}; every user is in exactly one community and
  ~90% of ties stay inside one.
- `influencers.json`: [user ids] with many incoming `follows` and outgoing `referred` ties.
- `bundles.json`: [{"skus": [a, b], "lift_min": float, "lift": float, "orders_with_both": int}];
  lift is over orders (baskets) as written; `lift_min` is 80% of it.
- `night_browsers.json`: [user ids] whose events are mostly at 22:00-04:00 UTC.
- `price_sensitive.json`: [user ids] who mostly buy the cheapest products of a category, below list price.
- `category_lovers.json`: {user id: top-level category name, e.g. "Home"}: every user's preferred
  category, named as the first part of a category path (the key of the `loves-{category}` rule
  tag); about two thirds of their order lines and three quarters of their events are in it.
- `duplicates.json`: [[user id, user id], ...]: one person, two accounts from different channels,
  sharing an email or phone that differs only in case / surrounding spaces.
- `bad_rows.json`: {file name: [line numbers]}, 1-based, the header being line 1.
- `consent.json`: how many users have marketing_consent=false / personalization_opt_out=true.
- `surveys.json`: the planted answers of `surveys/surveys.csv` and `surveys/survey_answers.csv` (the
  starter survey `pulse`, a folder of its own: load it after the rest, docs/surveys.md): {"promoters",
  "passives", "detractors" (by the latest NPS answer), "quality_over_price" (4-5 of 5), "eco_minded" (eco
  4-5 and sustainability among their values): [user ids], "bad_rows": {"survey_answers.csv": [lines]}}.
"""

from personagraph.loaders.generator.run import GeneratorReport, generate

__all__ = ["GeneratorReport", "generate"]
