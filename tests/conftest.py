"""Every engine test runs twice: on a SQLite file and on the PostgreSQL of this machine.

PostgreSQL is not optional: if it cannot be reached the PostgreSQL half of the suite
errors (it is never skipped), so CI cannot pass without it.

The folders mirror the wings: engine/, domain/ (qihu.appeals), mechanisms/ (the bundled
diagrams), web/, cli/ and browser/ (Chromium); the helpers here (scenario, bpmn_util, web_util,
data/) are imported as tests.scenario and so on. `make test-quick` is the SQLite half without
the browser; `make test` is everything.
"""
import os
import shutil
import uuid
from datetime import datetime, timezone
from pathlib import Path

import pytest
from sqlalchemy import create_engine, text

from qihu.engine.clock import ManualClock
from qihu.engine.dialect.parser import parse_bundle as _parse_bundle
from qihu.engine.errors import DeployError
from qihu.engine.identity import accounts as _accounts
from qihu.engine.repository import service as _repository
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
BROWSER_TESTS = Path(__file__).resolve().parent / "browser"


def pytest_collection_modifyitems(config, items):
    """Markers from where a test is and what it runs on (registered in setup.cfg):
    `browser` for tests/browser/ and any test that takes the `page` fixture (Chromium);
    `sqlite` / `postgresql` from the `db_url` parameter. `make test-quick` deselects by them.
    Under pytest-xdist with --dist loadgroup (`make test`), the browser tests form one group:
    one worker runs them one after another while the others run the rest."""
    xdist = config.pluginmanager.hasplugin("xdist")
    for item in items:
        if BROWSER_TESTS in Path(item.path).resolve().parents or "page" in getattr(item, "fixturenames", ()):
            item.add_marker(pytest.mark.browser)
            if xdist:
                item.add_marker(pytest.mark.xdist_group("browser"))
        callspec = getattr(item, "callspec", None)
        if callspec is not None and callspec.params.get("db_url") in ("sqlite", "postgresql"):
            item.add_marker(getattr(pytest.mark, callspec.params["db_url"]))


# -- what is worked out again and again, once per test process --------------------------------
# Two pure computations took most of a run's time, and each is now made once per test process
# (a worker of pytest-xdist, or the one process) and remembered. Nothing a test checks changes:
#
# - werkzeug's scrypt costs about 0.15 s a call, and the tests make some 1,500 accounts and
#   sign-ins. Each password is hashed once, and that real, salted scrypt hash is given to every
#   account with the same password; check_password_hash's answer for a (hash, password) pair
#   is remembered. A test that takes the `real_password_hashing` fixture (the hashing's own
#   tests, tests/engine/test_accounts.py) gets a fresh salt and a full check on every call.
# - parsing a bundle of diagrams (lxml + SpiffWorkflow's parser) costs up to a second, and every
#   test deploys its diagrams, and every new Engine on a database parses them again (the CLI
#   makes one per command). A bundle that parses without a problem is kept by its files'
#   names and bytes; the deploy-time checks (which depend on the engine's handlers) still run
#   on every deploy. A bundle with a problem is parsed afresh every time, so refusals are
#   always the real thing.
_generate_password_hash, _check_password_hash = _accounts.generate_password_hash, _accounts.check_password_hash
_HASHES, _CHECKS, _BUNDLES = {}, {}, {}


def _hash_once(password, *args, **kwargs):
    if args or kwargs or not isinstance(password, str):
        return _generate_password_hash(password, *args, **kwargs)
    if password not in _HASHES:
        _HASHES[password] = _generate_password_hash(password)
    return _HASHES[password]


def _check_once(pwhash, password):
    key = (pwhash, password)
    if key not in _CHECKS:
        _CHECKS[key] = _check_password_hash(pwhash, password)
    return _CHECKS[key]


def _parse_once(resources, check=None):
    """repository's parse_bundle(resources, check), the parse itself made once per bundle."""
    resources = list(resources)
    key = tuple((name, c if isinstance(c, (bytes, str)) else bytes(c)) for name, c in resources)
    bundle = _BUNDLES.get(key)
    if bundle is None:
        try:
            bundle = _parse_bundle(resources)
        except DeployError:
            return _parse_bundle(resources, check=check)
        _BUNDLES[key] = bundle
    if check is not None and (bundle.processes or bundle.dmn):     # as parse_bundle does
        problems = check(bundle)
        if problems:
            raise DeployError(problems)
    return bundle


# The tests make accounts with short passwords ("pw-for-tests") everywhere: they run with a
# relaxed password policy (Settings of make_engine, and the environment for engines made from
# it, e.g. by the CLI). A test that takes `production_password_policy` gets the real defaults.
RELAXED_PASSWORDS = {"password_min_length": 4, "password_min_classes": 1, "password_refuse_common": False}


