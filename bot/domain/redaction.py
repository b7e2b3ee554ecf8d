"""Secrets out of text: the one redaction function every output uses.

Logs (`bot.kit.logs`, and the network libraries' own loggers through
`bot.networks.x.client`), `/social status`, `socialbot check`, the App Home and the errors
stored on a source all pass their text through `redact`. Removed:

- the exact secret values given (the secret settings: tokens, app passwords, the signing secret,
  the database password), whatever surrounds them;
- anything shaped like a credential: `Authorization` header values, `Bearer …`, Slack tokens
  (`xoxb-`, `xoxp-`, `xapp-`…), OAuth 1.0a parameters and oauthlib's debug lines;
- the user information of a URL (`https://user:pass@host`, `https://TOKEN@host`): a feed URL
  may carry a login, and the user name can itself be a token (a user name alone is kept
  when it is shorter than 16 characters: `postgresql://bot@db` names an account, no secret);
- the value of any query or form parameter whose name looks secret: `token`, `access_token`,
  `api_key`/`apiKey`, `key`, `secret`, `password`, `pwd`, `sig`/`signature`, `auth`, `code`,
  `credential` — and any name ending in one of those (`X-Amz-Signature`, `client_secret`),
  also %-encoded (`access_token%3D…%26`) as OAuth base strings carry them.

PURE: no logging, no settings; callers pass the secret values they know.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable

REDACTED = "[REDACTED]"
# Shorter values are not matched literally: a test's "s" would blank every letter s. Real
# tokens and passwords are far longer.
MIN_SECRET_LENGTH = 8

# Parameter names whose values are secrets: these words, or a name ending in the first group.
_SECRET_SUFFIX = r"(?:token|key|secret|password|passwd|pwd|signature|credentials?)"
_SECRET_WORD = r"(?:sig|auth|code|apikey)"
_SECRET_NAME = (rf"(?:[A-Za-z0-9_.\-\[\]]*{_SECRET_SUFFIX}|{_SECRET_WORD})")

_PATTERNS: list[tuple[re.Pattern[str], str | Callable[[re.Match[str]], str]]] = [
    # An Authorization header's value, quoted (a dict repr, JSON) or to the end of the line.
    (re.compile(r"""(?i)(\bauthorization\b['"]?\s*[:=]\s*(?-i:b)?)(?:(['"])(?:\\.|(?!\2).)*\2|"""
                r"""[^\r\n]+)"""),
     lambda m: f"{m[1]}{m[2] or ''}{REDACTED}{m[2] or ''}"),
    (re.compile(r"(?i)\b(bearer)\s+(?!\[REDACTED\])[A-Za-z0-9\-._~+/%]+=*"), rf"\1 {REDACTED}"),
    (re.compile(r"\bx(?:ox[a-z]|app)-[A-Za-z0-9-]+"), REDACTED),
    # key=value credentials in URLs, OAuth 1.0a headers and base strings (also %-encoded),
    # reprs and JSON; the value ends at a quote, separator or an encoded `&`.
    (re.compile(r"""(?i)\b(oauth_(?:token|signature|consumer_key|verifier)|access_token|"""
                r"""refresh_token|client_secret|(?:app_)?password|client_key|"""
                r"""resource_owner_(?:key|secret))(['"]?\s*(?:[=:]|%3D)\s*['"]?)"""
                r"""(?!\[REDACTED)(?:(?!%26)[^"'&#,;\s}>])+"""),
     rf"\1\2{REDACTED}"),
    # oauthlib's "Collected params: [('oauth_token', '…'), …]"
    (re.compile(r"(\(\s*['\"]oauth_[a-z_]+['\"]\s*,\s*['\"])[^'\"]*", re.IGNORECASE),
     rf"\1{REDACTED}"),
    (re.compile(r"(?i)\b(signature:\s*)\S+"), rf"\1{REDACTED}"),  # oauthlib's DEBUG line
    # A query or form parameter with a secret-looking name: ?token=…, &X-Amz-Signature=…,
    # ;key=…, and the %-encoded `%26name%3Dvalue` of a signature base string.
    (re.compile(rf"(?i)((?:[?&;]|%26|%3F){_SECRET_NAME}(?:=|%3D))(?!\[REDACTED)"
                r"(?:(?!%26)[^&#\s'\"<>|,;])+"),
     rf"\1{REDACTED}"),
    # scheme://user:password@host: the whole user information (a user name can be a key);
    # scheme://token@host: a user name long enough to be a token (a short one, `bot@db`, is
    # kept: it says which account without giving a way in).
    (re.compile(r"(?i)(\b[a-z][a-z0-9+.\-]*://)(?!\[REDACTED\]@)"
                r"(?:[^/?#@\s'\"<>:]*:[^/?#@\s'\"<>]*|[^/?#@\s'\"<>:]{16,})@"),
     rf"\1{REDACTED}@"),
]


def redact(text: str, secrets: Iterable[str] = ()) -> str:
    """`text` with the given secret values and everything shaped like a credential replaced
    by `[REDACTED]`."""
    literal = sorted({s for s in secrets if s and len(s) >= MIN_SECRET_LENGTH},
                     key=len, reverse=True)  # longest first: a token containing another
    if literal:
        text = re.sub("|".join(map(re.escape, literal)), REDACTED, text)
    return redact_shapes(text)


def redact_shapes(text: str) -> str:
    """`text` with everything shaped like a credential replaced (no literal values)."""
    for pattern, replacement in _PATTERNS:
        text = pattern.sub(replacement, text)
    return text


def literal_pattern(secrets: Iterable[str]) -> re.Pattern[str] | None:
    """One compiled alternation of the secret values worth matching (None when there are
    none), for callers that redact many lines with the same values."""
    literal = sorted({s for s in secrets if s and len(s) >= MIN_SECRET_LENGTH},
                     key=len, reverse=True)
    return re.compile("|".join(map(re.escape, literal))) if literal else None
