"""Secret redaction applied at the Evidence boundary and to every error message.

Everything a probe reports passes through :func:`redact` before it can reach a report,
a log line or history, so a probe that forgets cannot leak.
"""

from __future__ import annotations

import base64
import re
import threading
from collections.abc import Callable

from auditor.lazyre import lazy

MASK = "***"

_SECRET_NAME = (r"[A-Za-z0-9_.-]*(?:password|passwd|secret|token|api[_-]?key|access[_-]?key|"
                r"private[_-]?key|credential)s?[A-Za-z0-9_.-]*")

#: lower-case words of which a secret-naming key holds one (``password``, ``api_key`` ...)
_SECRET_WORDS = ("passw", "secret", "token", "key", "credential")


def _basic_credentials(match: re.Match[str]) -> str:
    """``Basic <base64>`` is masked when the base64 decodes to ``user:password``; prose such
    as "basic understanding" stays as it is."""
    try:
        raw = match.group("b64").rstrip("=")
        decoded = base64.b64decode(raw + "=" * (-len(raw) % 4)).decode("utf-8")
    except (ValueError, UnicodeDecodeError):
        return match.group(0)
    return match.group("pre") + MASK if ":" in decoded else match.group(0)


#: (needles, pattern, replacement): a pattern runs only on text holding one of its needles
#: (lower-cased); most strings hold none and are returned untouched.
_PATTERNS: list[tuple[tuple[str, ...], re.Pattern[str], str | Callable[[re.Match[str]], str]]] = [
    # user:password@ in URLs (http, https, git, ssh, s3 ...)
    (("://",), lazy(r"(?P<scheme>[a-zA-Z][a-zA-Z0-9+.-]*://)[^/\s:@]+:[^/\s@]+@"), r"\g<scheme>" + MASK + "@"),
    # token-only userinfo: https://ghp_xxx@host
    (("://",), lazy(r"(?P<scheme>https?://)[^/\s:@]{16,}@"), r"\g<scheme>" + MASK + "@"),
    # webhook URLs whose path is the secret: Slack, Teams (incl. Power Automate), Discord,
    # Mattermost/Rocket.Chat/GitLab-style https://host/.../hooks/<token>
    (("hooks.slack",), lazy(r"(?i)(?P<pre>https?://hooks\.slack\.com/(?:services|workflows|triggers)/)[^\s'\"<>]+"),
     r"\g<pre>" + MASK),
    (("webhook.office",), lazy(r"(?i)(?P<pre>https?://[A-Za-z0-9.-]*\.webhook\.office\.com/)[^\s'\"<>]+"), r"\g<pre>" + MASK),
    (("outlook.office",), lazy(r"(?i)(?P<pre>https?://outlook\.office(?:365)?\.com/webhook/)[^\s'\"<>]+"), r"\g<pre>" + MASK),
    (("discord",), lazy(r"(?i)(?P<pre>https?://(?:[a-z0-9-]+\.)*discord(?:app)?\.com/api/(?:v\d+/)?webhooks/)"
                r"[^\s'\"<>]+"), r"\g<pre>" + MASK),
    (("hook",), lazy(r"(?i)(?P<pre>https?://[^\s/'\"<>]+/(?:[^\s'\"<>?#/]+/)*?(?:hooks|webhooks?)/)"
                r"(?=[^\s'\"<>?#]*[0-9])(?=[^\s'\"<>?#]*[A-Za-z])[^\s'\"<>?#]{8,}"), r"\g<pre>" + MASK),
    # signed-URL and token query parameters (Azure SAS sig=, S3 presigned, ?token=, ?code= ...)
    (("sig=", "signature", "token", "auth=", "key", "code=", "passw", "secret", "credential"),
     lazy(r"(?i)(?P<pre>[?&;](?:sig|signature|x-amz-signature|x-amz-security-token|"
                r"x-amz-credential|x-goog-signature|x-goog-credential|token|access_token|"
                r"id_token|refresh_token|private_token|auth|api_key|apikey|key|code|password|"
                r"secret|client_secret)=)[^&\s'\"<>#]+"), r"\g<pre>" + MASK),
    # Azure connection strings
    (("accountkey", "sharedaccess"), lazy(r"(?i)(?P<pre>\b(?:AccountKey|SharedAccessKey|SharedAccessSignature)=)[^;\s'\"]+"),
     r"\g<pre>" + MASK),
    # Authorization headers (also quoted, as in JSON: "Authorization": "Basic ...")
    (("authorization",), lazy(r"(?i)\b(authorization|proxy-authorization)(['\"]?)\s*[:=]\s*(['\"]?)"
                r"(?:bearer|basic|token|digest|negotiate|aws4-hmac-sha256)?\s*[^\s'\",]+"),
     r"\1\2: \3" + MASK),
    (("bearer",), lazy(r"(?i)\bbearer\s+[A-Za-z0-9._~+/=-]{8,}"), "Bearer " + MASK),
    (("basic",), lazy(r"(?i)(?P<pre>\bbasic\s+)(?P<b64>[A-Za-z0-9+/]{8,}={0,2})"), _basic_credentials),
    # curl -u user:password / --user user:password
    (("curl",), lazy(r"(?P<pre>\bcurl\b[^\n]*?\s(?:-u\s*|--user[\s=]+)(?P<q>['\"]?)(?!\$)[^\s'\":]+:)"
                r"(?!\$)[^\s'\"]+"), r"\g<pre>" + MASK),
    # well-known token shapes
    (("gh",), lazy(r"\bgh[pousr]_[A-Za-z0-9]{20,}\b"), MASK),
    (("github_pat",), lazy(r"\bgithub_pat_[A-Za-z0-9_]{20,}\b"), MASK),
    (("glpat-",), lazy(r"\bglpat-[A-Za-z0-9_-]{16,}\b"), MASK),
    (("xox",), lazy(r"\bxox[abposr]-[A-Za-z0-9-]{10,}\b"), MASK),
    (("akia", "asia"), lazy(r"\b(AKIA|ASIA)[A-Z0-9]{16}\b"), MASK),
    (("dapi",), lazy(r"\bdapi[a-f0-9]{32}\b"), MASK),
    (("eyj",), lazy(r"\beyJ[A-Za-z0-9_-]{8,}\.[A-Za-z0-9_-]{8,}\.[A-Za-z0-9_-]{8,}\b"), MASK),  # JWT
    (("private key",), lazy(r"-----BEGIN [A-Z ]*PRIVATE KEY-----[\s\S]*?(-----END [A-Z ]*PRIVATE KEY-----|$)"), MASK),
    # `docker login -p VALUE` and friends
    (("login",), lazy(r"(?P<pre>\blogin\b[^\n]*?\s-p\s*)(?P<q>['\"]?)(?!\$)[^\s'\"]+"), r"\g<pre>\g<q>" + MASK),
    # --password VALUE, --api-token VALUE (a flag, then its value)
    (_SECRET_WORDS, lazy(r"(?i)(?P<pre>(?<![\w-])--?" + _SECRET_NAME + r"\s+)(?P<q>['\"]?)(?!\$)(?!-)[^\s'\"]{4,}"),
     r"\g<pre>\g<q>" + MASK),
    # key=value, key: value where the key names a secret. Only these shapes: with ``=`` (or
    # ``:`` without a space) always; with ``: `` when the value is quoted or ends the line or
    # field, so prose such as "no credentials: anonymous pull refused" keeps its words.
    (
        _SECRET_WORDS,
        lazy(
            r"(?i)(?<![A-Za-z0-9_.-])(?P<key>" + _SECRET_NAME + r")(?P<kq>['\"]?)"
            r"(?P<sep>\s*=\s*|:(?!//)|\s*:\s+(?=['\"]|[^\s'\",}]+['\"]?\s*(?:$|[,;}\]#])))"
            r"(?P<q>['\"]?)(?P<val>(?!\$\{\{)(?!\$\()(?!\*\*\*)[^\s'\",}]{4,})",
            re.MULTILINE,
        ),
        r"\g<key>\g<kq>\g<sep>\g<q>" + MASK,
    ),
]

