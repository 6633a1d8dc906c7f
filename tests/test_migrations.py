"""The Alembic migrations and the ORM models describe the same schema, on both databases."""
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext

from engine.db import Database
from engine.models import Base


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
    from engine.migrate import alembic_config
    db = Database(db_url)
    try:
        cfg = alembic_config(db)
        assert "user_account" in inspect(db.engine).get_table_names()
        cols = {c["name"] for c in inspect(db.engine).get_columns("user_account")}
        assert cols == {"name", "display_name", "password_hash", "is_active", "is_admin", "created_at"}
        command.downgrade(cfg, "0002")
        assert "user_account" not in inspect(db.engine).get_table_names()
        command.upgrade(cfg, "head")
        assert "user_account" in inspect(db.engine).get_table_names()
    finally:
        db.dispose()
