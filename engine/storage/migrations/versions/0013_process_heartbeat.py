"""production serving (issue 17): every web process and worker writes a heartbeat row, which
/readyz and the operators read

Revision ID: 0013
Revises: 0012
Create Date: 2026-12-07
"""
from alembic import op
import sqlalchemy as sa

revision = '0013'
down_revision = '0012'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table('process_heartbeat',
    sa.Column('name', sa.String(length=200), nullable=False),
    sa.Column('kind', sa.String(length=20), nullable=False),
    sa.Column('host', sa.String(length=100), nullable=False),
    sa.Column('pid', sa.Integer(), nullable=False),
    sa.Column('started_at', sa.DateTime(), nullable=False),
    sa.Column('beat_at', sa.DateTime(), nullable=False),
    sa.Column('steps', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.PrimaryKeyConstraint('name', name=op.f('pk_process_heartbeat'))
    )
    op.create_index(op.f('ix_process_heartbeat_kind'), 'process_heartbeat', ['kind'], unique=False)
    op.create_index(op.f('ix_process_heartbeat_beat_at'), 'process_heartbeat', ['beat_at'], unique=False)


def downgrade():
    op.drop_index(op.f('ix_process_heartbeat_beat_at'), table_name='process_heartbeat')
    op.drop_index(op.f('ix_process_heartbeat_kind'), table_name='process_heartbeat')
    op.drop_table('process_heartbeat')
