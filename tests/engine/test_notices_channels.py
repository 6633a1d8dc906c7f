"""Issue 15: the notice channels for real, against local servers (an HTTP gateway, an SMTP
stub), and 浙政钉's published limits (the same content once a day, 100 a day per user, 1000
receivers a call), held-back notices recorded, never dropped."""
import base64
import hashlib
import hmac
import json
import socketserver
import threading
import time
import urllib.parse
from email import message_from_bytes
from email.header import decode_header, make_header
from http.server import BaseHTTPRequestHandler, HTTPServer

import pytest
from sqlalchemy import func, select

from qihu.engine.config import Settings
from qihu.engine.runtime.channels import ChannelError, Notice, Registry
from qihu.engine.runtime.channels.dingtalk import DingTalkAdapter
from qihu.engine.runtime.channels.mail import EmailAdapter
from qihu.engine.runtime.channels.sms import SmsAdapter
from qihu.engine.runtime.channels.wecom import WeComAdapter
from qihu.engine.storage.models import NoticeSent, Outbox


class Gateway:
    """A local HTTP server: records each request; `answer(path, body)` -> (status, json)."""

    def __init__(self, answer):
        self.requests = []
        gw = self

        class Handler(BaseHTTPRequestHandler):
            def _serve(self):
                n = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(n) if n else b""
                gw.requests.append((self.command, self.path, self.headers, body))
                status, out = answer(self.path, body)
                raw = json.dumps(out).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(raw)))
                self.end_headers()
                self.wfile.write(raw)
            do_GET = do_POST = _serve

            def log_message(self, *args):
                pass
        self.server = HTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_port}"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def close(self):
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def gateway():
    made = []

    def make(answer=lambda path, body: (200, {"ok": True})):
        g = Gateway(answer)
        made.append(g)
        return g
    yield make
    for g in made:
        g.close()


def notice(to="13800000000", text="您的诉求已受理，受理编号 HZ-2026-0001", bid="HZ-1:accepted", title=None):
    return Notice(channel="x", to=to, text=text, business_id=bid, title=title)


# -- SMS -------------------------------------------------------------------------------------
def test_sms_posts_phone_text_and_business_id_with_the_key_in_a_header(gateway):
    g = gateway()
    SmsAdapter(g.url + "/sms/send", "s3cret").send([notice()])
    [(method, path, headers, body)] = g.requests
    assert method == "POST" and path == "/sms/send" and headers["X-Api-Key"] == "s3cret"
    assert json.loads(body) == {"phone": "13800000000", "text": "您的诉求已受理，受理编号 HZ-2026-0001",
                                "business_id": "HZ-1:accepted"}


@pytest.mark.parametrize("answer, why", [((500, {"error": "down"}), "HTTP 500"),
                                         ((200, {"ok": False, "error": "号码无效"}), "号码无效")])
def test_sms_gateway_refusals_are_errors(gateway, answer, why):
    g = gateway(lambda path, body: answer)
    with pytest.raises(ChannelError, match=why):
        SmsAdapter(g.url, "k").send([notice()])


def test_sms_unreachable_is_an_error():
    with pytest.raises(ChannelError, match="cannot reach"):
        SmsAdapter("http://127.0.0.1:9/", "k", timeout=2).send([notice()])


def test_sms_configured_through_settings_delivers_through_the_outbox(make_engine, gateway):
    g = gateway()
    e = make_engine(notice_adapters={"sms": "sms"}, sms_url=g.url + "/send", sms_key="k1")
    e.runtime.send_notice(channel="sms", to="13900000000", text="已答复", business_id="HZ-3:reply")
    for _ in range(600):            # an outside gateway is called off the request's thread
        with e.db.read() as s:
            if s.scalars(select(NoticeSent)).first():
                break
        time.sleep(0.05)
    assert [json.loads(r[3])["phone"] for r in g.requests] == ["13900000000"]
    assert g.requests[0][2]["X-Api-Key"] == "k1"


def test_settings_from_env_name_the_adapters_and_gateways():
    s = Settings.from_env({"QIHU_NOTICE_ADAPTERS": "sms=sms, dingtalk=log", "QIHU_SMS_URL": "http://gw/sms",
                           "QIHU_SMS_KEY": "k", "QIHU_SMTP_PORT": "2525", "QIHU_SMTP_STARTTLS": "1"})
    assert s.notice_adapters == {"sms": "sms", "dingtalk": "log"} and s.sms_url == "http://gw/sms"
    assert s.sms_key == "k" and s.smtp_port == 2525 and s.smtp_starttls
    assert isinstance(Registry(s).get("sms"), SmsAdapter)
    assert Registry(s).get("wecom").name == "log"            # not named: the log
    with pytest.raises(ValueError, match="QIHU_NOTICE_ADAPTERS"):
        Settings.from_env({"QIHU_NOTICE_ADAPTERS": "sms"})
    with pytest.raises(ChannelError, match="QIHU_SMS_URL"):
        Registry(Settings(notice_adapters={"sms": "sms"})).get("sms")


