"""The Online Retail adapter: every source row accounted for, nothing the loader rejects fixed silently."""

from __future__ import annotations

import csv
import json
from pathlib import Path

import pytest
from pydantic import ValidationError

from personagraph.graph.entities import KINDS
from personagraph.graph.store import GraphStore
from personagraph.loaders.adapters.online_retail import (
    NON_PRODUCT_CODES,
    ConversionReport,
    convert_online_retail,
    customer_user_id,
    iso_utc,
    main,
)
from personagraph.loaders.pipeline import LoadOptions, load_dataset

DATASETS = Path(__file__).resolve().parents[2] / "shared" / "datasets"
REAL_FILE = DATASETS / "online-retail-2010-12" / "online-retail-2010-12.csv"

HEADER = "InvoiceNo,StockCode,Description,Quantity,InvoiceDate,UnitPrice,CustomerID,Country"
FIXTURE = f"""{HEADER}
536365,85123A,  WHITE HANGING  HEART T-LIGHT HOLDER ,6,2010-12-01 08:26:00,2.55,17850.0,United Kingdom
536366,85123a,WHITE HANGING HEART T-LIGHT HOLDER,2,2010-12-01 08:28:00,2.55,17850.0,United Kingdom
536366,85123a,WHITE HANGING HEART T-LIGHT HOLDER,2,2010-12-01 08:28:00,2.55,17850.0,United Kingdom
C536379,85123A,WHITE HANGING HEART T-LIGHT HOLDER,-1,2010-12-01 09:41:00,2.95,14527.0,United Kingdom
536370,POST,POSTAGE,3,2010-12-01 08:45:00,18.0,12583.0,France
536544,21777,RECIPE BOX WITH METAL HEART,1,2010-12-01 14:32:00,7.95,,United Kingdom
536589,21777,,-10,2010-12-01 16:50:00,0.0,,United Kingdom
562001,21777,RECIPE BOX WITH METAL HEART,2,2011-08-01 12:00:00,7.95,12583.0,Germany
562002,21777
"""


def read_rows(path: Path) -> list[dict[str, str]]:
    """Read an output file back as dicts, the way the loader sees it."""
    with path.open(newline="", encoding="utf-8") as handle:
        return list(csv.DictReader(handle))


def convert_text(tmp_path: Path, text: str) -> tuple[ConversionReport, Path]:
    """Convert an inline CSV, so each rule is checked on rows written by hand."""
    source = tmp_path / "source.csv"
    source.write_text(text, encoding="utf-8")
    out = tmp_path / "out"
    return convert_online_retail(source, out), out


def test_fixture_every_rule(tmp_path: Path) -> None:
    """Cancellation, postage and malformed rows are dropped; no customer and bad quantity pass through."""
    report, out = convert_text(tmp_path, FIXTURE)
    assert report.source_rows == 9
    assert report.dropped == {
        "malformed_row": 1,
        "cancellation": 1,
        "non_product_code": 1,
        "bad_customer_id": 0,
    }
    assert report.cancelled_invoices == 1
    assert report.written == {"channels.csv": 1, "users.csv": 3, "products.csv": 2, "orders.csv": 6}
    assert report.balanced
    assert report.flagged == {
        "no_customer": 2,
        "non_positive_quantity": 1,
        "zero_unit_price": 1,
        "duplicate_line": 1,
        "no_stock_code": 0,
        "unparsed_date": 0,
    }
    assert read_rows(out / "channels.csv") == [
        {
            "channel_id": "online-retail-uk",
            "name": "Online Retail (UK online gift retailer, UCI)",
            "kind": "online",
        }
    ]
    # Customers of dropped rows are real customers; the first country seen wins.
    assert read_rows(out / "users.csv") == [
        {"user_id": "c17850", "country": "United Kingdom"},
        {"user_id": "c14527", "country": "United Kingdom"},
        {"user_id": "c12583", "country": "France"},
    ]
    assert read_rows(out / "products.csv") == [
        {"sku": "85123A", "name": "WHITE HANGING HEART T-LIGHT HOLDER", "price": "2.55", "currency": "GBP"},
        {"sku": "21777", "name": "RECIPE BOX WITH METAL HEART", "price": "7.95", "currency": "GBP"},
    ]
    columns = "order_id,user_id,sku,ordered_at,quantity,unit_price,channel_id"
    assert (out / "orders.csv").read_text(encoding="utf-8").splitlines() == [
        columns,
        "536365,c17850,85123A,2010-12-01T08:26:00Z,6,2.55,online-retail-uk",
        "536366,c17850,85123A,2010-12-01T08:28:00Z,2,2.55,online-retail-uk",
        "536366,c17850,85123A,2010-12-01T08:28:00Z,2,2.55,online-retail-uk",
        "536544,,21777,2010-12-01T14:32:00Z,1,7.95,online-retail-uk",
        "536589,,21777,2010-12-01T16:50:00Z,-10,0.0,online-retail-uk",
        "562001,c12583,21777,2011-08-01T11:00:00Z,2,7.95,online-retail-uk",
    ]


