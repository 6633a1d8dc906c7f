"""The secrets of the enterprise's way in: tracking-link tokens (kept only as hashes) and how a
contact phone is shown masked. Shared by the portal (appeals/portal.py) and the lookup by code
(appeals/lookup.py)."""
from __future__ import annotations

import hashlib
import re
import secrets
import string

# A link's token: 43 letters and digits (62**43 > 2**256). Links made before were
# secrets.token_urlsafe(32) and may hold "_" and "-", which read as a space or a line break in a
# printed or underlined link: new tokens have neither, old ones still open.
TOKEN_ALPHABET = string.ascii_letters + string.digits
TOKEN_LENGTH = 43
TOKEN_RE = re.compile(r"[A-Za-z0-9_-]{43}")


def new_token() -> str:
    return "".join(secrets.choice(TOKEN_ALPHABET) for _ in range(TOKEN_LENGTH))


def token_hash(token: str) -> str:
    return hashlib.sha256(token.encode("ascii")).hexdigest()


def mask_phone(phone: str) -> str:
    """138****5678; a landline 0572-***4567: enough for its owner to recognise, no more."""
    digits = re.sub(r"\D", "", phone or "")
    if len(digits) == 11 and digits.startswith("1"):
        return f"{digits[:3]}****{digits[-4:]}"
    return f"{digits[:4]}-***{digits[-4:]}" if len(digits) >= 8 else "****"


__all__ = ["TOKEN_ALPHABET", "TOKEN_LENGTH", "TOKEN_RE", "new_token", "token_hash", "mask_phone"]
