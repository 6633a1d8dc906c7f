"""找回我的诉求: an enterprise that lost its tracking link gets back in with its 受理编号 and a
one-time code sent by SMS to the appeal's contact phone.

    request_code(number, client, secret)  -> {"status": "sent"|"limited", "masked", "minutes"}
    verify(number, code, client)           -> {"tracking_no", "token"}: a new private link

Rules, each tested (tests/domain/test_portal_lookup.py):
- a code is 6 digits, kept only as a hash (table lookup_code), valid CODE_MINUTES, used once,
  and allows MAX_ATTEMPTS wrong entries; a newer code replaces the older ones;
- at most PER_NUMBER codes per tracking number and PER_CLIENT per client address within
  WINDOW_MINUTES; beyond, "limited" with the minutes to wait;
- no enumeration: an unknown number gets the same answer as a known one (a row is written,
  the limits count it, a masked phone is shown that is derived from the number by a keyed
  hash, the same every time) and the same work is done, only no SMS goes out; a wrong code
  and an unknown number fail alike;
- the code opens a new private link: the ticket's token is replaced (only hashes are stored,
  the old token cannot be shown again), so the old link stops working.
"""
from __future__ import annotations

import hashlib
import hmac
import re
import secrets
import unicodedata
from datetime import timedelta

from sqlalchemy import func, select, update

from qihu.appeals.models import AppealTicket, LookupCode
from qihu.appeals.tokens import mask_phone, new_token, token_hash

CODE_MINUTES = 10
MAX_ATTEMPTS = 5
WINDOW_MINUTES = 60
PER_NUMBER = 3
PER_CLIENT = 10
NUMBER_RE = re.compile(r"QH\d{8}-[0-9A-Z]{6}")
SMS_TEXT = "【企业诉求服务平台】您正在找回诉求 {tracking_no} 的查询链接，验证码 {code}，{minutes}分钟内有效。如非本人操作，请忽略。"


def normalise(number: str) -> str:
    """A tracking number as typed ("qh 20261121 7k3f9q", full-width, spaces, dashes) in its
    canonical form QH20261121-7K3F9Q; what cannot be one is returned cleaned, and matches nothing."""
    text = re.sub(r"[\s\-_—–·.]", "", unicodedata.normalize("NFKC", str(number or ""))).upper()[:40]
    if re.fullmatch(r"QH\d{8}[0-9A-Z]{6}", text):
        return f"{text[:10]}-{text[10:]}"
    return text


def _code_hash(number: str, code: str) -> str:
    return hashlib.sha256(f"{number}:{code}".encode()).hexdigest()


def _client(client: str | None) -> str:
    return str(client or "")[:64]