def test_fixture_bad_id_dropped_and_bad_date_passed_through(tmp_path: Path) -> None:
    """An id that is not a whole number is not guessed at; an unreadable date reaches the loader as is."""
    text = f"{HEADER}\n536365,71053,LANTERN,6,2010-12-01 08:26:00,3.39,17850.5,United Kingdom\n"
    text += "536366,71053,LANTERN,6,yesterday,3.39,17850.0,United Kingdom\n"
    report, out = convert_text(tmp_path, text)
    assert report.dropped["bad_customer_id"] == 1
    assert report.flagged["unparsed_date"] == 1
    assert [r["ordered_at"] for r in read_rows(out / "orders.csv")] == ["yesterday"]
    assert [r["user_id"] for r in read_rows(out / "users.csv")] == ["c17850"]


@pytest.mark.parametrize(
    ("raw", "expected"),
    [("17850.0", "c17850"), ("17850", "c17850"), ("012346.00", "c12346"), ("", ""), ("17850.5", None)],
)
def test_customer_user_id(raw: str, expected: str | None) -> None:
    """The float-looking ids are whole numbers; anything else is refused, not rounded."""
    assert customer_user_id(raw) == expected


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("2010-12-01 08:26:00", "2010-12-01T08:26:00Z"),  # GMT: UK time is UTC
        ("2011-06-01 08:26:00", "2011-06-01T07:26:00Z"),  # BST: UK time is UTC+1
        ("12/1/2010 8:26", "2010-12-01T08:26:00Z"),  # the format of the UCI spreadsheet export
        ("not a date", None),
    ],
)
def test_iso_utc(raw: str, expected: str | None) -> None:
    """Source times are UK wall-clock times and are written as UTC."""
    assert iso_utc(raw) == expected


