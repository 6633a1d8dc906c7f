"""The pages of issue 15's "way back in": 登记诉求 (web/pages/register.py) for staff, the tracking
page as the success page (language switch and refresh keep it), and 找回我的诉求 (/appeal/find).
Both databases.
"""
import re
from pathlib import Path

import pytest
from sqlalchemy import func, select

from qihu.appeals.models import AppealTicket
from qihu.engine.storage.models import NoticeSent
from qihu.web.app import create_app
from tests.domain.test_portal import GOOD, form_post
from tests.web_util import PASSWORD, sign_in, token as csrf_of

BPMN = Path(__file__).resolve().parents[2] / "bpmn"
PHONE_APPEAL = {"company": "湖州某新材料有限公司", "credit_code": "91330100799655058B", "contact_name": "张经理",
                "contact_phone": "13812345678", "category": "policy", "summary": "新厂房用地指标迟迟未落实，影响投产",
                "channel": "电话"}


@pytest.fixture
def app(engine):
    for f in ("appeal_basic.bpmn", "qiantang_target_tracking.bpmn", "lucheng_mock_accountability.bpmn"):
        engine.repository.deploy([BPMN / f])
    # a clerk who registers for three mechanisms (each names its starters: acceptor, qt_centre, lc_centre)
    engine.accounts.add_user("li", PASSWORD, display_name="李受理", groups=["acceptor", "qt_centre", "lc_centre"])
    engine.accounts.add_user("wu", PASSWORD, display_name="吴受理", groups=["acceptor"])
    return create_app(engine=engine, config={"SECRET_KEY": "register-tests"})


def staff(app, name="li"):
    client = app.test_client()
    sign_in(client, name)
    return client


def post_register(client, data, key="appeal_basic"):
    page = client.get(f"/register?d={key}").get_data(as_text=True)
    return client.post("/register", data={"definition": key, **data, "csrf_token": csrf_of(page)},
                       content_type="multipart/form-data")


def sms(engine):
    with engine.db.read() as s:
        return [n.text for n in s.scalars(select(NoticeSent).where(NoticeSent.channel == "sms").order_by(NoticeSent.id))]


def tickets(engine):
    with engine.db.read() as s:
        return s.scalar(select(func.count()).select_from(AppealTicket))


def test_the_form_offers_the_processes_channels_and_start_fields(app):
    client = staff(app)
    html = client.get("/register").get_data(as_text=True)
    assert "登记诉求" in html and "通用企业诉求办理" in html and "钱塘" in html and "鹿城" in html
    for channel in ("电话", "窗口", "企业码", "恳谈会", "观察员", "来信", "其他"):
        assert f'<option value="{channel}"' in html
    lucheng = client.get("/register?d=lucheng_mock_accountability").get_data(as_text=True)
    assert 'name="start-observation_point"' in lucheng and 'name="start-observer"' in lucheng
    assert app.test_client().get("/register").status_code == 302                   # sign in first
    other = staff(app, "wu").get("/register").get_data(as_text=True)                # only what one may start
    assert "通用企业诉求办理" in other and "钱塘" not in other and "鹿城" not in other


def test_errors_in_chinese_next_to_each_field_and_nothing_written(app, engine):
    client = staff(app)
    r = post_register(client, {**PHONE_APPEAL, "contact_phone": "12345", "channel": "",
                               "start-observation_point": ""}, key="lucheng_mock_accountability")
    html = r.get_data(as_text=True)
    assert r.status_code == 422 and tickets(engine) == 0
    for field in ("contact_phone", "channel", "start-observation_point", "start-observer"):
        err = re.search(rf'id="{field}-err">([^<]+)<', html)
        assert err and re.search(r"[\u4e00-\u9fff]", err.group(1)) and "(" not in err.group(1), field
    assert 'value="湖州某新材料有限公司"' in html                                  # nothing typed is lost
    english = post_register(client, {**PHONE_APPEAL, "contact_phone": "12345"}, key="appeal_basic")
    assert english.status_code == 422
    client.get("/register?lang=en")
    html = post_register(client, {**PHONE_APPEAL, "contact_phone": "12345"}).get_data(as_text=True)
    assert "a mainland mobile or landline number" in html


