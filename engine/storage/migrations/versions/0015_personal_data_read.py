"""personal information (issue 18): the read log of appeals' personal fields (who, when, which
appeal, from which page or export, in full or masked), listed per appeal and per user

Revision ID: 0015
Revises: 0014
Create Date: 2026-12-08
"""
from alembic import op
import sqlalchemy as sa

revision = '0015'
down_revision = '0014'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table('personal_data_read',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('at', sa.DateTime(), nullable=False),
    sa.Column('user', sa.String(length=100), nullable=False),
    sa.Column('client', sa.String(length=64), nullable=True),
    sa.Column('instance_id', sa.String(length=36), nullable=True),
    sa.Column('business_key', sa.String(length=200), nullable=True),
    sa.Column('source', sa.String(length=20), nullable=False),
    sa.Column('fields', sa.Text(), nullable=True),
    sa.Column('full', sa.Boolean(), nullable=False),
    sa.Column('instances', sa.Text(), nullable=True),
    sa.Column('detail', sa.Text(), nullable=True),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_personal_data_read'))
    )
    op.create_index('ix_personal_data_read_instance', 'personal_data_read', ['instance_id', 'at'], unique=False)
    op.create_index('ix_personal_data_read_user', 'personal_data_read', ['user', 'at'], unique=False)
    op.create_index('ix_personal_data_read_source', 'personal_data_read', ['source', 'at'], unique=False)


def downgrade():
    op.drop_index('ix_personal_data_read_source', table_name='personal_data_read')
    op.drop_index('ix_personal_data_read_user', table_name='personal_data_read')
    op.drop_index('ix_personal_data_read_instance', table_name='personal_data_read')
    op.drop_table('personal_data_read')
