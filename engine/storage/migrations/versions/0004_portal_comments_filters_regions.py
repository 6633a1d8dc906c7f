"""enterprise tickets, comments, saved filters, notification reads, regions, task attachments

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-21
"""
from alembic import op
import sqlalchemy as sa


revision = '0004'
down_revision = '0003'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('instance', schema=None) as batch_op:
        batch_op.add_column(sa.Column('region', sa.String(length=100), nullable=True))
        batch_op.create_index(batch_op.f('ix_instance_region'), ['region'], unique=False)
    with op.batch_alter_table('task', schema=None) as batch_op:
        batch_op.add_column(sa.Column('region', sa.String(length=100), nullable=True))
        batch_op.create_index(batch_op.f('ix_task_region'), ['region'], unique=False)
    with op.batch_alter_table('attachment', schema=None) as batch_op:
        batch_op.add_column(sa.Column('task_id', sa.String(length=36), nullable=True))
        batch_op.create_index(batch_op.f('ix_attachment_task_id'), ['task_id'], unique=False)

    op.create_table('appeal_ticket',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('tracking_no', sa.String(length=40), nullable=False),
    sa.Column('token_hash', sa.String(length=64), nullable=False),
    sa.Column('instance_id', sa.String(length=36), nullable=False),
    sa.Column('definition_key', sa.String(length=200), nullable=False),
    sa.Column('company', sa.String(length=200), nullable=False),
    sa.Column('credit_code', sa.String(length=18), nullable=False),
    sa.Column('contact_name', sa.String(length=100), nullable=False),
    sa.Column('contact_phone', sa.String(length=40), nullable=False),
    sa.Column('category', sa.String(length=100), nullable=True),
    sa.Column('created_at', sa.DateTime(), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_appeal_ticket')),
    sa.UniqueConstraint('tracking_no', name=op.f('uq_appeal_ticket_tracking_no')),
    sa.UniqueConstraint('token_hash', name=op.f('uq_appeal_ticket_token_hash'))
    )
    with op.batch_alter_table('appeal_ticket', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_appeal_ticket_instance_id'), ['instance_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_appeal_ticket_credit_code'), ['credit_code'], unique=False)
        batch_op.create_index(batch_op.f('ix_appeal_ticket_created_at'), ['created_at'], unique=False)

    op.create_table('task_comment',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('instance_id', sa.String(length=36), nullable=False),
    sa.Column('task_id', sa.String(length=36), nullable=True),
    sa.Column('user', sa.String(length=100), nullable=False),
    sa.Column('body', sa.Text(), nullable=False),
    sa.Column('public', sa.Boolean(), nullable=False),
    sa.Column('created_at', sa.DateTime(), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_task_comment'))
    )
    with op.batch_alter_table('task_comment', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_task_comment_instance_id'), ['instance_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_task_comment_task_id'), ['task_id'], unique=False)

    op.create_table('saved_filter',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('user', sa.String(length=100), nullable=False),
    sa.Column('name', sa.String(length=100), nullable=False),
    sa.Column('query', sa.String(length=1000), nullable=False),
    sa.Column('created_at', sa.DateTime(), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_saved_filter')),
    sa.UniqueConstraint('user', 'name', name=op.f('uq_saved_filter_user_name'))
    )
    with op.batch_alter_table('saved_filter', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_saved_filter_user'), ['user'], unique=False)

    op.create_table('notification_read',
    sa.Column('notification_id', sa.Integer(), nullable=False),
    sa.Column('user', sa.String(length=100), nullable=False),
    sa.Column('read_at', sa.DateTime(), nullable=False),
    sa.ForeignKeyConstraint(['notification_id'], ['notification.id'],
                            name=op.f('fk_notification_read_notification_id_notification'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('notification_id', 'user', name=op.f('pk_notification_read'))
    )
    with op.batch_alter_table('notification_read', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_notification_read_user'), ['user'], unique=False)


def downgrade():
    op.drop_table('notification_read')
    op.drop_table('saved_filter')
    op.drop_table('task_comment')
    op.drop_table('appeal_ticket')
    with op.batch_alter_table('attachment', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_attachment_task_id'))
        batch_op.drop_column('task_id')
    with op.batch_alter_table('task', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_task_region'))
        batch_op.drop_column('region')
    with op.batch_alter_table('instance', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_instance_region'))
        batch_op.drop_column('region')
