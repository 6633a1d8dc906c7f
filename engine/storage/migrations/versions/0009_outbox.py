"""the outbox: what a step sends beyond its instance, delivered after commit; incident kinds;
provisional (暂定) deadlines

Revision ID: 0009
Revises: 0008
Create Date: 2026-12-07
"""
from alembic import op
import sqlalchemy as sa

revision = '0009'
down_revision = '0008'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table('outbox',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('instance_id', sa.String(length=36), nullable=False),
    sa.Column('element_id', sa.String(length=200), nullable=True),
    sa.Column('kind', sa.String(length=10), nullable=False),
    sa.Column('name', sa.String(length=2000), nullable=False),
    sa.Column('business_key', sa.String(length=200), nullable=True),
    sa.Column('region', sa.String(length=100), nullable=True),
    sa.Column('payload', sa.Text(), nullable=True),
    sa.Column('sent_by', sa.String(length=100), nullable=True),
    sa.Column('created_at', sa.DateTime(), nullable=False),
    sa.Column('due_at', sa.DateTime(), nullable=False),
    sa.Column('attempts', sa.Integer(), nullable=False),
    sa.Column('last_error', sa.Text(), nullable=True),
    sa.Column('locked_until', sa.DateTime(), nullable=True),
    sa.Column('locked_by', sa.String(length=100), nullable=True),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_outbox'))
    )
    op.create_index(op.f('ix_outbox_instance_id'), 'outbox', ['instance_id'], unique=False)
    op.create_index(op.f('ix_outbox_due_at'), 'outbox', ['due_at'], unique=False)
    op.create_table('outbox_receipt',
    sa.Column('outbox_id', sa.BigInteger(), nullable=False),
    sa.Column('receiver', sa.String(length=250), nullable=False),
    sa.Column('instance_id', sa.String(length=36), nullable=True),
    sa.Column('at', sa.DateTime(), nullable=False),
    sa.PrimaryKeyConstraint('outbox_id', 'receiver', name=op.f('pk_outbox_receipt'))
    )
    # plain ALTER TABLE (SQLite has it for adding and, since 3.35, dropping a column): a batch
    # copy of task would trip over task_candidate's trigger
    op.add_column('incident', sa.Column('kind', sa.String(length=20), server_default='handler', nullable=False))
    op.add_column('incident', sa.Column('outbox_id', sa.BigInteger(), nullable=True))
    op.add_column('incident', sa.Column('receiver', sa.String(length=300), nullable=True))
    op.create_index(op.f('ix_incident_outbox_id'), 'incident', ['outbox_id'], unique=False)
    op.execute("UPDATE incident SET kind = 'calendar' WHERE topic = 'calendar'")
    op.add_column('task', sa.Column('due_provisional', sa.Boolean(), server_default=sa.false(), nullable=False))
    op.add_column('job', sa.Column('provisional', sa.Boolean(), server_default=sa.false(), nullable=False))


def downgrade():
    op.drop_column('job', 'provisional')
    op.drop_column('task', 'due_provisional')
    op.drop_index(op.f('ix_incident_outbox_id'), table_name='incident')
    op.drop_column('incident', 'receiver')
    op.drop_column('incident', 'outbox_id')
    op.drop_column('incident', 'kind')
    op.drop_table('outbox_receipt')
    op.drop_index(op.f('ix_outbox_due_at'), table_name='outbox')
    op.drop_index(op.f('ix_outbox_instance_id'), table_name='outbox')
    op.drop_table('outbox')
