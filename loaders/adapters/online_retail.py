"""Convert the UCI Online Retail CSV (Chen, Sain & Guo 2012) into a personagraph dataset folder.

The conversion only reshapes: rows the loader should reject (no customer, non-positive quantity,
exact duplicates) are written through unchanged so the loader rejects or drops them with its own reason.
It drops only what is not an order line of a product (cancellations, postage, fees, discounts,
malformed CSV records), each under a named reason, so that
``sum(report.dropped.values()) + report.written["orders.csv"] == report.source_rows``.
"""

from __future__ import annotations

import argparse
import csv
import hashlib
import re
import sys
from collections import Counter
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from decimal import Decimal, InvalidOperation
from pathlib import Path
from zoneinfo import ZoneInfo

from personagraph.loaders.readers import UnusableInputError

CHANNEL = ("online-retail-uk", "Online Retail (UK online gift retailer, UCI)", "online")
CURRENCY = "GBP"
# InvoiceDate is UK wall-clock time; Europe/London gives GMT in winter and BST (UTC+1) in summer.
SOURCE_TZ = ZoneInfo("Europe/London")
DATE_FORMATS = ("%Y-%m-%d %H:%M:%S", "%Y-%m-%d %H:%M", "%m/%d/%Y %H:%M", "%m/%d/%Y %H:%M:%S")
SOURCE_COLUMNS = (
    "InvoiceNo",
    "StockCode",
    "Description",
    "Quantity",
    "InvoiceDate",
    "UnitPrice",
    "CustomerID",
    "Country",
)
# Stock codes that are not goods: postage, carriage, manual entries, discounts, bank and marketplace fees,
# charity donations, samples, bad-debt adjustments and the "pads" filler priced at 0.001.
NON_PRODUCT_CODES = frozenset(
    {"POST", "DOT", "C2", "M", "D", "S", "B", "BANK CHARGES", "AMAZONFEE", "CRUK", "PADS"}
)
DROP_REASONS = ("malformed_row", "cancellation", "non_product_code", "bad_customer_id")
FLAGS = (
    "no_customer",
    "non_positive_quantity",
    "zero_unit_price",
    "duplicate_line",
    "no_stock_code",
    "unparsed_date",
)
COLUMNS = {
    "channels.csv": ("channel_id", "name", "kind"),
    "users.csv": ("user_id", "country"),
    "products.csv": ("sku", "name", "price", "currency"),
    "orders.csv": ("order_id", "user_id", "sku", "ordered_at", "quantity", "unit_price", "channel_id"),
}
_CUSTOMER_ID = re.compile(r"(\d+)(?:\.0+)?")


@dataclass(frozen=True)
class ConversionReport:
    """What one conversion read, wrote and dropped, so every source row is accounted for."""

    source_rows: int
    written: dict[str, int]
    dropped: dict[str, int]
    flagged: dict[str, int] = field(default_factory=dict)
    cancelled_invoices: int = 0

    @property
    def balanced(self) -> bool:
        """Whether dropped rows plus written order lines add up to the source rows."""
        return sum(self.dropped.values()) + self.written.get("orders.csv", 0) == self.source_rows

    def render(self) -> str:
        """A plain-text table, so the CLI and the docs show the same numbers."""
        lines = [f"source rows                  {self.source_rows:>8}"]
        lines += [f"written  {name:<20}{count:>8}" for name, count in self.written.items()]
        lines += [f"dropped  {reason:<20}{count:>8}" for reason, count in self.dropped.items()]
        lines.append(f"         (cancelled invoices {self.cancelled_invoices})")
        lines += [f"flagged  {flag:<20}{count:>8}  (written as-is)" for flag, count in self.flagged.items()]
        total = sum(self.dropped.values()) + self.written.get("orders.csv", 0)
        lines.append(f"dropped + order lines = {total} ({'balanced' if self.balanced else 'UNBALANCED'})")
        return "\n".join(lines)


@dataclass(frozen=True, slots=True)
class _Line:
    """One well-formed source record with its fields trimmed."""

    invoice: str
    sku: str
    description: str
    quantity: str
    invoice_date: str
    unit_price: str
    customer: str
    country: str


@dataclass
class _Tally:
    """Everything kept while streaming: per-SKU and per-customer summaries, never the rows themselves."""

    source_rows: int = 0
    dropped: Counter[str] = field(default_factory=Counter)
    flagged: Counter[str] = field(default_factory=Counter)
    cancelled: set[str] = field(default_factory=set)
    users: dict[str, str] = field(default_factory=dict)
    names: dict[str, Counter[str]] = field(default_factory=dict)
    prices: dict[str, Counter[Decimal]] = field(default_factory=dict)
    seen: set[bytes] = field(default_factory=set)

    def observe(self, line: _Line | None) -> str | None:
        """Record the customer and product a line shows, and return why it is dropped (None: keep it)."""
        if line is None:
            return "malformed_row"
        user = customer_user_id(line.customer)
        if user:
            self.users.setdefault(user, line.country)
        product = line.sku not in NON_PRODUCT_CODES
        if product and line.sku:
            self._observe_product(line)
        if line.invoice.upper().startswith("C"):
            self.cancelled.add(line.invoice)
            return "cancellation"
        if not product:
            return "non_product_code"
        if user is None:
            return "bad_customer_id"
        return None

    def _observe_product(self, line: _Line) -> None:
        """Count the descriptions and positive prices seen for a SKU, to pick the most frequent later."""
        names = self.names.setdefault(line.sku, Counter())
        prices = self.prices.setdefault(line.sku, Counter())
        if line.description:
            names[line.description] += 1
        price = _decimal(line.unit_price)
        if price is not None and price > 0:
            prices[price] += 1

    def order_row(self, line: _Line) -> list[str]:
        """The orders.csv row for a kept line, flagging (not fixing) what the loader will reject."""
        user = customer_user_id(line.customer) or ""
        ordered_at = iso_utc(line.invoice_date)
        quantity, price = _decimal(line.quantity), _decimal(line.unit_price)
        row = [line.invoice, user, line.sku, ordered_at or line.invoice_date, line.quantity, line.unit_price]
        row.append(CHANNEL[0])
        # A fingerprint, not the row: exact duplicates are counted without keeping the file in memory.
        digest = hashlib.blake2b("\x1f".join(row).encode(), digest_size=12).digest()
        flags = {
            "no_customer": not user,
            "non_positive_quantity": quantity is not None and quantity <= 0,
            "zero_unit_price": price is not None and price == 0,
            "no_stock_code": not line.sku,
            "unparsed_date": ordered_at is None,
            "duplicate_line": digest in self.seen,
        }
        self.flagged.update(name for name, hit in flags.items() if hit)
        self.seen.add(digest)
        return row


