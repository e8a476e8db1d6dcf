"""The upload files each ad platform takes, written from members' match keys (graph/activation/match_keys.py).

- **google** (Customer Match): one CSV, a row per person, columns ``Email`` and ``Phone`` (repeated, up to
  three each) holding SHA-256 hex of the normalised values, as Google's hashed-data template names them.
- **meta** (custom audience customer list): the same shape with Meta's headers ``email`` and ``phone``.
- **tencent** (腾讯广告 customer file audience): one text file per ``user_id_type`` (HASH_MOBILE_PHONE,
  SHA256_MOBILE_PHONE, HASH_IMEI, HASH_IDFA, HASH_OAID), one hash per line, each also zipped as
  ``custom_audience_files/add`` takes it.
- **oceanengine** (巨量引擎 audience package): one text file per data type (IMEI-MD5, IDFA-MD5,
  手机号-MD5, 手机号-SHA256, OAID-MD5), one hash per line, and all of them in one zip package.

A diff writes the same files twice, for the keys to add and the keys to remove (``-add`` / ``-remove`` in
the names); a full push writes them once (``-full``).
"""

from __future__ import annotations

import csv
import zipfile
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from enum import StrEnum
from pathlib import Path

from personagraph.graph.activation.match_keys import KeyType, parse_key

MAX_COLUMNS = 3  # values of one kind per person in a row (Meta takes up to three columns of each)


class Platform(StrEnum):
    """An ad platform an audience can be pushed to."""

    GOOGLE = "google"
    META = "meta"
    TENCENT = "tencent"
    OCEANENGINE = "oceanengine"


@dataclass(frozen=True)
class Column:
    """A CSV column of a row-per-person file: its header and the key type it holds."""

    header: str
    key_type: KeyType


@dataclass(frozen=True)
class IdList:
    """A one-hash-per-line file of a platform: its name (the platform's id type) and the key type."""

    name: str
    key_type: KeyType


# Row-per-person platforms: Google's headers (hashed-data template) and Meta's (customer list identifiers).
COLUMNS: dict[Platform, tuple[Column, ...]] = {
    Platform.GOOGLE: (
        Column("Email", KeyType.EMAIL_SHA256_GOOGLE),
        Column("Phone", KeyType.PHONE_SHA256_E164),
    ),
    Platform.META: (Column("email", KeyType.EMAIL_SHA256), Column("phone", KeyType.PHONE_SHA256_DIGITS)),
}
# One-hash-per-line platforms: Tencent's user_id_type values; Ocean Engine's data types (code and name).
ID_LISTS: dict[Platform, tuple[IdList, ...]] = {
    Platform.TENCENT: (
        IdList("HASH_MOBILE_PHONE", KeyType.PHONE_MD5_CN),
        IdList("SHA256_MOBILE_PHONE", KeyType.PHONE_SHA256_CN),
        IdList("HASH_IMEI", KeyType.IMEI_MD5),
        IdList("HASH_IDFA", KeyType.IDFA_MD5),
        IdList("HASH_OAID", KeyType.OAID_MD5),
    ),
    Platform.OCEANENGINE: (
        IdList("11_IMEI_MD5", KeyType.IMEI_MD5),
        IdList("12_IDFA_MD5", KeyType.IDFA_MD5),
        IdList("14_MOBILE_SHA256", KeyType.PHONE_SHA256_CN),
        IdList("16_OAID_MD5", KeyType.OAID_MD5),
        IdList("17_MOBILE_MD5", KeyType.PHONE_MD5_CN),
    ),
}


def key_types(platform: Platform) -> frozenset[KeyType]:
    """The match key types ``platform`` takes."""
    if platform in COLUMNS:
        return frozenset(c.key_type for c in COLUMNS[platform])
    return frozenset(i.key_type for i in ID_LISTS[platform])


def platform_keys(platform: Platform, keys: Sequence[str]) -> list[str]:
    """The keys of ``keys`` that ``platform`` takes, sorted and without repeats."""
    wanted = key_types(platform)
    return sorted({k for k in keys if (parsed := parse_key(k)) is not None and parsed[0] in wanted})


@dataclass(frozen=True)
class WrittenFile:
    """One file written: its path, the key type (or types) in it and how many hashes or rows it holds."""

    path: Path
    rows: int


def write_files(
    platform: Platform, members: Mapping[str, Sequence[str]], folder: Path, *, part: str
) -> list[WrittenFile]:
    """Write ``platform``'s files for ``members`` (user id -> the platform's keys) into ``folder``;
    ``part`` names them (``full``, ``add`` or ``remove``). Files of id types nobody has are not written."""
    folder.mkdir(parents=True, exist_ok=True)
    ordered = [members[user] for user in sorted(members)]  # a stable order: the same push, the same bytes
    if platform in COLUMNS:
        return [_write_rows(platform, ordered, folder / f"{platform.value}-{part}.csv")]
    written = [
        _write_list(folder / f"{platform.value}-{part}-{spec.name}.txt", spec.key_type, ordered)
        for spec in ID_LISTS[platform]
    ]
    kept = [w for w in written if w is not None]
    if platform is Platform.TENCENT:  # custom_audience_files/add takes one zipped file per id type
        return kept + [_zip(w.path.with_suffix(".zip"), [w]) for w in kept]
    if kept:  # Ocean Engine: one package holding every id type's file
        return [*kept, _zip(folder / f"{platform.value}-{part}.zip", kept)]
    return kept


def _hashes(keys: Sequence[str], key_type: KeyType) -> list[str]:
    return [parsed[1] for k in keys if (parsed := parse_key(k)) is not None and parsed[0] is key_type]


def _write_rows(platform: Platform, members: list[Sequence[str]], path: Path) -> WrittenFile:
    columns = COLUMNS[platform]
    per_person = [[_hashes(keys, c.key_type)[:MAX_COLUMNS] for c in columns] for keys in members]
    widths = [max([1, *(len(values[i]) for values in per_person)]) for i in range(len(columns))]
    header = [c.header for c, width in zip(columns, widths, strict=True) for _ in range(width)]
    rows = 0
    with path.open("w", encoding="utf-8", newline="") as handle:
        writer = csv.writer(handle, lineterminator="\n")
        writer.writerow(header)
        for values in per_person:
            if not any(values):
                continue
            writer.writerow(
                [v for column, width in zip(values, widths, strict=True) for v in _padded(column, width)]
            )
            rows += 1
    return WrittenFile(path, rows)


def _padded(values: list[str], width: int) -> list[str]:
    return values + [""] * (width - len(values))


def _write_list(path: Path, key_type: KeyType, members: list[Sequence[str]]) -> WrittenFile | None:
    hashes = sorted({h for keys in members for h in _hashes(keys, key_type)})
    if not hashes:
        return None
    path.write_text("".join(h + "\n" for h in hashes), encoding="ascii")
    return WrittenFile(path, len(hashes))


def _zip(path: Path, files: list[WrittenFile]) -> WrittenFile:
    with zipfile.ZipFile(path, "w", compression=zipfile.ZIP_DEFLATED) as package:
        for written in files:
            package.write(written.path, arcname=written.path.name)
    return WrittenFile(path, sum(w.rows for w in files))


__all__ = ["COLUMNS", "ID_LISTS", "Platform", "WrittenFile", "key_types", "platform_keys", "write_files"]
