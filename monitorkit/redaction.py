"""The one redactor: what counts as a secret in text, and the one mask that replaces it.

Every path that lets text out of a command goes through :func:`redact`: the record's fields
(message, traceback, output tail, metadata, params, id), alerts, transport errors and every
``monitorkit`` log line. Two sorts of secret are masked:

* the run's own secrets (:func:`secret_values`: the values of sensitive options and the
  passwords of URLs in any option), in every spelling they take in text: raw, URL-quoted,
  ``repr``- or JSON-escaped, and as the ``repr`` of their UTF-8 bytes. A value shorter than
  :data:`MIN_FREE_TEXT_SECRET` characters is never looked for in free text (``--passes=3``
  would mask every ``3``), though it never reaches an id or the params either;
* secrets known by their shape, whoever prints them (:data:`SHAPES`): the value after a
  sensitive name (``password=``, ``"api_key": "..."``, ``aws_secret_access_key = ...``,
  ``?access_token=``), ``Authorization``/``Cookie`` header values, ``Bearer`` tokens, URL
  passwords with any characters, ``.netrc`` passwords, private key blocks, JWTs and the token
  formats of AWS, Slack, GitHub, GitLab, Google and Stripe.

The list, with examples, is in ``docs/records.md``. Plain text in, plain text out: no Django.
"""

from __future__ import annotations

import functools
import json
import logging
import re
from collections.abc import Callable, Iterable
from urllib.parse import quote, quote_plus

MASK = "********"
#: Option values shorter than this are not looked for in free text (they still never reach an
#: id or the params): a short value is a count or a flag far more often than a credential.
MIN_FREE_TEXT_SECRET = 4

#: Names that hold credentials: Django's rule for hiding settings (``API``, ``TOKEN``, ``KEY``,
#: ``SECRET``, ``PASS``, ``SIGNATURE``, ``COOKIE``) and the names it misses.
#: Compiled on first use (``LazyPattern``, below), as every pattern of this module.
SENSITIVE_NAME_SOURCE = (
    r"API|TOKEN|KEY|SECRET|PASS|SIGNATURE|COOKIE|PWD|BEARER|SESSION|PRIVATE|CREDENTIAL|DSN"
    r"|AUTHORIZATION|AUTH(?!OR)"
)
#: Names of exceptions and warnings say what went wrong, not what the value is (``KeyError:``).
_NOT_A_NAME_ENDINGS = ("Error", "Exception", "Warning")


class LazyPattern:
    """A pattern compiled on its first use, not at import.

    Most text holds none of a shape's words (``SHAPES``), so most runs never use most shapes;
    compiling them all at import took about 3 ms of every monitored command's start (issue 16).
    Two threads that first use one at once both compile it: harmless, one result stays.
    """

    __slots__ = ("_compiled", "flags", "source")

    def __init__(self, source: str, flags: int = 0) -> None:
        self.source = source
        self.flags = flags
        self._compiled: re.Pattern[str] | None = None

    def __call__(self) -> re.Pattern[str]:
        compiled = self._compiled
        if compiled is None:
            compiled = self._compiled = re.compile(self.source, self.flags)
        return compiled


SENSITIVE_NAME = LazyPattern(SENSITIVE_NAME_SOURCE, re.IGNORECASE)
#: The words of ``SENSITIVE_NAME``: an ASCII name holding none of them (upper-cased) cannot
#: match it. (Not for other names: ``IGNORECASE`` matches the Kelvin sign as ``K``.)
_SENSITIVE_WORDS = tuple(word.replace("(?!OR)", "") for word in SENSITIVE_NAME_SOURCE.split("|"))


def is_sensitive_name(name: str) -> bool:
    """Return whether a name (an option, a key, a header) says its value is a credential."""
    if name.isascii() and not any(word in name.upper() for word in _SENSITIVE_WORDS):
        return False  # most names (``verbosity``, ``settings``): no pattern compiled for them
    return bool(SENSITIVE_NAME().search(name)) and not name.endswith(_NOT_A_NAME_ENDINGS)


# --- shapes ---------------------------------------------------------------------------------------