def test_registering_shows_the_number_not_the_link_and_texts_the_link(app, engine):
    client = staff(app)
    r = post_register(client, PHONE_APPEAL)
    assert r.status_code == 302
    html = client.get(r.headers["Location"]).get_data(as_text=True)
    number = re.search(r'id="registered-no"[^>]*>(QH\d{8}-[0-9A-Z]{6})<', html).group(1)
    assert "138****5678" in html and "/track/" not in html                       # the clerk never sees the link
    [text] = sms(engine)
    path = re.search(r"http://localhost(/track/[A-Za-z0-9]{43})", text).group(1)
    assert number in text
    page = app.test_client().get(path).get_data(as_text=True)                    # the enterprise opens it
    assert number in page and "诉求登记（电话）" in page and "新厂房用地指标迟迟未落实" in page


def test_the_success_page_survives_the_language_switch_and_a_refresh(app):
    client = app.test_client()
    r = form_post(client, GOOD)
    success = r.headers["Location"]
    first = client.get(success).get_data(as_text=True)
    link = re.search(r'value="(http://localhost/track/[A-Za-z0-9]{43})"', first).group(1)
    assert "诉求已提交" in first
    english_url = re.search(r'href="([^"]*lang=en[^"]*)"', first).group(1).replace("&amp;", "&")
    english = client.get(english_url).get_data(as_text=True)
    assert link in english and "Keep the tracking link" in english and "Find my appeal" in english
    again = client.get(english_url).get_data(as_text=True)                          # a refresh
    assert link in again
    assert "_" not in link.rsplit("/", 1)[1] and "-" not in link.rsplit("/", 1)[1]   # nothing read as a space


def test_finding_an_appeal_by_number_and_code(app, engine):
    client = app.test_client()
    r = form_post(client, GOOD)
    number = re.search(r'data-copy="(QH[0-9A-Z-]+)"', client.get(r.headers["Location"]).get_data(as_text=True)).group(1)
    old_path = r.headers["Location"].split("?")[0]
    page = client.get("/appeal/find").get_data(as_text=True)
    r = client.post("/appeal/find", data={"number": number.lower(), "csrf_token": csrf_of(page)})
    assert r.status_code == 302 and r.headers["Location"].endswith("/appeal/find/code")
    page = client.get("/appeal/find/code").get_data(as_text=True)
    assert "138****5678" in page
    code = re.search(r"验证码 (\d{6})", sms(engine)[-1]).group(1)
    wrong = client.post("/appeal/find/code", data={"code": f"{(int(code) + 1) % 10 ** 6:06d}",
                                                    "csrf_token": csrf_of(page)})
    assert wrong.status_code == 422 and "还可再试 4 次" in wrong.get_data(as_text=True)
    r = client.post("/appeal/find/code", data={"code": code, "csrf_token": csrf_of(page)})
    assert r.status_code == 302 and r.headers["Location"].endswith("?new=found")
    html = client.get(r.headers["Location"]).get_data(as_text=True)
    assert "已找回您的诉求" in html and number in html
    assert client.get(old_path).status_code == 404                                   # the lost link is revoked


def test_an_unknown_number_gets_the_same_pages(app, engine):
    client = app.test_client()
    page = client.get("/appeal/find").get_data(as_text=True)
    r = client.post("/appeal/find", data={"number": "QH20261102-KKKKKK", "csrf_token": csrf_of(page)})
    assert r.status_code == 302 and r.headers["Location"].endswith("/appeal/find/code")
    html = client.get("/appeal/find/code").get_data(as_text=True)
    assert re.search(r"1[3-9]\d\*{4}\d{4}", html) and sms(engine) == []
    bad = client.post("/appeal/find/code", data={"code": "123456", "csrf_token": csrf_of(html)})
    assert bad.status_code == 422 and "验证码不正确或已过期" in bad.get_data(as_text=True)


def test_too_many_codes_is_a_clear_answer(app):
    client = app.test_client()
    page = client.get("/appeal/find").get_data(as_text=True)
    for _ in range(3):
        client.post("/appeal/find", data={"number": "QH20261102-KKKKKK", "csrf_token": csrf_of(page)})
    r = client.post("/appeal/find", data={"number": "QH20261102-KKKKKK", "csrf_token": csrf_of(page)})
    assert r.status_code == 429 and "获取验证码过于频繁" in r.get_data(as_text=True)
