"""Secrets out of everything shown or stored: the API key, and credentials in an endpoint URL.

The rule for the key (:func:`secret_pattern`):

- A key of :data:`MIN_KEY_ANYWHERE` (12) characters or more — every real key — is found *anywhere*, glued to other
  characters or not (``token=KEYabc``, ``chatcmpl-KEY``, ``fp_KEY``), raw, JSON-escaped or percent-encoded.
- A shorter key that is *dictionary-like* — lower-case letters, digits, ``_`` and ``-``, starting with a letter, as
  LMDeploy's documented ``--api-keys internlm2``; or only digits — is often part of ordinary text: ``internlm2``
  prefixes that server's model id ``internlm2-chat-1_8b``, ``1234`` is in numbers the model compares. It is found only
  as a token of its own: not next to a letter, digit, ``_`` or ``-``. So ``Bearer internlm2`` and ``"internlm2"`` are
  caught, and the model id is left alone. Any other short key (``Zq7Rb2``: mixed case, symbols) is found anywhere, as
  a long one. A short key is no protection anyway: use a long one for a real deployment.

What is found is replaced by :data:`REDACTED` in answers, error messages, model ids, paths and reports; a cassette that
would contain it is not written at all.
"""

from __future__ import annotations

import functools
import json
import os
import re
from typing import Final
from urllib.parse import quote, urlsplit, urlunsplit

#: Environment variables holding the API key, in order of precedence. Never read from a file in the repo.
KEY_VARIABLES: Final = ("LLMCMP_API_KEY", "OPENAI_API_KEY")
#: Keys at least this long are matched anywhere; shorter ones only as a token of their own (see the module doc).
MIN_KEY_ANYWHERE: Final = 12
#: Short keys matched only as a token of their own: words (``internlm2``) and numbers (``1234``).
_DICTIONARY_LIKE = re.compile(r"[a-z][a-z0-9_-]*|[0-9]+")
#: What a secret is replaced with in any text that is shown or stored.
REDACTED: Final = "[API key removed]"


#: The prefix of a named endpoint's own key variable: ``--llm-endpoint big=URL`` reads ``LLMCMP_API_KEY_BIG`` first.
NAMED_KEY_PREFIX: Final = "LLMCMP_API_KEY_"


def named_key_variable(endpoint: str) -> str:
    """The variable of named endpoint ``endpoint``'s own key: ``big`` -> ``LLMCMP_API_KEY_BIG`` (``-`` is ``_``)."""
    return NAMED_KEY_PREFIX + endpoint.upper().replace("-", "_")


def _variables(endpoint: str = "") -> tuple[str, ...]:
    return ((named_key_variable(endpoint),) if endpoint else ()) + KEY_VARIABLES


def api_key(endpoint: str = "") -> str | None:
    """The API key from ``LLMCMP_API_KEY``, else ``OPENAI_API_KEY``; for a named endpoint, its own variable
    (:func:`named_key_variable`) first."""
    for name in _variables(endpoint):
        value = os.environ.get(name)
        if value:
            return value
    return None


def api_keys() -> list[str]:
    """Every key the environment holds for this plugin (the shared ones and every named endpoint's): what is
    removed from everything shown or written."""
    keys = [os.environ.get(name) for name in KEY_VARIABLES]
    keys += [os.environ.get(name) for name in _named_key_variables()]
    return list(dict.fromkeys(key for key in keys if key))


def _named_key_variables() -> list[str]:
    """The ``LLMCMP_API_KEY_<NAME>`` variables set now. Scanned on the environment's raw store when it has one
    (CPython's ``os.environ``): decoding every variable, as iterating ``os.environ`` does, cost 0.15 ms, paid
    several times per item of a replay by everything shown or written."""
    data = getattr(os.environ, "_data", None)
    encode = getattr(os.environ, "encodekey", None)
    decode = getattr(os.environ, "decodekey", None)
    if isinstance(data, dict) and encode is not None and decode is not None:
        prefix = encode(NAMED_KEY_PREFIX)
        # A copy first (one C call, whole under the GIL): a cassette writer thread reads the keys while pytest's
        # thread sets and deletes PYTEST_CURRENT_TEST, and iterating the dict itself then fails ("dictionary
        # changed size during iteration": a recording not saved).
        return [decode(name) for name in list(data) if name.startswith(prefix)]
    return [name for name in list(os.environ) if name.startswith(NAMED_KEY_PREFIX)]


def key_variable(key: str | None, endpoint: str = "") -> str | None:
    """The environment variable ``key`` came from (the one :func:`api_key` reads), or ``None``: its name, never
    its value, is what a message may show."""
    if not key:
        return None
    for name in _variables(endpoint):
        value = os.environ.get(name)
        if value:
            return name if value == key else None
    named = sorted(name for name, value in os.environ.items() if name.startswith(NAMED_KEY_PREFIX) and value == key)
    return named[0] if named else None


@functools.lru_cache(maxsize=16)
def secret_pattern(secret: str) -> re.Pattern[str]:
    """Where ``secret`` occurs in a text, by the rule of the module docstring."""
    forms = {secret, json.dumps(secret, ensure_ascii=False)[1:-1], json.dumps(secret)[1:-1], quote(secret, safe="")}
    alternatives = "|".join(re.escape(form) for form in sorted(forms, key=len, reverse=True))
    if len(secret) >= MIN_KEY_ANYWHERE or not _DICTIONARY_LIKE.fullmatch(secret):
        return re.compile(alternatives)
    # Not next to a letter, digit, "_" or "-", nor a part of a decimal number ("1234" is not in "0.1234" or "1234.5").
    return re.compile(rf"(?<![A-Za-z0-9_-])(?<![0-9][.,])(?:{alternatives})(?![A-Za-z0-9_-]|[.,][0-9])")


def contains_secret(text: str, secret: str | None) -> bool:
    """Whether ``text`` holds ``secret`` (by :func:`secret_pattern`)."""
    if not secret:
        return False
    return secret_pattern(secret).search(text) is not None


def redact(text: str, secret: str | None) -> str:
    """``text`` without ``secret``: an endpoint may echo the key back in an answer, an error or a model id."""
    if not secret:
        return text
    return secret_pattern(secret).sub(REDACTED, text)


def scrub(text: str) -> str:
    """``text`` without the configured API keys (the last step before anything is shown or written)."""
    for key in api_keys():
        text = redact(text, key)
    return text


def public_url(url: str) -> str:
    """``url`` without credentials: ``http://user:secret@host/v1`` is shown and stored as ``http://host/v1``."""
    try:
        parts = urlsplit(url)
    except ValueError:
        return url.rpartition("@")[2] if "@" in url else url
    if "@" not in parts.netloc:
        return url
    return urlunsplit(parts._replace(netloc=parts.netloc.rpartition("@")[2]))


def clip(text: str, secret: str | None, limit: int) -> str:
    """``text`` as one line of at most ``limit`` characters, redacted *before* it is cut (a cut key is no longer
    recognisable, and its prefix would leak)."""
    return one_line(redact(text, secret))[:limit]


# C0 and C1 control characters: an endpoint's message must not move the cursor or recolour a CI log.
_CONTROL_CHARS = re.compile("[\x00-\x1f\x7f-\x9f]")


def one_line(text: str) -> str:
    """``text`` as one printable line: control characters dropped, runs of whitespace made one space."""
    return " ".join(_CONTROL_CHARS.sub(" ", text).split())