#: ``scheme://user:password@host``: the password may hold any character but a blank or a quote
#: (an unquoted ``@`` in it runs to the last ``@`` of the URL: masking too much, never too little).
_URL_PASSWORD = LazyPattern(
    r"(?P<head>\b[A-Za-z][A-Za-z0-9+.\-]{0,30}://[^\s:/?#@'\"<>]{0,256}:)"
    r"(?P<password>(?:\\['\"]|[^\s'\"<>]){1,512})@"
)
_PRIVATE_KEY = LazyPattern(
    r"(-----BEGIN [A-Z0-9 ]*PRIVATE KEY[A-Z ]*-----)[\s\S]*?(-----END [A-Z0-9 ]*PRIVATE KEY"
    r"[A-Z ]*-----|\Z)"
)
#: The end of a block whose first lines were cut off before the text reached us.
_PRIVATE_KEY_END = LazyPattern(
    r"(?:^|(?<=\n))(?:[A-Za-z0-9+/=]{16,}\r?\n)+(-----END [A-Z0-9 ]*PRIVATE KEY[A-Z ]*-----)"
)
#: An ``Authorization``, ``Cookie`` or API-key header written as a header: the rest of the line.
_HEADER = LazyPattern(
    r"(?P<head>\b(?:Proxy-)?(?:Authorization|Cookie|Set-Cookie|X-Api-Key|X-Auth-Token)"
    r"[ \t]*:[ \t]*(?:(?:Bearer|Basic|Token|Digest|Negotiate|NTLM)[ \t]+)?)"
    r"(?P<value>(?![\"'])[^\r\n]+)",
    re.IGNORECASE,
)
_BEARER = LazyPattern(r"\b(?P<head>Bearer\s+)[A-Za-z0-9._~+/=-]{6,}", re.IGNORECASE)
#: ``machine host login user password secret`` (``.netrc``, and curl's ``--netrc`` traces).
_NETRC = LazyPattern(
    r"(?P<head>\bmachine\s+\S+(?:\s+(?:login|account)\s+\S+)*\s+password\s+)(?P<value>\S+)"
)
#: Tokens whose format says what they are, wherever they appear.
_TOKENS = LazyPattern(
    r"\beyJ[A-Za-z0-9_-]{5,}\.eyJ[A-Za-z0-9_-]{5,}\.[A-Za-z0-9_-]*"  # JWT
    r"|\b(?:AKIA|ASIA|AGPA|AIDA|AROA|ANPA)[A-Z0-9]{16}\b"  # AWS access key ids
    r"|\bxox[abprsoe]-[A-Za-z0-9-]{10,}"  # Slack
    r"|\bgh[pousr]_[A-Za-z0-9]{30,}"  # GitHub tokens
    r"|\bgithub_pat_[A-Za-z0-9_]{30,}"  # GitHub fine-grained tokens
    r"|\bglpat-[A-Za-z0-9_-]{20,}"  # GitLab
    r"|\bAIza[0-9A-Za-z_-]{35}"  # Google API keys
    r"|\b[sr]k_(?:live|test)_[A-Za-z0-9]{16,}"  # Stripe
)
#: ``name=value``, ``name: value``, ``"name": "value"``, ``'name': 'value'`` (a dict's repr),
#: ``?name=value&``: the value is masked when the name is sensitive (``is_sensitive_name``).
_PAIR = LazyPattern(
    r"""(?P<head>(?P<q>["']?)(?<![\w.-])(?P<name>[A-Za-z_][\w.-]{0,63})(?P=q)[ \t]*[:=](?![=/])"""
    r"""[ \t]*"""
    r"""(?:(?:Bearer|Basic|Token|Digest)[ \t]+)?)"""
    r"""(?P<value>"(?:\\.|[^"\\\n])*"|'(?:\\.|[^'\\\n])*'|[^\s"',;&)}\]<>]+)"""
)


def _mask_pair(match: re.Match[str]) -> str:
    if not is_sensitive_name(match.group("name")):
        return match.group(0)
    value = match.group("value")
    if value[0] in "'\"":
        return match.group("head") + (value[0] + MASK + value[0] if len(value) > 2 else value)
    return match.group("head") + MASK


def _headed(match: re.Match[str]) -> str:
    return match.group("head") + MASK


def _private_key(match: re.Match[str]) -> str:
    return f"{match.group(1)}\n{MASK}\n{match.group(2)}"


def _any(*words: str) -> Callable[[str], bool]:
    """Return a test of lower-cased text for any of ``words``: a substring search costs far
    less than a pattern, and most text holds none of a shape's words."""
    return lambda low: any(word in low for word in words)


_NAMED = _any(*(w.lower() for w in SENSITIVE_NAME_SOURCE.replace("(?!OR)", "").split("|")))

