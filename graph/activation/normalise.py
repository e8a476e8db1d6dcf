"""Each ad platform's normalisation of an identifier before it is hashed, as the platform documents it.

A value a rule cannot normalise (an email without ``@``, a phone number that is not a valid number, an
IMEI of the wrong length) gives None: no match key rather than a hash no platform would ever match.
Sources (docs/activation.md cites them; tests/test_activation_normalise.py tests their examples):

- Google Customer Match: trim, lower case; remove every ``.`` before the ``@`` of gmail.com and
  googlemail.com addresses; phone numbers in E.164 (``+`` country code, number), SHA-256, hex.
- Meta custom audiences: email trimmed and lower case; phone digits only, with the country code, no
  ``+``, no symbols, no leading zeros, SHA-256, hex.
- Tencent Ads (腾讯广告) customer files: MD5 (lower-case hex) of an 11-digit mainland mobile number
  (HASH_MOBILE_PHONE), of an IMEI in lower case (HASH_IMEI), of an IDFA in upper case with its hyphens
  (HASH_IDFA); SHA-256 of the 11-digit number (SHA256_MOBILE_PHONE).
- Ocean Engine (巨量引擎) audience packages: the same MD5 forms (IMEI-MD5, IDFA-MD5, 手机号-MD5) and the
  11-digit number's SHA-256 (手机号-SHA256).
"""

from __future__ import annotations

import hashlib
import re

import phonenumbers

# Where a phone number written without a country code is read (the shop's home market); a number with a
# leading + or a country code (8613800138000) is read as written.
DEFAULT_REGION = "CN"
GMAIL_DOMAINS = frozenset({"gmail.com", "googlemail.com"})
CHINA = 86
_EMAIL = re.compile(r"^[^@\s]+@[^@\s]+$")
_IMEI = re.compile(r"^[0-9a-f]{14,15}$")  # 14 or 15 digits, or a 14-hex-digit MEID (Tencent HASH_IMEI)
_IDFA = re.compile(r"^[0-9A-F]{8}-[0-9A-F]{4}-[0-9A-F]{4}-[0-9A-F]{4}-[0-9A-F]{12}$")
_OAID = re.compile(r"^[0-9A-Za-z-]{16,64}$")


def md5_hex(text: str) -> str:
    """MD5 of the UTF-8 text as 32 lower-case hex digits (Tencent and Ocean Engine)."""
    return hashlib.md5(text.encode("utf-8"), usedforsecurity=False).hexdigest()


def sha256_hex(text: str) -> str:
    """SHA-256 of the UTF-8 text as 64 lower-case hex digits (Google, Meta, the SHA-256 phone types)."""
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def email(value: str) -> str | None:
    """Meta's (and the common) form: leading and trailing whitespace trimmed, lower case."""
    text = value.strip().lower()
    return text if _EMAIL.match(text) else None


def email_google(value: str) -> str | None:
    """Google's form: ``email`` and, for gmail.com and googlemail.com, no ``.`` before the ``@``."""
    text = email(value)
    if text is None:
        return None
    local, domain = text.rsplit("@", 1)
    if domain in GMAIL_DOMAINS:
        local = local.replace(".", "")
    return f"{local}@{domain}" if local else None


def phone_number(value: str, region: str = DEFAULT_REGION) -> phonenumbers.PhoneNumber | None:
    """The phone number ``value`` writes, if it is a valid one: read in ``region`` unless it carries a
    country code (a leading ``+``, or digits that only make a valid number with one: 8613800138000)."""
    text = value.strip()
    if not re.search(r"\d", text):
        return None
    candidates = [text]
    digits = re.sub(r"\D", "", text)
    if not text.startswith("+") and digits:
        candidates.append("+" + digits.lstrip("0"))
    for candidate in candidates:
        try:
            number = phonenumbers.parse(candidate, region)
        except phonenumbers.NumberParseException:
            continue
        if phonenumbers.is_valid_number(number):
            return number
    return None


def phone_e164(value: str, region: str = DEFAULT_REGION) -> str | None:
    """Google's form: E.164, ``+`` then the country code and the number (+8613800138000)."""
    number = phone_number(value, region)
    if number is None:
        return None
    return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)


def phone_digits(value: str, region: str = DEFAULT_REGION) -> str | None:
    """Meta's form: digits only, country code first, no ``+`` and no leading zeros (8613800138000)."""
    e164 = phone_e164(value, region)
    return e164[1:] if e164 else None


def phone_cn_mobile(value: str, region: str = DEFAULT_REGION) -> str | None:
    """Tencent's and Ocean Engine's form: the 11-digit mainland China mobile number without +86; None for
    any other number (they take mainland mobile numbers only)."""
    number = phone_number(value, region)
    if number is None or number.country_code != CHINA:
        return None
    national = str(number.national_number)
    if len(national) != 11 or not national.startswith("1"):
        return None
    return national


def imei(value: str) -> str | None:
    """Tencent's HASH_IMEI form: 14 or 15 digits, or 14 hex digits of a MEID, letters lower case."""
    text = value.strip().lower()
    return text if _IMEI.match(text) else None


def idfa(value: str) -> str | None:
    """Tencent's HASH_IDFA form: 32 hex digits in upper case, in 8-4-4-4-12 groups joined by ``-``."""
    text = value.strip().upper()
    return text if _IDFA.match(text) else None


def oaid(value: str) -> str | None:
    """An OAID as the device reports it, trimmed (no platform publishes a case rule for it)."""
    text = value.strip()
    return text if _OAID.match(text) else None


__all__ = [
    "DEFAULT_REGION",
    "email",
    "email_google",
    "idfa",
    "imei",
    "md5_hex",
    "oaid",
    "phone_cn_mobile",
    "phone_digits",
    "phone_e164",
    "phone_number",
    "sha256_hex",
]