# -- 浙政钉 ------------------------------------------------------------------------------------
def test_dingtalk_sends_a_signed_work_notice_to_at_most_1000_receivers_a_call(gateway):
    g = gateway(lambda path, body: (200, {"success": True, "content": {"msgId": "m1"}}))
    adapter = DingTalkAdapter(g.url, "app-key", "app-secret", "196729")
    staff = [notice(to=f"u{i}", text="督办：请于12月18日前办结", bid="HZ-1:supervise:1", title="督办提醒")
             for i in range(1500)]
    adapter.send(staff[:1000])
    adapter.send(staff[1000:])
    assert [len(urllib.parse.parse_qs(r[3].decode())["receiverIds"][0].split(",")) for r in g.requests] == [1000, 500]
    method, path, headers, body = g.requests[0]
    form = {k: v[0] for k, v in urllib.parse.parse_qs(body.decode()).items()}
    assert path == "/message/workNotification" and form["tenantId"] == "196729"
    assert form["bizMsgId"] == "HZ-1:supervise:1"
    assert json.loads(form["msg"])["oa"]["body"]["content"] == "督办：请于12月18日前办结"
    # the signature is the app secret's HMAC over method, time, nonce, path and the parameters
    text = "\n".join(["POST", headers["X-Hmac-Auth-Timestamp"], headers["X-Hmac-Auth-Nonce"], path,
                      "&".join(f"{k}={form[k]}" for k in sorted(form))])
    expected = base64.b64encode(hmac.new(b"app-secret", text.encode(), hashlib.sha256).digest()).decode()
    assert headers["apiKey"] == "app-key" and headers["X-Hmac-Auth-Signature"] == expected


def test_dingtalk_refusal_is_an_error(gateway):
    g = gateway(lambda path, body: (200, {"success": False, "errorMsg": "应用无权限"}))
    with pytest.raises(ChannelError, match="应用无权限"):
        DingTalkAdapter(g.url, "k", "s", "1").send([notice()])


def test_the_outbox_calls_dingtalk_with_at_most_1000_receivers(make_engine, gateway):
    g = gateway(lambda path, body: (200, {"success": True}))
    e = make_engine()
    e.runtime.deliveries.channels.register("dingtalk", DingTalkAdapter(g.url, "k", "s", "1"))
    with e.db.write() as s:
        for i in range(1001):
            e.runtime.notice(s, channel="dingtalk", to=f"u{i}", text="督办", business_id="HZ-9:supervise")
    for _ in range(600):          # off the request's thread; done once its rows have left the outbox
        # (a thread still deleting them after the test would act on the next test's database)
        if len(g.requests) == 2 and len(_held(e)) == 1001 and _outbox_left(e) == 0:
            break
        time.sleep(0.05)
    assert sorted(len(urllib.parse.parse_qs(r[3].decode())["receiverIds"][0].split(",")) for r in g.requests) == [1, 1000]


def _outbox_left(e):
    with e.db.read() as s:
        return s.scalar(select(func.count()).select_from(Outbox))


def _held(e):
    with e.db.read() as s:
        return [(r.recipient, r.business_id, r.status) for r in s.scalars(select(NoticeSent).order_by(NoticeSent.id))]


def test_dingtalk_the_same_content_once_a_day_per_user_recorded_not_dropped(engine):
    rt = engine.runtime
    rt.send_notice(channel="dingtalk", to="zhang", text="您有 1 件待办", business_id="a")
    rt.send_notice(channel="dingtalk", to="zhang", text="您有 1 件待办", business_id="b")   # same content
    rt.send_notice(channel="dingtalk", to="li", text="您有 1 件待办", business_id="b")      # another user
    rt.send_notice(channel="dingtalk", to="zhang", text="您有 2 件待办", business_id="c")   # other content
    engine.clock.advance(days=1)
    rt.send_notice(channel="dingtalk", to="zhang", text="您有 1 件待办", business_id="d")   # the next day
    assert _held(engine) == [("zhang", "a", "sent"), ("zhang", "b", "same_today"), ("li", "b", "sent"),
                             ("zhang", "c", "sent"), ("zhang", "d", "sent")]


def test_dingtalk_at_most_100_a_day_per_user(engine):
    with engine.db.write() as s:
        for i in range(101):
            engine.runtime.notice(s, channel="dingtalk", to="zhang", text=f"第 {i} 件", business_id=f"n{i}")
    statuses = [r[2] for r in _held(engine)]
    assert statuses.count("sent") == 100 and statuses[-1] == "over_limit"
    engine.runtime.send_notice(channel="dingtalk", to="wang", text="第 0 件", business_id="n0")
    assert _held(engine)[-1] == ("wang", "n0", "sent")


