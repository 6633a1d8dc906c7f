"""signals: subscriptions and start events are for a message or a signal; a thrown message's
result variable travels with it

Revision ID: 0010
Revises: 0009
Create Date: 2026-12-07
"""
from alembic import op
import sqlalchemy as sa

revision = '0010'
down_revision = '0009'
branch_labels = None
depends_on = None


def upgrade():
    op.add_column('subscription', sa.Column('kind', sa.String(length=10), server_default='message', nullable=False))
    op.add_column('message_start', sa.Column('kind', sa.String(length=10), server_default='message', nullable=False))
    op.add_column('outbox', sa.Column('result_var', sa.String(length=200), nullable=True))


def downgrade():
    op.drop_column('outbox', 'result_var')
    op.drop_column('message_start', 'kind')
    op.drop_column('subscription', 'kind')