@pytest.fixture(autouse=True)
def _worked_out_once(request, monkeypatch):
    monkeypatch.setattr(_repository, "parse_bundle", _parse_once)
    if "production_password_policy" not in request.fixturenames:
        for key, value in RELAXED_PASSWORDS.items():
            monkeypatch.setenv(f"QIHU_{key.upper()}", str(int(value)))
    if "real_password_hashing" not in request.fixturenames:
        monkeypatch.setattr(_accounts, "generate_password_hash", _hash_once)
        monkeypatch.setattr(_accounts, "check_password_hash", _check_once)


@pytest.fixture
def production_password_policy():
    """The password policy of a deployment (see RELAXED_PASSWORDS above)."""


@pytest.fixture
def real_password_hashing():
    """werkzeug's hashing on every call (see _worked_out_once above)."""


@pytest.fixture(scope="session")
def sqlite_template(tmp_path_factory):
    path = tmp_path_factory.mktemp("tpl") / "template.sqlite3"
    db = Database(f"sqlite:///{path}")
    db.upgrade()
    db.dispose()
    return path


# Each test process has its own schema. synchronous_commit=off: a commit does not wait for its
# WAL to reach the disk (only a crash of the server could lose a test's last commits); what
# other connections see, and when, is as before.
PG_OPTIONS = "options=-csearch_path%3D{schema}%20-csynchronous_commit%3Doff"
# As TRUNCATE ... RESTART IDENTITY, but a DELETE of a test's few rows takes milliseconds where
# TRUNCATE takes a tenth of a second (it makes new files for every table).
RESTART_SEQUENCES = text("SELECT setval(format('%I', sequence_name)::regclass, start_value::bigint, false) "
                         "FROM information_schema.sequences WHERE sequence_schema = current_schema()")


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
    url = f"{PG_URL}{sep}{PG_OPTIONS.format(schema=schema)}"
    db = Database(url)
    db.upgrade()
    db.dispose()
    yield url
    with admin.begin() as c:
        c.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))
    admin.dispose()


@pytest.fixture(scope="session")
def pg_wipe(pg_schema_url):
    """Empties every table of this process's schema and restarts its sequences."""
    eng = create_engine(pg_schema_url)

    def wipe():
        with eng.begin() as c:
            # the security audit's trigger lets only the retention sweep delete (migration 0012)
            c.execute(text("SET LOCAL qihu.audit_retention = 'on'"))
            for table in reversed(Base.metadata.sorted_tables):
                c.execute(table.delete())
            c.execute(RESTART_SEQUENCES)
    yield wipe
    eng.dispose()


@pytest.fixture(params=["sqlite", "postgresql"])
def db_url(request, tmp_path):
    if request.param == "sqlite":
        path = tmp_path / "qihu.sqlite3"
        shutil.copy(request.getfixturevalue("sqlite_template"), path)
        return f"sqlite:///{path}"
    request.getfixturevalue("pg_wipe")()
    return request.getfixturevalue("pg_schema_url")


@pytest.fixture
def clock():
    return ManualClock(START)


@pytest.fixture
def make_engine(db_url, clock, request):
    """Engines on the test database (several may share it, like several processes)."""
    from qihu.engine import Engine
    from qihu.engine.config import Settings
    made = []

    def make(handlers=None, **settings):
        s = Settings(database_url=db_url, handler_retry_backoff=10.0)
        relaxed = {} if "production_password_policy" in request.fixturenames else RELAXED_PASSWORDS
        for k, v in {**relaxed, **settings}.items():
            setattr(s, k, v)
        e = Engine(settings=s, handlers=handlers, clock=clock, migrate=False)
        appeals.install(e)         # as the web extension and the CLI compose them
        made.append(e)
        return e
    yield make
    for e in made:
        e.close()


@pytest.fixture
def engine(make_engine):
    return make_engine()


@pytest.fixture
def logs():
    """The logs as `qihu serve` with QIHU_LOG_FORMAT=json writes them (telemetry.configure_logging),
    into a string for the test; every logger it touched is put back afterwards."""
    import io
    import logging
    from qihu.engine.config import Settings
    from qihu.engine.runtime import telemetry
    root = logging.getLogger()
    level, handlers = root.level, list(root.handlers)
    touched = [*telemetry.LINE_LOGGERS, *map(logging.getLogger, telemetry.LIBRARY_LOGGERS)]
    levels = {lg: lg.level for lg in touched}
    stream = io.StringIO()
    telemetry.configure_logging(Settings(log_format="json"), stream=stream)
    yield stream
    for h in list(root.handlers):
        if h not in handlers:
            root.removeHandler(h)
    root.setLevel(level)
    for lg, lvl in levels.items():
        lg.setLevel(lvl)


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