def customer_user_id(raw: str) -> str | None:
    """Map ``17850.0`` to ``c17850``; '' when there is no customer, None when the id is not a whole number."""
    if not raw:
        return ""
    match = _CUSTOMER_ID.fullmatch(raw)
    return f"c{int(match.group(1))}" if match else None


def iso_utc(raw: str) -> str | None:
    """Read a UK wall-clock InvoiceDate and write it as UTC ISO-8601; None when no known format fits."""
    for fmt in DATE_FORMATS:
        try:
            local = datetime.strptime(raw, fmt).replace(tzinfo=SOURCE_TZ)
        except ValueError:
            continue
        return local.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
    return None


def _decimal(raw: str) -> Decimal | None:
    """Parse a number without raising, so bad values are passed through for the loader to reject."""
    try:
        value = Decimal(raw)
    except InvalidOperation:
        return None
    return value if value.is_finite() else None


def _read_source(source: Path) -> Iterator[_Line | None]:
    """Stream source records as trimmed lines; None for a record whose field count is wrong."""
    with source.open(newline="", encoding="utf-8-sig") as handle:
        reader = csv.reader(handle)
        header = [name.strip() for name in next(reader, [])]
        missing = [name for name in SOURCE_COLUMNS if name not in header]
        if missing:
            raise UnusableInputError(f"{source}: not an Online Retail CSV; missing {', '.join(missing)}")
        index = [header.index(name) for name in SOURCE_COLUMNS]
        for record in reader:
            if not record:
                continue
            if len(record) != len(header):
                yield None
                continue
            inv, sku, desc, qty, when, price, cust, country = (record[i].strip() for i in index)
            yield _Line(inv, sku.upper(), " ".join(desc.split()), qty, when, price, cust, country)


def _write_csv(out_dir: Path, name: str, rows: Iterator[Sequence[str]]) -> int:
    """Write one output file with its header and return the number of data rows."""
    count = 0
    with (out_dir / name).open("w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle, lineterminator="\n")
        writer.writerow(COLUMNS[name])
        for row in rows:
            writer.writerow(row)
            count += 1
    return count


def _product_rows(tally: _Tally) -> Iterator[list[str]]:
    """One row per SKU: its most frequent description and positive price (the first seen wins a tie)."""
    for sku, names in tally.names.items():
        name = names.most_common(1)[0][0] if names else ""
        prices = tally.prices[sku]
        price = str(prices.most_common(1)[0][0]) if prices else ""
        yield [sku, name, price, CURRENCY]


def convert_online_retail(source: Path, out_dir: Path) -> ConversionReport:
    """Stream the Online Retail CSV once into channels, users, products and orders CSVs under ``out_dir``."""
    out_dir.mkdir(parents=True, exist_ok=True)
    tally = _Tally()

    def order_rows() -> Iterator[list[str]]:
        for line in _read_source(source):
            tally.source_rows += 1
            reason = tally.observe(line)
            if reason is not None:
                tally.dropped[reason] += 1
            elif line is not None:
                yield tally.order_row(line)

    # orders.csv first: users and products are summaries that exist only after the single pass.
    orders = _write_csv(out_dir, "orders.csv", order_rows())
    written = {
        "channels.csv": _write_csv(out_dir, "channels.csv", iter([CHANNEL])),
        "users.csv": _write_csv(out_dir, "users.csv", ([u, c] for u, c in tally.users.items())),
        "products.csv": _write_csv(out_dir, "products.csv", _product_rows(tally)),
        "orders.csv": orders,
    }
    return ConversionReport(
        source_rows=tally.source_rows,
        written=written,
        dropped={reason: tally.dropped[reason] for reason in DROP_REASONS},
        flagged={flag: tally.flagged[flag] for flag in FLAGS},
        cancelled_invoices=len(tally.cancelled),
    )


def main(argv: Sequence[str] | None = None) -> int:
    """Command-line entry point, so a dataset folder can be produced without writing Python."""
    parser = argparse.ArgumentParser(
        prog="python -m loaders.adapters.online_retail",
        description="Convert the UCI Online Retail CSV into a personagraph dataset folder "
        "(channels.csv, users.csv, products.csv, orders.csv); load it with `persona load OUT_DIR`.",
    )
    parser.add_argument("source", type=Path, metavar="SOURCE", help="the Online Retail CSV file")
    parser.add_argument("out_dir", type=Path, metavar="OUT_DIR", help="folder to write (created if missing)")
    args = parser.parse_args(argv)
    try:
        report = convert_online_retail(args.source, args.out_dir)
    except (OSError, UnicodeDecodeError, UnusableInputError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    print(report.render())
    return 0


if __name__ == "__main__":
    sys.exit(main())
