"""the figures of the 晾晒 dashboard: one fact row per appeal, monthly counters

Revision ID: 0008
Revises: 0007
Create Date: 2026-11-22
"""
from alembic import op
import sqlalchemy as sa


revision = '0008'
down_revision = '0007'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table('appeal_fact',
    sa.Column('instance_id', sa.String(length=36), nullable=False),
    sa.Column('definition_key', sa.String(length=200), nullable=False),
    sa.Column('mechanism_name', sa.String(length=300), nullable=True),
    sa.Column('region', sa.String(length=100), nullable=True),
    sa.Column('department', sa.String(length=200), nullable=True),
    sa.Column('department_name', sa.String(length=300), nullable=True),
    sa.Column('business_key', sa.String(length=200), nullable=True),
    sa.Column('title', sa.String(length=300), nullable=True),
    sa.Column('company', sa.String(length=200), nullable=True),
    sa.Column('started_at', sa.DateTime(), nullable=False),
    sa.Column('month', sa.String(length=7), nullable=False),
    sa.Column('closed_at', sa.DateTime(), nullable=True),
    sa.Column('close_month', sa.String(length=7), nullable=True),
    sa.Column('outcome', sa.String(length=10), nullable=True),
    sa.Column('solved_late', sa.Boolean(), nullable=False),
    sa.Column('deadline', sa.DateTime(), nullable=True),
    sa.Column('sign_due_at', sa.DateTime(), nullable=True),
    sa.Column('signed_at', sa.DateTime(), nullable=True),
    sa.Column('signed_on_time', sa.Boolean(), nullable=True),
    sa.Column('returns', sa.Integer(), nullable=False),
    sa.Column('rating', sa.String(length=50), nullable=True),
    sa.Column('satisfied', sa.Boolean(), nullable=True),
    sa.Column('colour', sa.String(length=10), nullable=True),
    sa.Column('colour_rank', sa.Integer(), nullable=False),
    sa.Column('open_task', sa.String(length=300), nullable=True),
    sa.Column('workdays', sa.Float(), nullable=True),
    sa.Column('status', sa.String(length=20), nullable=False),
    sa.Column('stages', sa.Text(), nullable=True),
    sa.Column('updated_at', sa.DateTime(), nullable=False),
    sa.PrimaryKeyConstraint('instance_id', name=op.f('pk_appeal_fact'))
    )
    op.create_index('ix_appeal_fact_open', 'appeal_fact', ['status', 'colour_rank', 'deadline'], unique=False)
    op.create_index('ix_appeal_fact_open_region', 'appeal_fact', ['status', 'region', 'colour_rank', 'deadline'],
                    unique=False)
    op.create_index('ix_appeal_fact_open_department', 'appeal_fact',
                    ['status', 'department', 'colour_rank', 'deadline'], unique=False)
    op.create_index('ix_appeal_fact_ledger', 'appeal_fact', ['month', 'started_at'], unique=False)
    op.create_table('figure_month',
    sa.Column('month', sa.String(length=7), nullable=False),
    sa.Column('region', sa.String(length=100), nullable=False),
    sa.Column('definition_key', sa.String(length=200), nullable=False),
    sa.Column('department', sa.String(length=200), nullable=False),
    sa.Column('mechanism_name', sa.String(length=300), nullable=True),
    sa.Column('department_name', sa.String(length=300), nullable=True),
    sa.Column('accepted', sa.Integer(), nullable=False),
    sa.Column('closed', sa.Integer(), nullable=False),
    sa.Column('solved', sa.Integer(), nullable=False),
    sa.Column('solved_late', sa.Integer(), nullable=False),
    sa.Column('sign_counted', sa.Integer(), nullable=False),
    sa.Column('signed_on_time', sa.Integer(), nullable=False),
    sa.Column('returned', sa.Integer(), nullable=False),
    sa.Column('rated', sa.Integer(), nullable=False),
    sa.Column('satisfied', sa.Integer(), nullable=False),
    sa.Column('workdays_sum', sa.Float(), nullable=False),
    sa.PrimaryKeyConstraint('month', 'region', 'definition_key', 'department', name=op.f('pk_figure_month'))
    )
    op.create_index('ix_figure_month_department', 'figure_month', ['department', 'month'], unique=False)
    op.create_index('ix_figure_month_region', 'figure_month', ['region', 'month'], unique=False)


def downgrade():
    op.drop_index('ix_figure_month_region', table_name='figure_month')
    op.drop_index('ix_figure_month_department', table_name='figure_month')
    op.drop_table('figure_month')
    op.drop_index('ix_appeal_fact_ledger', table_name='appeal_fact')
    op.drop_index('ix_appeal_fact_open_department', table_name='appeal_fact')
    op.drop_index('ix_appeal_fact_open_region', table_name='appeal_fact')
    op.drop_index('ix_appeal_fact_open', table_name='appeal_fact')
    op.drop_table('appeal_fact')
