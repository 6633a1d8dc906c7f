"""Every engine test runs twice: on a SQLite file and on the PostgreSQL of this machine.

PostgreSQL is not optional: if it cannot be reached the PostgreSQL half of the suite
errors (it is never skipped), so CI cannot pass without it.
"""
import os
import shutil
import uuid
from datetime import datetime, timezone
from pathlib import Path

import pytest
from sqlalchemy import create_engine, text

from qihu.engine.clock import ManualClock
from qihu.engine.storage.db import Database
from qihu import appeals
from qihu.appeals import models as _appeal_tables  # noqa: F401 - their tables join Base.metadata
from qihu.engine.storage.models import Base

PG_URL = os.environ.get("QIHU_TEST_PG_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test")
ROOT = Path(__file__).resolve().parent.parent
BPMN = ROOT / "bpmn"
DATA = Path(__file__).resolve().parent / "data"
START = datetime(2026, 11, 2, 1, 0, tzinfo=timezone.utc)   # a Monday, 09:00 in Beijing
CHROMIUM = "/usr/bin/chromium"                             # Debian's; .ci/run installs it
ARTIFACTS = Path(__file__).resolve().parent / "artifacts"  # screenshots (git-ignored)


@pytest.fixture(scope="session")
def sqlite_template(tmp_path_factory):
    path = tmp_path_factory.mktemp("tpl") / "template.sqlite3"
    db = Database(f"sqlite:///{path}")
    db.upgrade()
    db.dispose()
    return path


@pytest.fixture(scope="session")
def pg_schema_url():
    schema = f"qihu_test_{os.getpid()}_{uuid.uuid4().hex[:6]}"
    admin = create_engine(PG_URL)
    try:
        with admin.begin() as c:
            c.execute(text(f'CREATE SCHEMA "{schema}"'))
    except Exception as e:  # noqa: BLE001 - any failure to reach PostgreSQL is a test error
        raise RuntimeError(f"PostgreSQL at {PG_URL} is not reachable: {e}") from e
    sep = "&" if "?" in PG_URL else "?"
    url = f"{PG_URL}{sep}options=-csearch_path%3D{schema}"
    db = Database(url)
    db.upgrade()
    db.dispose()
    yield url
    with admin.begin() as c:
        c.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))
    admin.dispose()


@pytest.fixture(params=["sqlite", "postgresql"])
def db_url(request, tmp_path):
    if request.param == "sqlite":
        path = tmp_path / "qihu.sqlite3"
        shutil.copy(request.getfixturevalue("sqlite_template"), path)
        return f"sqlite:///{path}"
    url = request.getfixturevalue("pg_schema_url")
    eng = create_engine(url)
    tables = ", ".join(f'"{t.name}"' for t in Base.metadata.sorted_tables)
    with eng.begin() as c:
        c.execute(text(f"TRUNCATE {tables} RESTART IDENTITY CASCADE"))
    eng.dispose()
    return url


@pytest.fixture
def clock():
    return ManualClock(START)


@pytest.fixture
def make_engine(db_url, clock):
    """Engines on the test database (several may share it, like several processes)."""
    from qihu.engine import Engine
    from qihu.engine.config import Settings
    made = []

    def make(handlers=None, install_appeals=True, **settings):
        s = Settings(database_url=db_url, handler_retry_backoff=10.0)
        for k, v in settings.items():
            setattr(s, k, v)
        e = Engine(settings=s, handlers=handlers, clock=clock, migrate=False)
        if install_appeals:
            appeals.install(e)     # as the web extension and the CLI compose them
        made.append(e)
        return e
    yield make
    for e in made:
        e.close()


@pytest.fixture
def engine(make_engine):
    return make_engine()


@pytest.fixture
def page():
    assert os.path.exists(CHROMIUM), f"{CHROMIUM} is missing: apt-get install -y chromium (.ci/run does)"
    from playwright.sync_api import sync_playwright
    ARTIFACTS.mkdir(exist_ok=True)
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM,
                                    args=["--no-sandbox", "--disable-background-networking",
                                          "--disable-component-update"])
        try:
            pg = browser.new_page(viewport={"width": 1280, "height": 800}, locale="zh-CN")
            pg.set_default_timeout(15000)
            yield pg
        finally:
            browser.close()
