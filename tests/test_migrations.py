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
