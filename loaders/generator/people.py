"""Users, their identities and manual tags for one chunk, with the planted per-user traits."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from personagraph.loaders.generator import vocab
from personagraph.loaders.generator.arrays import (
    BoolArray,
    IntArray,
    StrArray,
    choose,
    iso,
    scramble,
    strings,
)
from personagraph.loaders.generator.catalog import Catalog

DUPLICATE_SHARE = 0.01
NIGHT_SHARE = 0.03
THRIFTY_SHARE = 0.06


@dataclass(frozen=True)
class Cohort:
    """One chunk of users and the traits their orders, events, ties and tags are sampled from."""

    start: int  # global 0-based index of the first user
    ids: StrArray
    channel: IntArray
    acquired_at: IntArray  # epoch seconds
    top: IntArray  # preferred top category
    night: BoolArray
    thrifty: BoolArray
    dup_orig: IntArray  # chunk positions of people who also have...
    dup_copy: IntArray  # ...a second account here (always at a later position)
    dup_by_phone: BoolArray  # per pair: they share the phone number, else the email

    @property
    def size(self) -> int:
        return len(self.ids)


def sample_cohort(rng: np.random.Generator, catalog: Catalog, start: int, size: int) -> Cohort:
    """Traits first, so every file of the chunk agrees on who is a night owl, a bargain hunter, a twin."""
    channel = choose(rng, [c[3] for c in vocab.CHANNELS], size)
    span = vocab.END - 30 * vocab.DAY - vocab.START
    acquired = vocab.START + (rng.random(size) ** 0.6 * span).astype(np.int64)
    top = rng.integers(0, len(vocab.CATEGORIES), size)
    pairs = rng.choice(size, 2 * int(size * DUPLICATE_SHARE), replace=False).reshape(2, -1)
    orig, copy = pairs.min(axis=0), pairs.max(axis=0)
    channel[copy] = (channel[orig] + rng.integers(1, len(vocab.CHANNELS), len(copy))) % len(vocab.CHANNELS)
    top[copy] = top[orig]
    return Cohort(
        start=start,
        ids=strings(catalog.user_ids(np.arange(start, start + size))),
        channel=channel,
        acquired_at=acquired,
        top=top,
        night=rng.random(size) < NIGHT_SHARE,
        thrifty=rng.random(size) < THRIFTY_SHARE,
        dup_orig=orig,
        dup_copy=copy,
        dup_by_phone=rng.random(len(copy)) < 0.35,
    )


def user_rows(rng: np.random.Generator, cohort: Cohort) -> tuple[list[str], int, int]:
    """The users file rows, and how many said no to marketing / opted out of personalisation."""
    n = cohort.size
    gender = choose(rng, [g[1] for g in vocab.GENDERS], n)
    birth = np.clip(rng.normal(1990, 11, n), 1945, 2008).astype(np.int64)
    city = choose(rng, [c[3] for c in vocab.CITIES], n)
    for column in (gender, birth, city):  # a second account is the same person
        column[cohort.dup_copy] = column[cohort.dup_orig]
    consent = rng.random(n) < 0.72
    opt_out = rng.random(n) < 0.08
    flag = strings(["false", "true"])
    cities = vocab.CITIES
    columns = zip(
        cohort.ids.tolist(),
        strings([g[0] for g in vocab.GENDERS])[gender].tolist(),
        birth.tolist(),
        strings(vocab.OCCUPATIONS)[rng.integers(0, len(vocab.OCCUPATIONS), n)].tolist(),
        strings([e[0] for e in vocab.EDUCATION])[choose(rng, [e[1] for e in vocab.EDUCATION], n)].tolist(),
        strings([i[0] for i in vocab.INCOME])[choose(rng, [i[1] for i in vocab.INCOME], n)].tolist(),
        strings([f"{c[0]},{c[1]},{c[2]}" for c in cities])[city].tolist(),
        flag[consent.astype(np.int64)].tolist(),
        flag[opt_out.astype(np.int64)].tolist(),
        strings([c[0] for c in vocab.CHANNELS])[cohort.channel].tolist(),
        iso(cohort.acquired_at),
        strict=True,
    )
    rows = [",".join(map(str, row)) for row in columns]
    return rows, int(n - consent.sum()), int(opt_out.sum())


def _variant(rng: np.random.Generator, value: str, phone: bool) -> str:
    """The same value as another channel's form would have captured it: other case, stray spaces."""
    pick = int(rng.integers(0, 4))
    if phone:
        return (f" {value}", f"{value} ", f"  {value} ", f"{value}  ")[pick]
    local, domain = value.split("@")
    return (value.upper(), value.capitalize(), f" {local.title()}@{domain}", f"{value.capitalize()} ")[pick]


