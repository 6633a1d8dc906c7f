"""the clerk's desk and the enterprise's phone (issue 15): group display names, notices as they
landed on a channel, 已办 by person, the 文号 sequence, one-time lookup codes, how an appeal
arrived and who registered it

Revision ID: 0011
Revises: 0010
Create Date: 2026-12-07
"""
from alembic import op
import sqlalchemy as sa

revision = '0011'
down_revision = '0010'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table('group_info',
    sa.Column('name', sa.String(length=200), nullable=False),
    sa.Column('display_name', sa.String(length=200), nullable=False),
    sa.Column('updated_by', sa.String(length=100), nullable=True),
    sa.Column('updated_at', sa.DateTime(), nullable=False),
    sa.PrimaryKeyConstraint('name', name=op.f('pk_group_info'))
    )
    op.create_table('notice_sent',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('channel', sa.String(length=20), nullable=False),
    sa.Column('recipient', sa.String(length=200), nullable=False),
    sa.Column('business_id', sa.String(length=200), nullable=False),
    sa.Column('content_hash', sa.String(length=64), nullable=False),
    sa.Column('day', sa.String(length=10), nullable=False),
    sa.Column('status', sa.String(length=20), nullable=False),
    sa.Column('title', sa.String(length=300), nullable=True),
    sa.Column('text', sa.Text(), nullable=True),
    sa.Column('instance_id', sa.String(length=36), nullable=True),
    sa.Column('outbox_id', sa.BigInteger(), nullable=True),
    sa.Column('at', sa.DateTime(), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_notice_sent')),
    sa.UniqueConstraint('channel', 'recipient', 'business_id', name=op.f('uq_notice_sent_channel_recipient_business_id'))
    )
    op.create_index('ix_notice_sent_day', 'notice_sent', ['channel', 'recipient', 'day'], unique=False)
    op.create_index(op.f('ix_notice_sent_instance_id'), 'notice_sent', ['instance_id'], unique=False)
    op.create_index(op.f('ix_notice_sent_at'), 'notice_sent', ['at'], unique=False)
    op.create_index('ix_task_done', 'task', ['completed_by', 'completed_at'], unique=False)
    op.create_table('document_sequence',
    sa.Column('region', sa.String(length=100), nullable=False),
    sa.Column('kind', sa.String(length=20), nullable=False),
    sa.Column('year', sa.Integer(), nullable=False),
    sa.Column('last', sa.Integer(), nullable=False),
    sa.PrimaryKeyConstraint('region', 'kind', 'year', name=op.f('pk_document_sequence'))
    )
    op.create_table('lookup_code',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('tracking_no', sa.String(length=40), nullable=False),
    sa.Column('code_hash', sa.String(length=64), nullable=False),
    sa.Column('client', sa.String(length=64), nullable=True),
    sa.Column('created_at', sa.DateTime(), nullable=False),
    sa.Column('expires_at', sa.DateTime(), nullable=False),
    sa.Column('attempts', sa.Integer(), nullable=False),
    sa.Column('used_at', sa.DateTime(), nullable=True),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_lookup_code'))
    )
    op.create_index(op.f('ix_lookup_code_tracking_no'), 'lookup_code', ['tracking_no'], unique=False)
    op.create_index(op.f('ix_lookup_code_client'), 'lookup_code', ['client'], unique=False)
    op.create_index(op.f('ix_lookup_code_created_at'), 'lookup_code', ['created_at'], unique=False)
    op.add_column('appeal_ticket', sa.Column('channel', sa.String(length=50), nullable=True))
    op.add_column('appeal_ticket', sa.Column('registered_by', sa.String(length=100), nullable=True))
    op.add_column('appeal_ticket', sa.Column('summary', sa.String(length=2000), nullable=True))
    op.create_index(op.f('ix_appeal_ticket_company'), 'appeal_ticket', ['company'], unique=False)
    op.create_index(op.f('ix_appeal_ticket_contact_phone'), 'appeal_ticket', ['contact_phone'], unique=False)


def downgrade():
    op.drop_index(op.f('ix_appeal_ticket_contact_phone'), table_name='appeal_ticket')
    op.drop_index(op.f('ix_appeal_ticket_company'), table_name='appeal_ticket')
    op.drop_column('appeal_ticket', 'summary')
    op.drop_column('appeal_ticket', 'registered_by')
    op.drop_column('appeal_ticket', 'channel')
    op.drop_index(op.f('ix_lookup_code_created_at'), table_name='lookup_code')
    op.drop_index(op.f('ix_lookup_code_client'), table_name='lookup_code')
    op.drop_index(op.f('ix_lookup_code_tracking_no'), table_name='lookup_code')
    op.drop_table('lookup_code')
    op.drop_table('document_sequence')
    op.drop_index('ix_task_done', table_name='task')
    op.drop_index(op.f('ix_notice_sent_at'), table_name='notice_sent')
    op.drop_index(op.f('ix_notice_sent_instance_id'), table_name='notice_sent')
    op.drop_index('ix_notice_sent_day', table_name='notice_sent')
    op.drop_table('notice_sent')
    op.drop_table('group_info')