# Registered values, longest first (a ``user:password`` pair before its password), replaced
# as a whole tuple: probe threads register while others redact, so the tuple is swapped, never
# changed in place.
_extra: tuple[str, ...] = ()
_extra_lock = threading.Lock()

# Cheap first look: a string none of whose parts can start a secret pattern is returned as it
# is. Most evidence strings (names, paths, versions) take this path, and redaction runs on
# every string of every evidence, so this is what keeps it off the profile.
_TRIGGERS = tuple(sorted({n for needles, _, _ in _PATTERNS for n in needles} - {"://"}))
#: any trigger, in one pass of the C matcher (a Python loop over them cost 2-6 times more)
_TRIGGER = lazy("|".join(re.escape(t) for t in _TRIGGERS))
_USERINFO = re.compile(r"://[^/\s]*@")


def _maybe_secret(text: str) -> bool:
    low = text.lower()
    return _TRIGGER.search(low) is not None or ("@" in text and _USERINFO.search(text) is not None)


def register_secret(value: str | None) -> None:
    """Mask this exact value everywhere from now on (credentials read from the environment,
    values expanded from ``${VAR}``). Values shorter than 4 characters are not registered:
    masking them would blank ordinary words."""
    global _extra
    if not value or len(value) < 4 or value in _extra:
        return
    with _extra_lock:
        if value not in _extra:
            _extra = tuple(sorted((*_extra, value), key=len, reverse=True))


def registered() -> tuple[str, ...]:
    """The values :func:`register_secret` was given (a worker in another process registers
    them too, so what it reports is masked alike)."""
    return _extra


def redact(text: str) -> str:
    if not text:
        return text
    for value in _extra:  # a snapshot: register_secret swaps the tuple, never mutates it
        if value in text:
            text = text.replace(value, MASK)
    if not _maybe_secret(text):
        return text
    low = text.lower()
    for needles, pattern, repl in _PATTERNS:
        if any(n in low for n in needles):
            text = pattern.sub(repl, text)
    return text


def one_line(text: str, limit: int = 300) -> str:
    """A redacted single line, for reasons and error messages."""
    line = " ".join(redact(str(text)).split())
    return line if len(line) <= limit else line[: limit - 1] + "…"
