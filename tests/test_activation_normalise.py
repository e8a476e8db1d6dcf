"""Each ad platform's normalisation and hashing, on the examples the platforms publish (no Neo4j)."""

from __future__ import annotations

import hashlib

import pytest

from personagraph.graph.activation import normalise as n
from personagraph.graph.activation.match_keys import KeyType, match_keys, parse_key
from personagraph.graph.activation.platforms import Platform, platform_keys


def _sha256(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()


# Tencent Ads, "客户文件人群" (https://developers.e.qq.com/docs/audience_management/file): HASH_IDFA
# "加密前FF1999CD-7177-4937-A474-74937A102630,加密后2c010ed96aef2fc34983e1e7e9176b7e" and HASH_IMEI
# "加密前a000002c9060f7,加密后 f2d5a650733ca8c27d502b1c08da14e5".
@pytest.mark.parametrize(
    ("kind", "raw", "key_type", "published"),
    [
        (
            "idfa",
            "FF1999CD-7177-4937-A474-74937A102630",
            KeyType.IDFA_MD5,
            "2c010ed96aef2fc34983e1e7e9176b7e",
        ),
        # the same IDFA as a device may report it (lower case, spaces): Tencent wants upper case first
        (
            "idfa",
            " ff1999cd-7177-4937-a474-74937a102630 ",
            KeyType.IDFA_MD5,
            "2c010ed96aef2fc34983e1e7e9176b7e",
        ),
        ("imei", "a000002c9060f7", KeyType.IMEI_MD5, "f2d5a650733ca8c27d502b1c08da14e5"),
        ("imei", "A000002C9060F7", KeyType.IMEI_MD5, "f2d5a650733ca8c27d502b1c08da14e5"),  # lower case first
    ],
)
def test_tencent_published_device_hashes(kind: str, raw: str, key_type: KeyType, published: str) -> None:
    assert f"{key_type.value}:{published}" in match_keys(kind, raw)


def test_tencent_phone_is_the_11_digit_mainland_number() -> None:
    # Tencent HASH_MOBILE_PHONE: "加密前为11位的纯数字串" (same page); no published hash: the rule as
    # documented.
    for written in ("13800138000", "+86 138 0013 8000", "8613800138000", "+86-138-0013-8000"):
        assert n.phone_cn_mobile(written) == "13800138000"
    assert n.phone_cn_mobile("+1 212 565 0000") is None  # not a mainland number: no Tencent phone key
    keys = match_keys("phone", "+86 138 0013 8000")
    assert f"phone_md5_cn:{hashlib.md5(b'13800138000').hexdigest()}" in keys
    assert f"phone_sha256_cn:{_sha256('13800138000')}" in keys


# Google Ads API team (groups.google.com/g/adwords-api/c/GLqSCji7Hx0): E.164 "starting with a + sign (e.g.
# +12125650000, +442070313000)"; Google's hashed-data template (support.google.com/google-ads/answer/7476159)
# writes phones as 1-800-888-8888 / 1(800)888-8888 with the country code.
@pytest.mark.parametrize(
    ("written", "region", "e164"),
    [
        ("+12125650000", "CN", "+12125650000"),
        ("+442070313000", "CN", "+442070313000"),
        ("+44 20 7031 3000", "CN", "+442070313000"),
        ("1(800)888-8888", "US", "+18008888888"),
        ("1-800-888-8888", "US", "+18008888888"),
        ("138 0013 8000", "CN", "+8613800138000"),  # no country code: read in the default region
    ],
)
def test_google_phone_is_e164(written: str, region: str, e164: str) -> None:
    assert n.phone_e164(written, region) == e164


def test_google_email_rules() -> None:
    # Google (developers.google.com/doubleclick-advertisers/guides/conversions_ec, "Normalization and
    # hashing"):
    # trim, lower case, and remove all periods before the domain of gmail.com and googlemail.com addresses.
    assert n.email_google("  Your.Name@Gmail.com ") == "yourname@gmail.com"
    assert n.email_google("j.o.h.n@googlemail.com") == "john@googlemail.com"
    assert n.email_google("your.name@example.com") == "your.name@example.com"  # other domains keep dots
    assert n.email_google("not an email") is None
    key = f"email_sha256_google:{_sha256('yourname@gmail.com')}"
    assert key in match_keys("email", "Your.Name@Gmail.com")


# Meta Business Help Centre, "How to format a customer list" (facebook.com/business/help/2082575038703844):
# phone examples 1-234-567-8910, 12345678910, +44 844 412 4653 ("must include a country code"); email
# examples your.name@gmail.com; the Marketing API's normalisation table: email trimmed and lower case, phone
# "remove symbols, letters, and any leading zeroes" with the country code.
@pytest.mark.parametrize(
    ("written", "digits"),
    [("1-234-567-8910", "12345678910"), ("12345678910", "12345678910"), ("+44 844 412 4653", "448444124653")],
)
def test_meta_phone_is_digits_with_country_code(written: str, digits: str) -> None:
    assert n.phone_digits(written) == digits
    assert f"phone_sha256_digits:{_sha256(digits)}" in match_keys("phone", written)


def test_meta_email_keeps_gmail_dots() -> None:
    assert n.email(" Your.Name@Gmail.com ") == "your.name@gmail.com"
    assert f"email_sha256:{_sha256('your.name@gmail.com')}" in match_keys("email", " Your.Name@Gmail.com ")


def test_no_key_from_values_no_rule_can_normalise() -> None:
    assert match_keys("phone", "call me") == []
    assert match_keys("phone", "+86 123") == []  # not a valid number
    assert match_keys("imei", "12345") == []  # neither 14 nor 15 characters
    assert match_keys("idfa", "FF1999CD71774937A47474937A102630") == []  # hyphens are part of the IDFA form
    # Tencent takes WeChat openids only in plain text, which the graph never stores: no key at all
    assert match_keys("wechat", "wxid_0123456789") == []


def test_each_platform_takes_only_its_own_keys() -> None:
    keys = match_keys("email", "a.b@gmail.com") + match_keys("phone", "+8613800138000")
    types = {t: {parse_key(k)[0] for k in platform_keys(t, keys)} for t in Platform}  # type: ignore[index]
    assert types[Platform.GOOGLE] == {KeyType.EMAIL_SHA256_GOOGLE, KeyType.PHONE_SHA256_E164}
    assert types[Platform.META] == {KeyType.EMAIL_SHA256, KeyType.PHONE_SHA256_DIGITS}
    assert types[Platform.TENCENT] == {KeyType.PHONE_MD5_CN, KeyType.PHONE_SHA256_CN}
    assert types[Platform.OCEANENGINE] == {KeyType.PHONE_MD5_CN, KeyType.PHONE_SHA256_CN}