def identity_rows(rng: np.random.Generator, cohort: Cohort, salt: int) -> list[str]:
    """Emails, phones and other ids, unique per person except the planted second accounts."""
    n, index = cohort.size, np.arange(cohort.start, cohort.start + cohort.size)
    email = _emails(rng, index, salt)
    phone = _phones(rng, index, salt)
    has_email, has_phone = rng.random(n) < 0.85, rng.random(n) < 0.7
    for orig, copy, by_phone in zip(
        cohort.dup_orig.tolist(), cohort.dup_copy.tolist(), cohort.dup_by_phone.tolist(), strict=True
    ):
        values, has = (phone, has_phone) if by_phone else (email, has_email)
        values[copy] = _variant(rng, values[orig], by_phone)
        has[orig] = has[copy] = True
    devices = 1 + (rng.random(n) < 0.3)
    device_pos = np.repeat(np.arange(n), devices)
    device_no = np.arange(len(device_pos)) - np.repeat(np.cumsum(devices) - devices, devices)
    has_wechat, has_crm = rng.random(n) < 0.4, rng.random(n) < 0.25
    parts: list[tuple[IntArray, int, str, list[str]]] = [
        (np.flatnonzero(has_email), 0, "email", [email[i] for i in np.flatnonzero(has_email).tolist()]),
        (np.flatnonzero(has_phone), 1, "phone", [phone[i] for i in np.flatnonzero(has_phone).tolist()]),
        (
            np.flatnonzero(has_wechat),
            2,
            "wechat",
            [f"wxid_{v:010x}" for v in scramble(index[has_wechat], 2654435761, salt, 1 << 40)],
        ),
        (
            device_pos,
            3,
            "device",
            [
                f"dev-{v:012x}"
                for v in scramble(4 * index[device_pos] + device_no, 0x5DEECE66D, salt, 1 << 48)
            ],
        ),
        (
            np.flatnonzero(has_crm),
            4,
            "crm",
            [f"CRM{v:08d}" for v in scramble(index[has_crm], 7877, salt, 10**8)],
        ),
    ]
    keys = np.concatenate([pos * 8 + rank for pos, rank, _, _ in parts])
    ids = cohort.ids.tolist()
    lines = [
        f"{ids[p]},{kind},{v}"
        for pos, _, kind, values in parts
        for p, v in zip(pos.tolist(), values, strict=True)
    ]
    return [lines[i] for i in np.argsort(keys, kind="stable").tolist()]


def _emails(rng: np.random.Generator, index: IntArray, salt: int) -> list[str]:
    n = len(index)
    first = strings(vocab.FIRST_NAMES)[rng.integers(0, len(vocab.FIRST_NAMES), n)].tolist()
    last = strings(vocab.LAST_NAMES)[rng.integers(0, len(vocab.LAST_NAMES), n)].tolist()
    domain = strings(vocab.EMAIL_DOMAINS)[rng.integers(0, len(vocab.EMAIL_DOMAINS), n)].tolist()
    number = scramble(index, 7919, salt, 10**7)
    return [f"{f}.{la}{k}@{d}" for f, la, k, d in zip(first, last, number, domain, strict=True)]


def _phones(rng: np.random.Generator, index: IntArray, salt: int) -> list[str]:
    n = len(index)
    prefix = (130 + 10 * rng.choice([0, 2, 5], n) + rng.integers(0, 10, n)).tolist()
    style = rng.integers(0, 3, n).tolist()
    out = []
    for p, d, s in zip(prefix, scramble(index, 7907, salt, 10**8), style, strict=True):
        mid, end = divmod(d, 10_000)
        out.append(
            (f"+86 {p} {mid:04d} {end:04d}", f"+86-{p}-{mid:04d}-{end:04d}", f"+86{p}{mid:04d}{end:04d}")[s]
        )
    return out


def user_tag_rows(rng: np.random.Generator, cohort: Cohort) -> list[str]:
    """Manual tags: a few generic ones, plus the ones the planted traits make likely."""
    n = cohort.size
    tagged = rng.random(n) < 0.3
    generic = np.repeat(np.arange(n), rng.integers(1, 3, n) * tagged)
    extra = [
        (np.flatnonzero(tagged & (rng.random(n) < 0.6)), vocab.FIRST_PREF_TAG + cohort.top),
        (np.flatnonzero(cohort.night & (rng.random(n) < 0.6)), np.full(n, vocab.NIGHT_TAG)),
        (np.flatnonzero(cohort.thrifty & (rng.random(n) < 0.6)), np.full(n, vocab.BARGAIN_TAG)),
    ]
    pos = np.concatenate([generic] + [p for p, _ in extra])
    tag = np.concatenate(
        [np.asarray(vocab.LEAF_TAGS)[rng.integers(0, len(vocab.LEAF_TAGS), len(generic))]]
        + [t[p] for p, t in extra]
    )
    key = np.unique(pos * 64 + tag)
    pos, tag = key // 64, key % 64
    assigned = cohort.acquired_at[pos] + (
        rng.random(len(pos)) * (vocab.END - cohort.acquired_at[pos])
    ).astype(np.int64)
    expires = assigned + rng.integers(90, 366, len(pos)) * vocab.DAY
    expiring = rng.random(len(pos)) < 0.4
    columns = zip(
        cohort.ids[pos].tolist(),
        strings([t[0] for t in vocab.TAGS])[tag].tolist(),
        np.round(rng.uniform(0.3, 1.0, len(pos)), 2).tolist(),
        iso(assigned),
        iso(expires),
        expiring.tolist(),
        strict=True,
    )
    return [f"{u},{t},{w:.2f},manual,{a},{e if x else ''}" for u, t, w, a, e, x in columns]
