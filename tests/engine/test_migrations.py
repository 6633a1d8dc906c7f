"""The Alembic migrations and the ORM models describe the same schema, on both databases."""
import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext

from qihu.engine.storage.db import Database
from qihu.engine.storage.models import Base


# The search's PostgreSQL-only indexes (migration 0014) are declared as expressions; SQLite
# cannot reflect such indexes, and Alembic says so once per index. They are compared on PostgreSQL.
@pytest.mark.filterwarnings("ignore:autogenerate skipping metadata-specified expression-based index")
def test_migrations_match_models(db_url):
    db = Database(db_url)
    try:
        with db.engine.connect() as conn:
            ctx = MigrationContext.configure(conn, opts={"compare_type": False})
            diff = compare_metadata(ctx, Base.metadata)
        assert diff == [], diff
    finally:
        db.dispose()


def test_upgrade_is_idempotent(db_url):
    db = Database(db_url)
    try:
        db.upgrade()
        db.upgrade()
    finally:
        db.dispose()


def test_0003_adds_user_accounts_and_downgrades(db_url):
    from alembic import command
    from sqlalchemy import inspect
    from qihu.engine.storage.migrate import alembic_config
    db = Database(db_url)
    try:
        cfg = alembic_config(db)
        assert "user_account" in inspect(db.engine).get_table_names()
        cols = {c["name"] for c in inspect(db.engine).get_columns("user_account")}
        assert cols == {"name", "display_name", "password_hash", "is_active", "is_admin", "created_at", "region",
                        "session_version", "password_changed_at", "locked_until"}
        command.downgrade(cfg, "0002")
        assert "user_account" not in inspect(db.engine).get_table_names()
        command.upgrade(cfg, "head")
        assert "user_account" in inspect(db.engine).get_table_names()
    finally:
        db.dispose()


def test_0007_and_0008_go_down_and_up_under_running_instances(engine, db_url):
    """Regions and figures are added to (and removed from) a database that holds instances:
    no table referenced by their foreign keys is copied and dropped on the way."""
    from alembic import command
    from sqlalchemy import inspect
    from qihu.engine.storage.migrate import alembic_config
    from tests.conftest import BPMN
    engine.repository.deploy([BPMN / "appeal_basic.bpmn"], user="admin", region="湖州市")
    iid = engine.runtime.start("appeal_basic", {}, user="admin")
    db = Database(db_url)
    try:
        cfg = alembic_config(db)
        command.downgrade(cfg, "0006")
        assert "region" not in {c["name"] for c in inspect(db.engine).get_columns("definition")}
        command.upgrade(cfg, "head")
        assert "region" in {c["name"] for c in inspect(db.engine).get_columns("definition")}
    finally:
        db.dispose()
    assert engine.runtime.get(iid)["status"] == "running"
