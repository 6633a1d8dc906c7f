"""Alembic, driven from code: no alembic.ini needed, the same for CLI, web, worker and tests."""
from pathlib import Path

from alembic import command
from alembic.config import Config

MIGRATIONS = Path(__file__).parent / "migrations"


def _scripts_config():
    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS))
    return cfg


def alembic_config(db):
    cfg = _scripts_config()
    cfg.set_main_option("sqlalchemy.url", db.url.replace("%", "%%"))
    cfg.attributes["engine"] = db.engine
    return cfg


def head_revisions():
    """The head revision(s) of the migrations this code carries, sorted."""
    from alembic.script import ScriptDirectory
    return tuple(sorted(ScriptDirectory.from_config(_scripts_config()).get_heads()))


def upgrade(db, revision="head"):
    command.upgrade(alembic_config(db), revision)
