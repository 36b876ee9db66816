"""Secret redaction applied at the Evidence boundary and to every error message.

Everything a probe reports passes through :func:`redact` before it can reach a report,
a log line or history, so a probe that forgets cannot leak.
"""

from __future__ import annotations

import re

MASK = "***"

_PATTERNS: list[tuple[re.Pattern[str], str]] = [
    # user:password@ in URLs (http, https, git, ssh, s3 ...)
    (re.compile(r"(?P<scheme>[a-zA-Z][a-zA-Z0-9+.-]*://)[^/\s:@]+:[^/\s@]+@"), r"\g<scheme>" + MASK + "@"),
    # token-only userinfo: https://ghp_xxx@host
    (re.compile(r"(?P<scheme>https?://)[^/\s:@]{16,}@"), r"\g<scheme>" + MASK + "@"),
    # Authorization headers
    (re.compile(r"(?i)\b(authorization|proxy-authorization)\s*[:=]\s*(bearer|basic|token)?\s*[^\s'\",]+"), r"\1: " + MASK),
    (re.compile(r"(?i)\bbearer\s+[A-Za-z0-9._~+/=-]{8,}"), "Bearer " + MASK),
    # well-known token shapes
    (re.compile(r"\bgh[pousr]_[A-Za-z0-9]{20,}\b"), MASK),
    (re.compile(r"\bgithub_pat_[A-Za-z0-9_]{20,}\b"), MASK),
    (re.compile(r"\bglpat-[A-Za-z0-9_-]{16,}\b"), MASK),
    (re.compile(r"\bxox[abposr]-[A-Za-z0-9-]{10,}\b"), MASK),
    (re.compile(r"\b(AKIA|ASIA)[A-Z0-9]{16}\b"), MASK),
    (re.compile(r"\bdapi[a-f0-9]{32}\b"), MASK),
    (re.compile(r"\beyJ[A-Za-z0-9_-]{8,}\.[A-Za-z0-9_-]{8,}\.[A-Za-z0-9_-]{8,}\b"), MASK),  # JWT
    (re.compile(r"-----BEGIN [A-Z ]*PRIVATE KEY-----[\s\S]*?(-----END [A-Z ]*PRIVATE KEY-----|$)"), MASK),
    # `docker login -p VALUE` and friends
    (re.compile(r"(?P<pre>\blogin\b[^\n]*?\s-p\s*)(?P<q>['\"]?)(?!\$)[^\s'\"]+"), r"\g<pre>\g<q>" + MASK),
    # key=value / key: value where the key names a secret
    (
        re.compile(
            r"(?i)(?P<key>[A-Za-z0-9_.-]*(password|passwd|secret|token|api[_-]?key|access[_-]?key|private[_-]?key|credential)s?[A-Za-z0-9_.-]*)"
            r"(?P<sep>\s*[:=]\s*|\s+)(?P<q>['\"]?)(?P<val>(?!\$\{\{)(?!\$\()[^\s'\",}]{4,})"
        ),
        r"\g<key>\g<sep>\g<q>" + MASK,
    ),
]

_extra: set[str] = set()

# Cheap first look: a string none of whose parts can start a secret pattern is returned as it
# is. Most evidence strings (names, paths, versions) take this path, and redaction runs on
# every string of every evidence, so this is what keeps it off the profile.
_TRIGGERS = ("author", "bearer", "login", "begin", "passw", "secret", "token", "key", "private",
             "credential", "gh", "github_pat", "glpat-", "xox", "akia", "asia", "dapi", "eyj")
_USERINFO = re.compile(r"://[^/\s]*@")


def _maybe_secret(text: str) -> bool:
    low = text.lower()
    return any(t in low for t in _TRIGGERS) or ("@" in text and _USERINFO.search(text) is not None)


def register_secret(value: str | None) -> None:
    """Mask this exact value everywhere from now on (credentials read from the environment)."""
    if value and len(value) >= 4:
        _extra.add(value)


def redact(text: str) -> str:
    if not text:
        return text
    for value in _extra:
        if value in text:
            text = text.replace(value, MASK)
    if not _maybe_secret(text):
        return text
    for pattern, repl in _PATTERNS:
        text = pattern.sub(repl, text)
    return text


def one_line(text: str, limit: int = 300) -> str:
    """A redacted single line, for reasons and error messages."""
    line = " ".join(redact(str(text)).split())
    return line if len(line) <= limit else line[: limit - 1] + "…"
