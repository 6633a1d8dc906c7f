"""the clerk's search at 江苏 scale (issue 17): prefix and pg_trgm indexes on PostgreSQL, open
tasks by colour and the 晾晒 rows by their start on both databases

On PostgreSQL the search (appeals/search.py) reads each kind of match from its own index:
codes (统一社会信用代码, 受理编号, business key) by their start from B-trees of the column in the
"C" collation (a B-tree in the database's collation serves LIKE 'x%' only when that is "C"; one
with varchar_pattern_ops does, but cannot be read in order: a 受理编号 prefix, newest first, is
a backward range of the "C" one), and company names, the enterprise's text and phone numbers
anywhere in them from pg_trgm GIN indexes.

pg_trgm is an extension: it is created once per database, in its own schema qihu_ext (qihu's
tables may live in one schema per tenant or per test, and every schema's indexes use the one
extension). A role that may not create it (CREATE on the database, or the extension not
installed on the server) still migrates: the trigram indexes are left out, the search stays
correct and reads the table instead. To add them later (docs/deploy.md): a superuser creates the
extension, then the CREATE INDEX statements below are run by hand (this revision is done by then).

Revision ID: 0014
Revises: 0013
Create Date: 2026-12-08
"""
import logging

from alembic import op
import sqlalchemy as sa

revision = '0014'
down_revision = '0013'
branch_labels = None
depends_on = None

log = logging.getLogger("qihu.migrations")

PREFIX = [("ix_appeal_ticket_credit_code_prefix", "appeal_ticket", "credit_code"),
          ("ix_appeal_ticket_tracking_no_prefix", "appeal_ticket", "tracking_no"),
          ("ix_instance_business_key_prefix", "instance", "business_key")]
TRIGRAM = [("ix_appeal_ticket_company_trgm", "appeal_ticket", "company"),
           ("ix_appeal_ticket_summary_trgm", "appeal_ticket", "summary"),
           ("ix_appeal_ticket_contact_phone_trgm", "appeal_ticket", "contact_phone"),
           ("ix_appeal_fact_company_trgm", "appeal_fact", "company"),
           ("ix_appeal_fact_title_trgm", "appeal_fact", "title")]
PAIRS = [("ix_appeal_ticket_company_pairs", "appeal_ticket", "company"),
          ("ix_appeal_ticket_summary_pairs", "appeal_ticket", "summary"),
          ("ix_appeal_fact_company_pairs", "appeal_fact", "company"),
          ("ix_appeal_fact_title_pairs", "appeal_fact", "title")]
# A text's character pairs as words, lower case: those starting at even places, then those at
# odd places (the last character alone ends one of the two): '德清绿' gives ' 德清 绿 清绿 '.
# One or two characters have no trigram, but ' 德清 ' (two) and ' 德' (one, at a word's start)
# do, and they are in these words exactly when the text holds them: the search's short patterns
# are read from a trigram index of this (appeals/search.py). Plain SQL (regexp_replace), which
# the planner inlines; IMMUTABLE as lower() is for an index. It lives in qihu_ext, one for every
# schema of the database.
PAIRS_FUNCTION = ("CREATE FUNCTION qihu_ext.qihu_pairs(varchar) RETURNS text LANGUAGE sql IMMUTABLE PARALLEL SAFE "
                  "STRICT AS $$ SELECT ' ' || regexp_replace(lower($1), '(..)', '\\1 ', 'g') || ' ' || "
                  "regexp_replace(substr(lower($1), 2), '(..)', '\\1 ', 'g') || ' ' $$")


def trigram_schema(bind):
    """The schema pg_trgm lives in, creating it in qihu_ext when it is not there yet; None when
    this role cannot. A failed CREATE is rolled back to a savepoint, so the migration goes on."""
    found = bind.exec_driver_sql("SELECT n.nspname FROM pg_extension e JOIN pg_namespace n ON n.oid = "
                                 "e.extnamespace WHERE e.extname = 'pg_trgm'").scalar()
    if found:
        return found
    try:
        with bind.begin_nested():
            bind.exec_driver_sql("CREATE SCHEMA IF NOT EXISTS qihu_ext")
            bind.exec_driver_sql("CREATE EXTENSION IF NOT EXISTS pg_trgm SCHEMA qihu_ext")
    except sa.exc.DBAPIError as e:
        log.warning("pg_trgm 扩展无法创建，检索不建三元组索引（仍然正确，但按名称和内容检索会读全表） "
                    "(could not create the pg_trgm extension: %s; the search works without its indexes, "
                    "slower; see docs/deploy.md)", str(e).splitlines()[0])
        return None
    return "qihu_ext"


def pairs_function(bind):
    """Whether qihu_ext.qihu_pairs exists, creating it when it does not (False when this role
    cannot: the short patterns are then read from the table)."""
    if bind.exec_driver_sql("SELECT to_regprocedure('qihu_ext.qihu_pairs(varchar)')").scalar():
        return True
    try:
        with bind.begin_nested():
            bind.exec_driver_sql("CREATE SCHEMA IF NOT EXISTS qihu_ext")
            bind.exec_driver_sql(PAIRS_FUNCTION)
    except sa.exc.DBAPIError as e:
        log.warning("无法创建 qihu_ext.qihu_pairs，一两个字的检索读全表 (could not create qihu_ext.qihu_pairs: %s; "
                    "searches of one or two characters read the table)", str(e).splitlines()[0])
        return False
    return True


def upgrade():
    # IF NOT EXISTS: a large database may have had them built beforehand, CONCURRENTLY (docs/deploy.md)
    op.create_index('ix_task_ready_colour', 'task', ['sla_colour', 'created_at'], unique=False, if_not_exists=True,
                    postgresql_where=sa.text("status = 'ready'"), sqlite_where=sa.text("status = 'ready'"))
    op.create_index('ix_appeal_fact_started_at', 'appeal_fact', ['started_at'], unique=False, if_not_exists=True)
    bind = op.get_bind()
    if bind.dialect.name != "postgresql":
        return
    for name, table, column in PREFIX:
        op.execute(f'CREATE INDEX IF NOT EXISTS {name} ON {table} (({column} COLLATE "C"))')
    schema = trigram_schema(bind)
    if schema:
        for name, table, column in TRIGRAM:
            op.execute(f'CREATE INDEX IF NOT EXISTS {name} ON {table} USING gin ({column} "{schema}".gin_trgm_ops)')
        if pairs_function(bind):
            for name, table, column in PAIRS:
                op.execute(f'CREATE INDEX IF NOT EXISTS {name} ON {table} '
                           f'USING gin (qihu_ext.qihu_pairs({column}) "{schema}".gin_trgm_ops)')


def downgrade():
    # the extension and qihu_pairs stay: other schemas of the database may use them
    if op.get_bind().dialect.name == "postgresql":
        for name, _, _ in PREFIX + TRIGRAM + PAIRS:
            op.execute(f'DROP INDEX IF EXISTS {name}')
    op.drop_index('ix_appeal_fact_started_at', table_name='appeal_fact')
    op.drop_index('ix_task_ready_colour', table_name='task',
                  postgresql_where=sa.text("status = 'ready'"), sqlite_where=sa.text("status = 'ready'"))