def test_cli(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """The module runs as a command, prints the report and says clearly when the input is unusable."""
    source = tmp_path / "source.csv"
    source.write_text(FIXTURE, encoding="utf-8")
    assert main([str(source), str(tmp_path / "out")]) == 0
    assert "balanced" in capsys.readouterr().out
    (tmp_path / "other.csv").write_text("a,b\n1,2\n", encoding="utf-8")
    assert main([str(tmp_path / "other.csv"), str(tmp_path / "out2")]) == 2
    assert "missing InvoiceNo" in capsys.readouterr().err
    assert main([str(tmp_path / "absent.csv"), str(tmp_path / "out3")]) == 2
    with pytest.raises(SystemExit) as exit_info:
        main(["--help"])
    assert exit_info.value.code == 0


@pytest.fixture(scope="module")
def real(tmp_path_factory: pytest.TempPathFactory) -> tuple[ConversionReport, Path]:
    """The real December 2010 file converted once for all the checks below."""
    if not REAL_FILE.exists():
        pytest.skip(f"real dataset not found at {REAL_FILE} (expected ../shared/datasets beside the repo)")
    out = tmp_path_factory.mktemp("online-retail")
    return convert_online_retail(REAL_FILE, out), out


def test_real_accounting(real: tuple[ConversionReport, Path]) -> None:
    """Every source row is either dropped under a reason or written as an order line; docs quote these."""
    report, out = real
    assert report.source_rows == 42_481
    assert sum(report.dropped.values()) + report.written["orders.csv"] == report.source_rows
    assert report.written["orders.csv"] == len(read_rows(out / "orders.csv")) == 41_590
    assert report.dropped == {
        "malformed_row": 0,
        "cancellation": 728,
        "non_product_code": 163,
        "bad_customer_id": 0,
    }
    assert report.cancelled_invoices == 326
    assert report.written["products.csv"] == 2_754
    assert report.flagged["no_customer"] == 15_531
    assert report.flagged["non_positive_quantity"] == 70
    assert report.flagged["duplicate_line"] == 491


def test_real_users(real: tuple[ConversionReport, Path]) -> None:
    """948 customers, as the dataset README says, with ids like c17850."""
    report, out = real
    users = read_rows(out / "users.csv")
    ids = [u["user_id"] for u in users]
    assert len(ids) == len(set(ids)) == report.written["users.csv"] == 948
    assert all(i.startswith("c") and i[1:].isdigit() for i in ids)
    assert all(u["country"] for u in users)
    order_users = {o["user_id"] for o in read_rows(out / "orders.csv")}
    assert not any(".0" in i for i in order_users)
    assert order_users - {""} <= set(ids)


def test_real_orders(real: tuple[ConversionReport, Path]) -> None:
    """No cancellation or non-product line is written; customer-less lines are, with an empty user_id."""
    _, out = real
    orders = read_rows(out / "orders.csv")
    assert not [o for o in orders if o["order_id"].upper().startswith("C")]
    assert not [o for o in orders if o["sku"] in NON_PRODUCT_CODES]
    with REAL_FILE.open(newline="", encoding="utf-8") as handle:
        expected = sum(
            1
            for r in csv.DictReader(handle)
            if not r["CustomerID"].strip()
            and not r["InvoiceNo"].startswith("C")
            and r["StockCode"].strip().upper() not in NON_PRODUCT_CODES
        )
    assert sum(1 for o in orders if o["user_id"] == "") == expected == 15_531
    assert {o["channel_id"] for o in orders} == {"online-retail-uk"}
    assert all(o["ordered_at"].endswith("Z") for o in orders)


def test_real_products(real: tuple[ConversionReport, Path]) -> None:
    """Products are real goods, upper-case SKUs, trimmed names, GBP, and cover every ordered SKU."""
    _, out = real
    products = read_rows(out / "products.csv")
    skus = [p["sku"] for p in products]
    assert len(skus) == len(set(skus))
    assert not set(skus) & NON_PRODUCT_CODES
    assert all(s == s.strip().upper() for s in skus)
    assert all(p["name"] == " ".join(p["name"].split()) for p in products)
    assert all(p["currency"] == "GBP" for p in products)
    assert all(p["price"] == "" or float(p["price"]) > 0 for p in products)
    assert {o["sku"] for o in read_rows(out / "orders.csv")} <= set(skus)


def test_real_orders_rejected_only_for_stated_reasons(real: tuple[ConversionReport, Path]) -> None:
    """The loader's own order model rejects exactly the passed-through lines: no customer or quantity <= 0."""
    _, out = real
    model = KINDS["orders"].model
    for row in read_rows(out / "orders.csv"):
        expected_reject = row["user_id"] == "" or int(row["quantity"]) <= 0
        try:
            model.model_validate(row)
        except ValidationError:
            assert expected_reject, row
        else:
            assert not expected_reject, row


def test_real_products_validate(real: tuple[ConversionReport, Path]) -> None:
    """Every product row passes the loader's product model; 21 have a blank price, meaning unknown."""
    _, out = real
    model = KINDS["products"].model
    products = read_rows(out / "products.csv")
    for row in products:
        model.model_validate(row)
    assert sum(1 for p in products if not p["price"]) == 21


def test_real_dataset_loads_into_neo4j_with_the_right_rejects(
    real: tuple[ConversionReport, Path], store: GraphStore, tmp_path: Path
) -> None:
    """The converted real data through the real loader: what is rejected is exactly what should be."""
    _, out_dir = real
    lines = read_rows(out_dir / "orders.csv")
    distinct = list({tuple(sorted(r.items())): r for r in lines}.values())
    bad = [r for r in distinct if not r["user_id"].strip() or int(r["quantity"]) <= 0]
    options = LoadOptions(batch_size=2000, rejects_dir=tmp_path / "rejects")
    reports = {r.kind: r for r in load_dataset(store, out_dir, options=options)}
    orders = reports["orders"]
    assert orders.duplicates == len(lines) - len(distinct)
    assert orders.rejected == len(bad)
    assert orders.loaded == len(distinct) - len(bad)
    assert reports["users"].rejected == 0 and reports["products"].rejected == 0
    reasons = {
        json.loads(x)["field"] for x in (tmp_path / "rejects" / "orders.jsonl").read_text().splitlines()
    }
    assert reasons <= {"user_id", "quantity"}
    records, _, _ = store.driver.execute_query(
        "MATCH (o:Order)-[l:CONTAINS]->() RETURN count(DISTINCT o) AS orders, count(l) AS lines"
    )
    assert records[0]["lines"] == orders.loaded
