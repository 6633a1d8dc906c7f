"""找回我的诉求 (appeals/lookup.py): a lost tracking link found again with the 受理编号 and a one-time
code sent by SMS to the contact phone. One test per rule: the code reaches the phone and only
its hash is kept; it opens a new link (the old one stops); it is used once, expires after 10
minutes, allows 5 wrong tries and is replaced by a newer one; codes are limited per number
and per client address; an unknown number is answered as a known one. Both databases.
"""
import re
from datetime import timedelta

import pytest
from sqlalchemy import event, select

from qihu import appeals
from qihu.appeals import lookup as lk
from qihu.appeals.models import LookupCode
from qihu.engine.errors import NotFound
from qihu.engine.storage.models import NoticeSent
from tests.domain.test_portal import BASIC, submit

CLIENT = "203.0.113.7"
SECRET = "lookup-tests"
UNKNOWN = "QH20261102-KKKKKK"


@pytest.fixture
def made(engine):
    engine.repository.deploy([BASIC])
    return submit(engine, contact_phone="13812345678")


def codes_sent(engine):
    with engine.db.read() as s:
        return [(n.recipient, re.search(r"验证码 (\d{6})", n.text).group(1)) for n in
                s.scalars(select(NoticeSent).where(NoticeSent.channel == "sms").order_by(NoticeSent.id))]


def ask(engine, number, client=CLIENT):
    return appeals.of(engine).portal.lookup.request_code(number, client, SECRET)


def verify(engine, number, code, client=CLIENT):
    return appeals.of(engine).portal.lookup.verify(number, code, client)


def test_the_code_goes_to_the_contact_phone_and_only_its_hash_is_kept(engine, made):
    answer = ask(engine, made["tracking_no"])
    assert answer == {"status": "sent", "masked": "138****5678", "minutes": 10}
    [(phone, code)] = codes_sent(engine)
    assert phone == "13812345678"
    with engine.db.read() as s:
        [row] = s.scalars(select(LookupCode)).all()
        assert code not in row.code_hash and row.client == CLIENT and row.tracking_no == made["tracking_no"]
        assert row.expires_at - row.created_at == timedelta(minutes=10)


def test_the_code_opens_a_new_link_and_the_old_one_stops(engine, made):
    portal = appeals.of(engine).portal
    ask(engine, made["tracking_no"])
    [(_, code)] = codes_sent(engine)
    found = verify(engine, made["tracking_no"].lower().replace("-", " "), code)   # typed loosely
    assert found["tracking_no"] == made["tracking_no"] and found["token"] != made["token"]
    assert re.fullmatch(r"[A-Za-z0-9]{43}", found["token"])
    assert portal.by_token(found["token"])["tracking_no"] == made["tracking_no"]
    with pytest.raises(NotFound):
        portal.by_token(made["token"])
    assert verify(engine, made["tracking_no"], code) is None                      # used once


def test_a_code_expires_after_ten_minutes(engine, made, clock):
    ask(engine, made["tracking_no"])
    [(_, code)] = codes_sent(engine)
    clock.advance(minutes=10, seconds=1)
    assert verify(engine, made["tracking_no"], code) is None


def test_five_wrong_tries_spend_the_code(engine, made):
    ask(engine, made["tracking_no"])
    [(_, code)] = codes_sent(engine)
    wrong = f"{(int(code) + 1) % 10 ** 6:06d}"
    for left in (4, 3, 2, 1, 0):
        assert verify(engine, made["tracking_no"], wrong) is None
        assert appeals.of(engine).portal.lookup.attempts_left(made["tracking_no"]) == left
    assert verify(engine, made["tracking_no"], code) is None                      # even the right one now


def test_a_newer_code_replaces_the_older(engine, made):
    ask(engine, made["tracking_no"])
    ask(engine, made["tracking_no"])
    [(_, first), (_, second)] = codes_sent(engine)
    if first != second:
        assert verify(engine, made["tracking_no"], first) is None
    assert verify(engine, made["tracking_no"], second) is not None


def test_codes_are_limited_per_tracking_number(engine, made, clock):
    for i in range(lk.PER_NUMBER):
        assert ask(engine, made["tracking_no"], client=f"198.51.100.{i}")["status"] == "sent"
    limited = ask(engine, made["tracking_no"], client="198.51.100.99")
    assert limited == {"status": "limited", "masked": None, "minutes": 60}
    assert len(codes_sent(engine)) == lk.PER_NUMBER                               # no SMS for the refused one
    clock.advance(minutes=61)
    assert ask(engine, made["tracking_no"])["status"] == "sent"


def test_codes_are_limited_per_client_address(engine, made, clock):
    for i in range(lk.PER_CLIENT):
        assert ask(engine, f"QH20261102-{'3467'[i % 4]}{i:05d}"[:17])["status"] == "sent"
        clock.advance(minutes=1)
    assert ask(engine, made["tracking_no"])["status"] == "limited"
    assert ask(engine, made["tracking_no"], client="198.51.100.1")["status"] == "sent"  # another address may


def test_an_unknown_number_is_answered_as_a_known_one(engine, made):
    known, unknown = ask(engine, made["tracking_no"]), ask(engine, UNKNOWN)
    assert known.keys() == unknown.keys() and unknown["status"] == "sent" and unknown["minutes"] == 10
    assert re.fullmatch(r"1[3-9]\d\*{4}\d{4}", unknown["masked"])
    assert ask(engine, UNKNOWN)["masked"] == unknown["masked"]                    # the same every time
    assert [phone for phone, _ in codes_sent(engine)] == ["13812345678"]         # nothing sent for it
    assert verify(engine, UNKNOWN, "123456") is None
    for _ in range(lk.PER_NUMBER - 2):
        ask(engine, UNKNOWN)
    assert ask(engine, UNKNOWN)["status"] == "limited"                            # limited alike


def test_an_unknown_number_costs_the_same_work(engine, made):
    """The same statements either way (the notice's outbox row aside, delivered after the commit
    and, for an SMS gateway, off the request), so timing does not tell a known number."""
    engine.runtime.deliveries.deliver_now = lambda ids: None
    statements = []
    listener = lambda *a: statements.append(a[2].split()[0])  # noqa: E731
    event.listen(engine.db.engine, "before_cursor_execute", listener)
    try:
        ask(engine, made["tracking_no"])
        known = list(statements)
        statements.clear()
        ask(engine, UNKNOWN)
        unknown = list(statements)
    finally:
        event.remove(engine.db.engine, "before_cursor_execute", listener)
    assert len(known) - len(unknown) == 1 and known.count("INSERT") == unknown.count("INSERT") + 1


@pytest.mark.parametrize("typed", ["qh20261121-7k3f9q", "QH 20261121 7K3F9Q", "ＱＨ２０２６１１２１－７Ｋ３Ｆ９Ｑ",
                                   "QH202611217K3F9Q"])
def test_tracking_numbers_are_read_as_typed(typed):
    assert lk.normalise(typed) == "QH20261121-7K3F9Q"
