"""Prediction benchmark: churn and spend models, held out on a later window, on generated data and on the
UCI Online Retail sample (December 2010), each in the same fresh local Neo4j, one run each.

For each dataset: load it, run ``graph.analytics.predictions.run_predictions`` once and report the
held-out metrics of ours (with graph features), ours without them, the RFM-only model and the churn_risk
rule tag (rules/tags.yaml, evaluated as of the same cutoff). The Online Retail sample spans 23 days, so
its horizon is 7 days (a 90-day one does not fit three windows); it has no social ties, so its graph
features are constant. Results: bench/results/predictions.json and bench/results/predictions.md.

    .venv/bin/python bench/predictions.py                 # 20k generated users + Online Retail
    .venv/bin/python bench/predictions.py --users 50000
"""

from __future__ import annotations

import argparse
import datetime as dt
import logging
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.common import machine, write_results  # noqa: E402 - after the path setup
from bench.graphs import SALT, dataset, fresh_neo4j  # noqa: E402 - after the path setup
from personagraph.cli.demo import churn_rule  # noqa: E402
from personagraph.graph.analytics.predictions import PredictionReport, run_predictions  # noqa: E402
from personagraph.graph.records import RowContext  # noqa: E402
from personagraph.graph.server.connection import open_driver  # noqa: E402
from personagraph.graph.store import GraphStore  # noqa: E402
from personagraph.loaders.adapters.online_retail import convert_online_retail  # noqa: E402
from personagraph.loaders.pipeline import LoadOptions, load_file  # noqa: E402

log = logging.getLogger("bench.predictions")
RETAIL = ROOT.parent / "shared" / "datasets" / "online-retail-2010-12" / "online-retail-2010-12.csv"
GENERATED_FILES = ("channels.csv", "products.csv", "users.csv", "orders.csv", "events.csv", "ties.csv")
RETAIL_FILES = ("channels.csv", "products.csv", "users.csv", "orders.csv")
ROWS = (  # (label, key in metrics["compared"])
    ("ours (RFM + history + behaviour + graph)", "ours"),
    ("ours without graph features", "noGraph"),
    ("RFM-only model", "rfmOnly"),
    ("churn_risk rule tag (weight as score)", "ruleTag"),
    ("last window's spend (naive spend)", "lastWindowSpend"),
)


def load(store: GraphStore, folder: Path, files: tuple[str, ...], rejects: Path) -> dict[str, int]:
    options = LoadOptions(batch_size=5000, rejects_dir=rejects, context=RowContext(identity_salt=SALT))
    loaded = {}
    for name in files:
        if (folder / name).exists():
            loaded[name] = load_file(store, folder / name, options=options).loaded
    return loaded


def predict(store: GraphStore, horizon: float) -> tuple[PredictionReport, float]:
    rule = churn_rule()
    started = time.perf_counter()
    report = run_predictions(
        store, horizon_days=horizon, rule_min_orders=rule.min_orders, rule_quiet_days=rule.quiet_days
    )
    return report, time.perf_counter() - started


def table(name: str, report: PredictionReport, seconds: float) -> str:
    m = report.metrics
    lines = [
        f"### {name}",
        "",
        f"{m['users']:,} users; horizon {m['horizonDays']:g} days; trained on features as of "
        f"{m['trainCutoff'][:10]} with labels up to {m['cutoff'][:10]} ({m['train']:,} users); held out: "
        f"features as of {m['cutoff'][:10]}, labels up to {m['scoredAsOf'][:10]}, judged on the "
        f"{m['evaluated']:,} customers then ({m['evaluatedChurned']:,} churned, {m['churnRate']:.1%}). "
        f"Run {report.run_id}, {seconds:.1f} s end to end.",
        "",
        "| scorer | AUC | Brier | calibration error | spend MAE |",
        "|---|---|---|---|---|",
    ]
    for label, key in ROWS:
        c = m["compared"][key]
        lines.append(
            f"| {label} | {_f(c['auc'])} | {_f(c['brier'])} | {_f(c['calibrationError'])} | {_f(c['mae'], 2)} |"
        )
    lines += [
        "",
        f"AUC ours - RFM-only: **{_s(m['aucGainOverRfm'])}**; ours - ours without graph features: "
        f"**{_s(m['aucGainOfGraph'])}**.",
        "",
    ]
    return "\n".join(lines)


def _f(value: float | None, digits: int = 4) -> str:
    return "-" if value is None else f"{value:.{digits}f}"


def _s(value: float | None) -> str:
    return "-" if value is None else f"{value:+.4f}"


def one_dataset(
    work: Path, name: str, folder: Path, files: tuple[str, ...], horizon: float
) -> tuple[PredictionReport, float]:
    """A fresh local Neo4j for one dataset (a wipe of 400k events is one transaction too many): load, predict."""
    with fresh_neo4j(work, f"neo4j-{name}") as (info, _):
        driver = open_driver(info, wait_s=60)
        try:
            store = GraphStore(driver, "neo4j")
            started = time.perf_counter()
            loaded = load(store, folder, files, work / f"rejects-{name}")
            log.info("%s loaded in %.1fs: %s", name, time.perf_counter() - started, loaded)
            return predict(store, horizon)
        finally:
            driver.close()


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--users", type=int, default=20_000)
    parser.add_argument("--seed", type=int, default=42)
    parser.add_argument("--horizon", type=float, default=90.0, help="days, generated data")
    parser.add_argument(
        "--retail-horizon", type=float, default=7.0, help="days, Online Retail (23 days of data)"
    )
    args = parser.parse_args()
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(message)s")
    results: dict[str, Any] = {"machine": machine(), "date": dt.date.today().isoformat()}
    sections = []
    with tempfile.TemporaryDirectory(prefix="bench-predictions-") as tmp:
        work = Path(tmp)
        generated = f"Generated shop ({args.users:,} users, seed {args.seed})"
        report, seconds = one_dataset(
            work, "generated", dataset(args.users, args.seed), GENERATED_FILES, args.horizon
        )
        sections.append(table(generated, report, seconds))
        results["generated"] = {"users": args.users, "seconds": seconds, "metrics": report.metrics}
        convert_online_retail(RETAIL, work / "retail-data")
        report, seconds = one_dataset(work, "retail", work / "retail-data", RETAIL_FILES, args.retail_horizon)
        sections.append(table("UCI Online Retail, December 2010 sample", report, seconds))
        results["online_retail"] = {"seconds": seconds, "metrics": report.metrics}
    markdown = "\n".join(
        [
            "# Predictions: churn and spend, held out on a later window",
            "",
            f"`bench/predictions.py`, {results['date']}, {machine()}. One run per dataset; see docs/predictions.md "
            "for the method. AUC and Brier are for churn (no order within the horizon), on the customers of the "
            "held-out window; the rule tag's Brier and calibration error take the tag as a 0/1 probability.",
            "",
            *sections,
        ]
    )
    write_results("predictions", results, markdown)
    print(markdown)


if __name__ == "__main__":
    main()
