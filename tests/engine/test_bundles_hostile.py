"""Issue 16, finding 5: hostile bundles answer 4xx with a reason and store nothing, through the
engine, the REST API and the 流程管理 page: a zip whose header understates an entry's size, a bad
CRC, a zip bomb by ratio, nested and non-UTF-8 names, something that is not a zip, and an upload
over the app's limit. On SQLite and PostgreSQL."""
import io
import struct
import zipfile
import zlib

import pytest

from qihu.engine.errors import DeployError
from qihu.web.app import create_app

from tests.bpmn_util import bpmn, chain
from tests.web_util import PASSWORD, sign_in, token

FLOW = bpmn("zip_flow", f"""
<bpmn:startEvent id="s" /><bpmn:userTask id="t" name="办理" /><bpmn:endEvent id="e" />
{chain("s", "t", "e")}""")


def zipped(entries, compression=zipfile.ZIP_STORED):
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", compression) as z:
        for name, data in entries:
            z.writestr(name, data)
    return buf.getvalue()


def understated():
    """A stored entry whose headers say it is 10 bytes shorter than it is."""
    raw = bytearray(zipped([("zip_flow.bpmn", FLOW)]))
    size = len(FLOW)
    for sig in (b"PK\x03\x04", b"PK\x01\x02"):
        at = raw.find(sig)
        off = 18 if sig == b"PK\x03\x04" else 20          # compressed size, then uncompressed size
        raw[at + off:at + off + 8] = struct.pack("<II", size - 10, size - 10)
    return bytes(raw)


def bad_crc():
    raw = bytearray(zipped([("zip_flow.bpmn", FLOW)]))
    at = raw.find(FLOW[:40])
    raw[at + 10] ^= 0x01                                   # one bit of the content flipped
    return bytes(raw)


def bomb():
    return zipped([("bomb.bpmn", b"<" + b" " * (20 * 1024 * 1024))], zipfile.ZIP_DEFLATED)


def non_utf8_name():
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as z:
        info = zipfile.ZipInfo("zip_flow.bpmn")
        z.writestr(info, FLOW)
    raw = buf.getvalue().replace(b"zip_flow.bpmn", b"zip_fl\xff\xfe.bpmn")
    return raw


HOSTILE = {
    "understated": understated,
    "bad_crc": bad_crc,
    "bomb": bomb,
    "not_a_zip": lambda: b"PK\x03\x04 this is not a zip at all",
    "truncated": lambda: zipped([("zip_flow.bpmn", FLOW)])[:-30],
    "nested_paths": lambda: zipped([("../../etc/zip_flow.bpmn", FLOW)]),
    "non_utf8_name": non_utf8_name,
}


def stored(engine):
    return [(d["key"], d["version"]) for d in engine.repository.definitions(latest_only=False)]


@pytest.mark.parametrize("kind", sorted(HOSTILE))
def test_hostile_zips_are_refused_by_the_engine_with_a_reason(engine, kind):
    try:
        result = engine.repository.deploy([("bundle.zip", HOSTILE[kind]())])
    except DeployError as e:
        assert "bundle.zip" in str(e) and e.problems[0].file == "bundle.zip", str(e)
        assert stored(engine) == []
        return
    # a zip that reads fine once its names are made safe (nested paths, a cp437 name) may deploy
    assert kind in ("nested_paths", "non_utf8_name"), kind
    assert all(d["key"] == "zip_flow" for d in result.definitions)


@pytest.fixture
def admin(engine):
    engine.accounts.add_user("boss", PASSWORD, is_admin=True)
    app = create_app(engine=engine, config={"TESTING": True})
    c = app.test_client()
    assert sign_in(c, "boss").status_code == 302
    c.csrf = token(c.get("/admin/processes").get_data(as_text=True))
    return c


@pytest.mark.parametrize("kind", sorted(HOSTILE))
def test_hostile_zips_through_the_api_and_the_page_are_4xx(engine, admin, kind):
    content = HOSTILE[kind]()
    r = admin.post("/api/deployments", data={"files": (io.BytesIO(content), "bundle.zip")},
                   headers={"X-CSRFToken": admin.csrf}, content_type="multipart/form-data")
    assert r.status_code < 500 and (r.status_code < 300) == (kind in ("nested_paths", "non_utf8_name")), \
        (r.status_code, r.get_data(as_text=True)[:300])
    r = admin.post("/admin/deploy", data={"files": (io.BytesIO(content), "bundle.zip"), "csrf_token": admin.csrf},
                   content_type="multipart/form-data")
    assert r.status_code < 500, r.get_data(as_text=True)[-500:]


def test_an_upload_over_the_limit_is_a_413_in_chinese_naming_the_limit(engine, admin):
    big = b"<" + b" " * (20 * 1024 * 1024)
    r = admin.post("/api/deployments", data={"files": (io.BytesIO(big), "big.bpmn")},
                   headers={"X-CSRFToken": admin.csrf}, content_type="multipart/form-data")
    assert r.status_code == 413 and "16 MB" in r.get_json()["error"] and "上限" in r.get_json()["error"]
    r = admin.post("/admin/deploy", data={"files": (io.BytesIO(big), "big.bpmn"), "csrf_token": admin.csrf},
                   content_type="multipart/form-data")
    assert r.status_code == 413 and "16 MB" in r.get_data(as_text=True)
    assert stored(engine) == []
