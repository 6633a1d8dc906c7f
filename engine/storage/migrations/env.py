"""Alembic environment: runs on the engine's own connection; PostgreSQL takes an advisory
lock so several processes starting together do not migrate at once."""
from alembic import context
from sqlalchemy import text

from qihu.engine.storage.models import Base

config = context.config
target_metadata = Base.metadata


def run_migrations_online():
    engine = config.attributes.get("engine")
    if engine is None:
        from sqlalchemy import create_engine
        engine = create_engine(config.get_main_option("sqlalchemy.url"))
    with engine.connect() as connection:
        if connection.dialect.name == "postgresql":
            connection.execute(text("SELECT pg_advisory_lock(74251)"))
            connection.commit()
        try:
            context.configure(connection=connection, target_metadata=target_metadata,
                              render_as_batch=connection.dialect.name == "sqlite")
            with context.begin_transaction():
                context.run_migrations()
        finally:
            if connection.dialect.name == "postgresql":
                connection.execute(text("SELECT pg_advisory_unlock(74251)"))
                connection.commit()


run_migrations_online()