class Lookup:
    """Codes to find an appeal again (see the module doc)."""

    def __init__(self, portal):
        self.portal = portal
        self.engine = portal.engine

    def request_code(self, number: str, client: str | None, secret: bytes | str) -> dict:
        """Send a code to the ticket's phone: {"status": "sent", "masked": "138****5678",
        "minutes": CODE_MINUTES} or {"status": "limited", "masked": None, "minutes": to wait}.
        `secret` keys the masked phone shown for a number that does not exist."""
        number, client = normalise(number), _client(client)
        now = self.engine.clock.now()
        since = now - timedelta(minutes=WINDOW_MINUTES)
        code = f"{secrets.randbelow(10 ** 6):06d}"
        with self.engine.db.write() as s:
            ticket = s.scalars(select(AppealTicket).where(AppealTicket.tracking_no == number)).first()
            by_number = s.scalars(select(LookupCode.created_at).where(LookupCode.tracking_no == number,
                                                                       LookupCode.created_at >= since)
                                  .order_by(LookupCode.created_at)).all()
            by_client = s.scalars(select(LookupCode.created_at).where(LookupCode.client == client,
                                                                       LookupCode.created_at >= since)
                                  .order_by(LookupCode.created_at)).all()
            # the moment a slot frees: the window passes the oldest of the last `limit` codes
            frees = [rows[-limit] + timedelta(minutes=WINDOW_MINUTES)
                     for rows, limit in ((by_number, PER_NUMBER), (by_client, PER_CLIENT)) if len(rows) >= limit]
            if frees:
                wait = (max(frees) - now).total_seconds()
                return {"status": "limited", "masked": None, "minutes": max(1, -(-int(wait) // 60))}
            # earlier codes of this number stop working: only the newest counts
            s.execute(update(LookupCode).where(LookupCode.tracking_no == number, LookupCode.used_at.is_(None))
                      .values(used_at=now))
            row = LookupCode(tracking_no=number, code_hash=_code_hash(number, code), client=client, created_at=now,
                             expires_at=now + timedelta(minutes=CODE_MINUTES), attempts=0)
            s.add(row)
            s.flush()
            if ticket is not None:
                masked = mask_phone(ticket.contact_phone)
                self.engine.runtime.notice(s, channel="sms", to=ticket.contact_phone,
                                           text=SMS_TEXT.format(tracking_no=number, code=code, minutes=CODE_MINUTES),
                                           business_id=f"lookup-code:{row.id}", instance_id=ticket.instance_id)
            else:
                masked = self._decoy(number, secret)
        return {"status": "sent", "masked": masked, "minutes": CODE_MINUTES}

    @staticmethod
    def _decoy(number: str, secret: bytes | str) -> str:
        """A masked mobile number for a tracking number that does not exist, the same each time."""
        key = secret.encode() if isinstance(secret, str) else bytes(secret or b"")
        digits = str(int(hmac.new(key, number.encode(), hashlib.sha256).hexdigest(), 16))
        return f"1{'3456789'[int(digits[0]) % 7]}{digits[1]}****{digits[2:6]}"

    def verify(self, number: str, code: str, client: str | None) -> dict | None:
        """The new private link's token when `code` is the number's live code: {"tracking_no",
        "token", "instance_id"}; None otherwise (a wrong, used or expired code, too many tries,
        or an unknown number: all alike)."""
        number = normalise(number)
        code = re.sub(r"\s", "", unicodedata.normalize("NFKC", str(code or "")))
        now = self.engine.clock.now()
        with self.engine.db.write() as s:
            row = s.scalars(select(LookupCode).where(LookupCode.tracking_no == number, LookupCode.used_at.is_(None),
                                                     LookupCode.expires_at > now)
                            .order_by(LookupCode.created_at.desc(), LookupCode.id.desc()).limit(1)).first()
            if row is None or row.attempts >= MAX_ATTEMPTS:
                return None
            if not (re.fullmatch(r"\d{6}", code) and hmac.compare_digest(row.code_hash, _code_hash(number, code))):
                row.attempts += 1
                if row.attempts >= MAX_ATTEMPTS:
                    row.used_at = now                        # spent: ask for a new code
                return None
            row.used_at = now
            ticket = s.scalars(select(AppealTicket).where(AppealTicket.tracking_no == number)).first()
            if ticket is None:
                return None                                  # a decoy's code (cannot be known): nothing
            token = new_token()
            ticket.token_hash = token_hash(token)
            return {"tracking_no": number, "token": token, "instance_id": ticket.instance_id}

    def attempts_left(self, number: str) -> int:
        """Wrong entries the number's live code still allows (0 without one)."""
        number, now = normalise(number), self.engine.clock.now()
        with self.engine.db.read() as s:
            used = s.scalar(select(func.max(LookupCode.attempts)).where(
                LookupCode.tracking_no == number, LookupCode.used_at.is_(None), LookupCode.expires_at > now))
        return 0 if used is None else MAX_ATTEMPTS - used


__all__ = ["Lookup", "normalise", "CODE_MINUTES", "MAX_ATTEMPTS", "PER_NUMBER", "PER_CLIENT", "WINDOW_MINUTES"]
