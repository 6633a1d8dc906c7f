"""The Chinese start page (web/pages/inbox.py): renders, counts, escapes, and mounts under a prefix."""
import re
from pathlib import Path

import pytest
from flask import Flask

from qihu.web import Qihu
from qihu.web.app import create_app

BASIC = Path(__file__).resolve().parents[2] / "bpmn" / "appeal_basic.bpmn"

HOSTILE = """<?xml version="1.0" encoding="UTF-8"?>
<bpmn:definitions xmlns:bpmn="http://www.omg.org/spec/BPMN/20100524/MODEL" id="Defs_x"
    targetNamespace="http://bpmn.io/schema/bpmn">
  <bpmn:process id="hostile" name="诉求&lt;script&gt;alert('x')&lt;/script&gt;" isExecutable="true">
    <bpmn:startEvent id="StartEvent_1" />
    <bpmn:endEvent id="EndEvent_1" />
    <bpmn:sequenceFlow id="F1" sourceRef="StartEvent_1" targetRef="EndEvent_1" />
  </bpmn:process>
</bpmn:definitions>
"""


@pytest.fixture
def client(engine):
    return create_app(engine=engine, config={"TESTING": True, "QIHU_TRUST_USER_HEADER": True}).test_client()


def card(html, label):
    """The number shown on the summary card with this label."""
    m = re.search(r'<span class="qh-num">(\d+)</span><span>' + label, html)
    assert m, label
    return int(m.group(1))


def test_empty_start_page(client):
    r = client.get("/?user=li")          # signed in: anonymous visitors see no counters (tests/web/test_desk.py)
    assert r.status_code == 200
    assert r.content_type == "text/html; charset=utf-8"
    html = r.get_data(as_text=True)
    assert '<html lang="zh-CN">' in html
    assert "还没有部署任何流程" in html
    assert card(html, "运行中的流程实例") == 0 and card(html, "待办任务") == 0 and card(html, "未处理的异常") == 0
    assert 'href="/api/openapi.json"' in html


def test_start_page_lists_definitions_and_counts(client, engine):
    engine.repository.deploy([BASIC])
    engine.tasks.add_member("li", "acceptor")
    first = engine.runtime.start("appeal_basic", business_key="QH-1")
    engine.runtime.start("appeal_basic", business_key="QH-2")
    engine.runtime.cancel(first)
    # an appeal whose routing handler fails (no category): one open incident
    third = engine.runtime.start("appeal_basic", business_key="QH-3")
    [task] = engine.tasks.list(instance_id=third)
    engine.tasks.complete(task["id"], "li", {"summary": "未选类别"})

    html = client.get("/?user=li").get_data(as_text=True)
    assert "已部署的流程" in html and "通用企业诉求办理" in html
    assert "<code>appeal_basic</code>" in html and "<td>v1</td>" in html
    assert card(html, "运行中的流程实例") == 2
    assert card(html, "待办任务") == 1
    assert card(html, "未处理的异常") == 1
    assert "当前用户：li" in html


def test_user_text_is_escaped(client, engine):
    engine.repository.deploy([("hostile.bpmn", HOSTILE)])
    html = client.get("/", headers={"X-Qihu-User": "<b>eve</b>"}).get_data(as_text=True)
    assert "<script>" not in html
    assert "诉求&lt;script&gt;alert(&#39;x&#39;)&lt;/script&gt;" in html
    assert "<b>eve</b>" not in html and "&lt;b&gt;eve&lt;/b&gt;" in html


def test_stylesheet_is_served_locally(client):
    html = client.get("/").get_data(as_text=True)
    assert "http://" not in html and "https://" not in html          # no CDN
    href = re.search(r'<link rel="stylesheet" href="([^"]+)"', html).group(1)
    r = client.get(href)
    assert r.status_code == 200 and r.mimetype == "text/css"
    assert b".qh-table" in r.data
    r.close()


def test_mounted_under_a_prefix_next_to_host_templates(engine, tmp_path):
    # The host has its own index.html: it must not replace qihu's page, nor qihu the host's.
    (tmp_path / "index.html").write_text("host page", encoding="utf-8")
    host = Flask("host", template_folder=str(tmp_path))
    host.config["TESTING"] = True

    @host.get("/")
    def home():
        from flask import render_template
        return render_template("index.html")

    Qihu(host, engine=engine, url_prefix="/qihu")
    engine.repository.deploy([BASIC])
    c = host.test_client()
    assert c.get("/").get_data(as_text=True) == "host page"
    html = c.get("/qihu/").get_data(as_text=True)
    assert 'href="/qihu/appeal"' in html          # anonymous: the way to the portal (no engine counters)
    assert 'href="/qihu/api/openapi.json"' in html
    href = re.search(r'<link rel="stylesheet" href="([^"]+)"', html).group(1)
    assert href.startswith("/qihu/")
    r = c.get(href)
    assert r.status_code == 200
    r.close()


def test_api_only_mount(engine):
    host = Flask("host")
    Qihu(host, engine=engine, url_prefix="/bpm", ui=False)
    c = host.test_client()
    assert c.get("/bpm/").status_code == 404
    assert c.get("/bpm/api/openapi.json").status_code == 200
    assert c.get("/bpm/api/definitions").status_code == 401          # the API needs a signed-in caller
