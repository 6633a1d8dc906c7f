"""Where a page may send the browser after an action: a path on this site, checked in one place.

Every `next` / `back` / return-to value a request carries (the sign-in form's `next`, the
notification, incident and 待分派 forms' return addresses) goes through `safe_target` before it
becomes a `Location`. It is an allow-list, not a filter of known tricks: a target is accepted
only when it is a plain same-origin path — it starts with one "/" followed by something other
than "/" or "\\", has no scheme and no host, and neither it nor any percent-decoding of it holds a
backslash, a control character (tab, newline, NUL …), whitespace or an invisible format
character, nor holds "//" in its path (the path is decoded up to three times; the query string is
checked as sent). Browsers drop tabs and newlines and read "\\" as "/", so
`/%09/evil.example`, `/\\evil.example` and the like would otherwise leave the site; a newline
in a `Location` header is also a 500 in Werkzeug. Anything else gives the default page.
"""
import unicodedata
from urllib.parse import unquote, urlsplit

MAX_LENGTH = 2000
_DECODE_ROUNDS = 3                   # "/%252F%252Fx" decodes twice to "///x"


def _bad_char(text):
    for ch in text:
        if ch == "\\" or ch.isspace() or unicodedata.category(ch)[0] in ("C", "Z"):
            return True
    return False


def _is_local_path(text):
    if not text.startswith("/") or text[1:2] in ("/", "\\") or _bad_char(text):
        return False
    parts = urlsplit(text)
    return not parts.scheme and not parts.netloc


def is_safe(target, under=None):
    """True when `target` is a path on this site (and, with `under`, that path or below it)."""
    if not isinstance(target, str) or not target or len(target) > MAX_LENGTH:
        return False
    if not _is_local_path(target):
        return False
    # the path once more for each layer of percent-encoding (a query's "%20" stays harmless)
    text = urlsplit(target).path
    for _round in range(_DECODE_ROUNDS + 1):
        if not _is_local_path(text) or "//" in text:
            return False
        decoded = unquote(text, errors="strict") if "%" in text else text
        if decoded == text:
            break
        text = decoded
    else:
        return False                     # still encoded after several rounds: no honest path is
    if under:
        path = urlsplit(target).path
        base = under.rstrip("/")
        if path != base and not path.startswith(base + "/"):
            return False
    return True


def safe_target(target, default, under=None):
    """`target` when it is a same-origin path (below `under` when given), else `default`."""
    try:
        return target if is_safe(target, under) else default
    except (UnicodeDecodeError, ValueError):
        return default
