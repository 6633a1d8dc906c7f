"""regions: a user's region (staff of a county or city see that region's work) and the region
a definition was deployed for

Revision ID: 0007
Revises: 0006
Create Date: 2026-11-21
"""
from alembic import op
import sqlalchemy as sa


revision = '0007'
down_revision = '0006'
branch_labels = None
depends_on = None


def upgrade():
    # Plain ALTER TABLE ADD COLUMN (SQLite has it): a batch would copy and drop `definition`,
    # which the foreign keys of existing instances forbid.
    op.add_column('definition', sa.Column('region', sa.String(length=100), nullable=True))
    op.create_index(op.f('ix_definition_region'), 'definition', ['region'], unique=False)
    op.add_column('user_account', sa.Column('region', sa.String(length=100), nullable=True))
    op.create_index(op.f('ix_user_account_region'), 'user_account', ['region'], unique=False)


def downgrade():
    # ALTER TABLE DROP COLUMN (SQLite 3.35+) for the same reason.
    op.drop_index(op.f('ix_user_account_region'), table_name='user_account')
    op.drop_column('user_account', 'region')
    op.drop_index(op.f('ix_definition_region'), table_name='definition')
    op.drop_column('definition', 'region')
