"""the inbox reads task_candidate alone: a trigger-kept copy of the task's inbox columns

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-22

Why: the inbox of a user in three groups had to look up thousands of task rows by their
UUID (0.6-1.5 s at 100k open + 1M done tasks, bench/inbox_bench.py). Now the candidate rows
of open tasks are one index range (kind, name, status) and carry what the inbox filters,
counts and sorts on. Triggers keep the copy whoever writes the task row (runtime, claim,
reassign, return, SLA jobs): filled on insert of a candidate row, updated on every change of
the copied task columns.
"""
from alembic import op
import sqlalchemy as sa


revision = '0005'
down_revision = '0004'
branch_labels = None
depends_on = None


def _columns():
    return [
        sa.Column('status', sa.String(length=20), server_default='ready', nullable=False),
        sa.Column('assignee', sa.String(length=100), nullable=True),
        sa.Column('sla_colour', sa.String(length=10), nullable=True),
        sa.Column('due_at', sa.DateTime(), nullable=True),
        sa.Column('priority', sa.Integer(), server_default='50', nullable=False),
        sa.Column('region', sa.String(length=100), nullable=True),
        sa.Column('definition_key', sa.String(length=200), nullable=True),
        sa.Column('task_name', sa.String(length=100), nullable=True),
        sa.Column('business_key', sa.String(length=100), nullable=True),
        sa.Column('created_at', sa.DateTime(), nullable=True),
        sa.Column('candidates', sa.Integer(), server_default='1', nullable=False),
    ]


# task_candidate column <- task column (the business key comes from the instance). The task
# name and business key are cut to their first 100 characters (what the text filter searches),
# so that an entry of ix_task_candidate_inbox stays within PostgreSQL's limit (2704 bytes).
FROM_TASK = {"status": "status", "assignee": "assignee", "sla_colour": "sla_colour", "due_at": "due_at",
             "priority": "priority", "region": "region", "definition_key": "definition_key", "task_name": "name",
             "created_at": "created_at"}
CUT = 100
# the task columns that can change after the task row is written
CHANGING = ("status", "assignee", "sla_colour", "due_at", "priority", "name")


def _names(column):
    """How many names a comma-separated candidate column holds (runtime writes them so)."""
    return (f"(CASE WHEN coalesce({column}, '') = '' THEN 0 "
            f"ELSE length({column}) - length(replace({column}, ',', '')) + 1 END)")


# candidates: how many candidate rows the task has; a task with one cannot come twice into an inbox
_tc = ", ".join([*FROM_TASK, "business_key", "candidates"])


def _copy(column, prefix):
    """How the task column of task_candidate.`column` is copied from the row `prefix`."""
    source = prefix + FROM_TASK[column]
    return f"substr({source}, 1, {CUT})" if column == "task_name" else source


_t = ", ".join([*(_copy(c, "t.") for c in FROM_TASK), f"substr(i.business_key, 1, {CUT})",
                f"{_names('t.candidate_groups')} + {_names('t.candidate_users')}"])
INDEX = ['kind', 'name', 'status', 'candidates', 'assignee', 'sla_colour', 'due_at', 'priority', 'created_at',
         'region', 'definition_key', 'task_name', 'business_key', 'task_id']
_copy_from = "FROM task t JOIN instance i ON i.id = t.instance_id"
_set_new = ", ".join(f"{c} = {_copy(c, 'NEW.')}" for c in FROM_TASK if FROM_TASK[c] in CHANGING)

SQLITE_UP = [
    f"""CREATE TRIGGER task_candidate_copy AFTER INSERT ON task_candidate BEGIN
        UPDATE task_candidate SET ({_tc}) = (SELECT {_t} {_copy_from} WHERE t.id = NEW.task_id)
        WHERE task_id = NEW.task_id AND kind = NEW.kind AND name = NEW.name;
    END""",
    f"""CREATE TRIGGER task_inbox_copy AFTER UPDATE OF {", ".join(CHANGING)} ON task BEGIN
        UPDATE task_candidate SET {_set_new} WHERE task_id = NEW.id;
    END""",
]
SQLITE_DOWN = ["DROP TRIGGER IF EXISTS task_inbox_copy", "DROP TRIGGER IF EXISTS task_candidate_copy"]

_changed = " OR ".join(f"OLD.{c} IS DISTINCT FROM NEW.{c}" for c in CHANGING)
PG_UP = [
    f"""CREATE FUNCTION task_candidate_copy() RETURNS trigger LANGUAGE plpgsql AS $$
    BEGIN
        SELECT {_t} INTO {", ".join(f"NEW.{c}" for c in _tc.split(", "))}
        {_copy_from} WHERE t.id = NEW.task_id;
        RETURN NEW;
    END $$""",
    """CREATE TRIGGER task_candidate_copy BEFORE INSERT ON task_candidate
        FOR EACH ROW EXECUTE FUNCTION task_candidate_copy()""",
    f"""CREATE FUNCTION task_inbox_copy() RETURNS trigger LANGUAGE plpgsql AS $$
    BEGIN
        UPDATE task_candidate SET {_set_new} WHERE task_id = NEW.id;
        RETURN NULL;
    END $$""",
    f"""CREATE TRIGGER task_inbox_copy AFTER UPDATE OF {", ".join(CHANGING)} ON task
        FOR EACH ROW WHEN ({_changed}) EXECUTE FUNCTION task_inbox_copy()""",
]
PG_DOWN = ["DROP TRIGGER IF EXISTS task_inbox_copy ON task", "DROP FUNCTION IF EXISTS task_inbox_copy()",
           "DROP TRIGGER IF EXISTS task_candidate_copy ON task_candidate",
           "DROP FUNCTION IF EXISTS task_candidate_copy()"]


def _sqlite():
    return op.get_bind().dialect.name == "sqlite"


def upgrade():
    for column in _columns():
        op.add_column('task_candidate', column)
    # the rows written so far (one statement; minutes on millions of rows)
    op.execute(f"UPDATE task_candidate SET ({_tc}) = (SELECT {_t} {_copy_from} "
               "WHERE t.id = task_candidate.task_id)")
    op.drop_index('ix_task_candidate_lookup', table_name='task_candidate')
    # the inbox reads its columns from this index alone
    op.create_index('ix_task_candidate_inbox', 'task_candidate', INDEX, unique=False)
    for statement in SQLITE_UP if _sqlite() else PG_UP:
        op.execute(statement)


def downgrade():
    for statement in SQLITE_DOWN if _sqlite() else PG_DOWN:
        op.execute(statement)
    op.drop_index('ix_task_candidate_inbox', table_name='task_candidate')
    op.create_index('ix_task_candidate_lookup', 'task_candidate', ['kind', 'name', 'task_id'], unique=False)
    with op.batch_alter_table('task_candidate', schema=None) as batch_op:
        for column in reversed(_columns()):
            batch_op.drop_column(column.name)