#: Each shape, the words without which it cannot be there, and what it becomes, in the order
#: they are applied (a header is masked whole before its ``name=value`` parts are looked at).
SHAPES: tuple[tuple[LazyPattern, Callable[[str], bool], Callable[[re.Match[str]], str]], ...] = (
    (_PRIVATE_KEY, _any("private key-----"), _private_key),
    (_PRIVATE_KEY_END, _any("private key-----"), lambda m: f"{MASK}\n{m.group(1)}"),
    (_URL_PASSWORD, _any("://"), lambda m: m.group("head") + MASK + "@"),
    (_HEADER, _any("authorization", "cookie", "x-api-key", "x-auth-token"), _headed),
    (_BEARER, _any("bearer"), _headed),
    (_NETRC, _any("machine"), _headed),
    (
        _TOKENS,
        _any(
            *("eyj", "akia", "asia", "agpa", "aida", "aroa", "anpa", "xox", "github_pat_"),
            *("ghp_", "gho_", "ghu_", "ghs_", "ghr_", "glpat-", "aiza", "k_live_", "k_test_"),
        ),
        lambda m: MASK,
    ),
    (_PAIR, lambda low: ("=" in low or ":" in low) and _NAMED(low), _mask_pair),
)


def mask_shapes(text: str) -> str:
    """Return ``text`` with every secret known by its shape masked (see the module)."""
    low = text.lower()
    for pattern, could_hold, replace in SHAPES:
        if could_hold(low):
            text = pattern().sub(replace, text)
    return text


def url_passwords(text: str) -> list[str]:
    """Return the passwords of the ``scheme://user:password@host`` URLs in ``text``."""
    if "://" not in text:
        return []
    return [m.group("password") for m in _URL_PASSWORD().finditer(text)]


# --- known secrets --------------------------------------------------------------------------------

_PERCENT = LazyPattern(r"%[0-9A-F]{2}")


def _repr_body(secret: str) -> str:
    """Return ``secret`` escaped as ``repr`` escapes it, quotes left alone."""
    return "".join(
        "\\\\" if c == "\\" else c if c.isprintable() or c in "'\"" else repr(c)[1:-1]
        for c in secret
    )


def secret_spellings(secret: str) -> set[str]:
    """Return the spellings a secret takes in text: raw, URL-encoded, ``repr``/JSON-escaped,
    and the ``repr`` of its UTF-8 bytes (``b's3cr3t \\xc3\\xa9'``)."""
    forms = {secret, quote(secret, safe=""), quote(secret), quote_plus(secret)}
    forms |= {_PERCENT().sub(lambda m: m.group().lower(), form) for form in forms}
    escaped = {
        _repr_body(secret),
        secret.encode("unicode_escape").decode("ascii"),
        json.dumps(secret)[1:-1],
        json.dumps(secret, ensure_ascii=False)[1:-1],
        repr(secret.encode("utf-8", "surrogatepass"))[2:-1],
    }
    for form in escaped:
        forms |= {form, form.replace("'", "\\'"), form.replace('"', '\\"')}
    return {form for form in forms if form}


@functools.lru_cache(maxsize=64)
def _secrets_pattern(secrets: tuple[str, ...]) -> re.Pattern[str] | None:
    forms: set[str] = set()
    for secret in secrets:
        if len(secret) >= MIN_FREE_TEXT_SECRET:
            forms |= secret_spellings(secret)
    if not forms:
        return None
    return re.compile("|".join(re.escape(f) for f in sorted(forms, key=len, reverse=True)))


def redact(text: str, secrets: Iterable[str] = ()) -> str:
    """Return ``text`` with ``secrets`` (every spelling) and every secret shape masked."""
    if not text:
        return text
    pattern = _secrets_pattern(tuple(s for s in secrets if s))
    if pattern is not None:
        text = pattern.sub(MASK, text)
    return mask_shapes(text)


class RedactingFilter(logging.Filter):
    """Redact every line of a logger (message, arguments and traceback) with :func:`redact`.

    The run's own secrets never reach a log line (monitorkit logs what it replaced, never the
    value); this catches what only a log line carries, e.g. a database error that quotes a
    connection URL, or an HTTP library's message with the request's URL.
    """

    def filter(self, record: logging.LogRecord) -> bool:
        try:
            message = record.getMessage()  # arguments formatted: an exception's text included
        except Exception:  # noqa: BLE001 - a bad format string: logging reports it later
            message = None
        if message is not None and (masked := redact(message)) != message:
            record.msg, record.args = masked, ()  # otherwise the template stays, for grouping
        if record.exc_info and not record.exc_text:
            record.exc_text = redact(logging.Formatter().formatException(record.exc_info))
        if record.stack_info:
            record.stack_info = redact(record.stack_info)
        return True


logging.getLogger("monitorkit").addFilter(RedactingFilter())