# -- 企业微信 ---------------------------------------------------------------------------------
def test_wecom_gets_a_token_then_sends_an_app_message_and_renews_an_expired_token(gateway):
    tokens = iter(["t1", "t2"])
    sends = []

    def answer(path, body):
        if path.startswith("/cgi-bin/gettoken"):
            return 200, {"errcode": 0, "access_token": next(tokens), "expires_in": 7200}
        sends.append((path, json.loads(body)))
        return 200, ({"errcode": 42001, "errmsg": "access_token expired"} if len(sends) == 2 else {"errcode": 0})
    g = gateway(answer)
    adapter = WeComAdapter(g.url, "corp1", "sec", "1000002")
    adapter.send([notice(to="zhangsan", title="待评价"), notice(to="lisi", title="待评价")])
    adapter.send([notice(to="zhangsan", text="第二条")])
    assert [p for p, _ in sends] == ["/cgi-bin/message/send?access_token=t1", "/cgi-bin/message/send?access_token=t1",
                                     "/cgi-bin/message/send?access_token=t2"]
    first = sends[0][1]
    assert first["touser"] == "zhangsan|lisi" and first["agentid"] == "1000002" and first["msgtype"] == "text"
    assert first["text"]["content"].startswith("待评价\n") and first["enable_duplicate_check"] == 1
    assert "corpid=corp1" in g.requests[0][1]


def test_wecom_refusal_is_an_error(gateway):
    g = gateway(lambda path, body: (200, {"errcode": 0, "access_token": "t"} if "gettoken" in path
                                    else {"errcode": 81013, "errmsg": "user invalid"}))
    with pytest.raises(ChannelError, match="81013"):
        WeComAdapter(g.url, "c", "s", "1").send([notice()])


# -- e-mail ----------------------------------------------------------------------------------
class SmtpStub(socketserver.ThreadingTCPServer):
    """Just enough SMTP to take messages: remembers (from, [to], message bytes)."""
    allow_reuse_address = True
    daemon_threads = True

    def __init__(self, refuse_rcpt=False):
        self.messages, self.refuse_rcpt = [], refuse_rcpt
        super().__init__(("127.0.0.1", 0), _SmtpSession)


class _SmtpSession(socketserver.StreamRequestHandler):
    def handle(self):
        say = lambda line: self.wfile.write(line.encode() + b"\r\n")   # noqa: E731
        say("220 stub ESMTP")
        sender, rcpts = None, []
        while line := self.rfile.readline():
            cmd = line.decode().strip()
            verb = cmd.split(" ", 1)[0].split(":", 1)[0].upper()
            if verb in ("EHLO", "HELO"):
                say("250 stub")
            elif verb == "MAIL":
                sender, rcpts = cmd.split(":", 1)[1].strip(), []
                say("250 ok")
            elif verb == "RCPT":
                if self.server.refuse_rcpt:
                    say("550 no such user")
                else:
                    rcpts.append(cmd.split(":", 1)[1].strip())
                    say("250 ok")
            elif verb == "DATA":
                say("354 go on")
                data = b""
                while (chunk := self.rfile.readline()) not in (b".\r\n", b""):
                    data += chunk
                self.server.messages.append((sender, rcpts, data))
                say("250 queued")
            elif verb == "QUIT":
                say("221 bye")
                return
            else:
                say("250 ok")


@pytest.fixture
def smtp():
    made = []

    def make(**kw):
        server = SmtpStub(**kw)
        threading.Thread(target=server.serve_forever, daemon=True).start()
        made.append(server)
        return server
    yield make
    for server in made:
        server.shutdown()
        server.server_close()


def test_email_is_sent_through_the_smtp_server(smtp):
    server = smtp()
    EmailAdapter("127.0.0.1", server.server_address[1], "qihu@example.gov.cn").send(
        [notice(to="boss@company.cn", title="诉求已答复", text="您的诉求 HZ-2026-0001 已答复，请评价。")])
    [(sender, rcpts, data)] = server.messages
    assert sender == "<qihu@example.gov.cn>" and rcpts == ["<boss@company.cn>"]
    m = message_from_bytes(data)
    assert str(make_header(decode_header(m["Subject"]))) == "诉求已答复"
    assert m["X-Qihu-Business-Id"] == "HZ-1:accepted"
    assert "HZ-2026-0001 已答复" in m.get_payload(decode=True).decode("utf-8")


def test_email_refused_is_an_error(smtp):
    server = smtp(refuse_rcpt=True)
    with pytest.raises(ChannelError, match="mail server"):
        EmailAdapter("127.0.0.1", server.server_address[1], "qihu@example.gov.cn").send([notice(to="x@y.cn")])
