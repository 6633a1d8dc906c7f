"""initial schema

Revision ID: 0001
Revises: 
Create Date: 2026-11-21
"""
from alembic import op
import sqlalchemy as sa


revision = '0001'
down_revision = None
branch_labels = None
depends_on = None


def upgrade():

    op.create_table('deployment',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('name', sa.String(length=200), nullable=False),
    sa.Column('sha256', sa.String(length=64), nullable=False),
    sa.Column('deployed_by', sa.String(length=100), nullable=True),
    sa.Column('deployed_at', sa.DateTime(), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_deployment'))
    )
    with op.batch_alter_table('deployment', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_deployment_sha256'), ['sha256'], unique=False)

    op.create_table('history_event',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('instance_id', sa.String(length=36), nullable=False),
    sa.Column('at', sa.DateTime(), nullable=False),
    sa.Column('type', sa.String(length=40), nullable=False),
    sa.Column('element_id', sa.String(length=200), nullable=True),
    sa.Column('task_id', sa.String(length=36), nullable=True),
    sa.Column('user', sa.String(length=100), nullable=True),
    sa.Column('data', sa.Text(), nullable=True),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_history_event'))
    )
    with op.batch_alter_table('history_event', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_history_event_at'), ['at'], unique=False)
        batch_op.create_index(batch_op.f('ix_history_event_instance_id'), ['instance_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_history_event_type'), ['type'], unique=False)

    op.create_table('membership',
    sa.Column('user', sa.String(length=100), nullable=False),
    sa.Column('group', sa.String(length=200), nullable=False),
    sa.PrimaryKeyConstraint('user', 'group', name=op.f('pk_membership'))
    )
    with op.batch_alter_table('membership', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_membership_group'), ['group'], unique=False)

    op.create_table('definition',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('key', sa.String(length=200), nullable=False),
    sa.Column('version', sa.Integer(), nullable=False),
    sa.Column('name', sa.String(length=300), nullable=True),
    sa.Column('deployment_id', sa.Integer(), nullable=False),
    sa.Column('resource_name', sa.String(length=300), nullable=False),
    sa.Column('sha256', sa.String(length=64), nullable=False),
    sa.Column('created_at', sa.DateTime(), nullable=False),
    sa.ForeignKeyConstraint(['deployment_id'], ['deployment.id'], name=op.f('fk_definition_deployment_id_deployment')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_definition')),
    sa.UniqueConstraint('key', 'version', name=op.f('uq_definition_key_version'))
    )
    with op.batch_alter_table('definition', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_definition_deployment_id'), ['deployment_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_definition_key'), ['key'], unique=False)

    op.create_table('resource',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('deployment_id', sa.Integer(), nullable=False),
    sa.Column('name', sa.String(length=300), nullable=False),
    sa.Column('sha256', sa.String(length=64), nullable=False),
    sa.Column('content', sa.LargeBinary(), nullable=False),
    sa.ForeignKeyConstraint(['deployment_id'], ['deployment.id'], name=op.f('fk_resource_deployment_id_deployment')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_resource'))
    )
    with op.batch_alter_table('resource', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_resource_deployment_id'), ['deployment_id'], unique=False)

    op.create_table('instance',
    sa.Column('id', sa.String(length=36), nullable=False),
    sa.Column('definition_id', sa.Integer(), nullable=False),
    sa.Column('definition_key', sa.String(length=200), nullable=False),
    sa.Column('business_key', sa.String(length=200), nullable=True),
    sa.Column('status', sa.String(length=20), nullable=False),
    sa.Column('version', sa.Integer(), nullable=False),
    sa.Column('state', sa.Text(), nullable=False),
    sa.Column('started_by', sa.String(length=100), nullable=True),
    sa.Column('started_at', sa.DateTime(), nullable=False),
    sa.Column('updated_at', sa.DateTime(), nullable=False),
    sa.Column('ended_at', sa.DateTime(), nullable=True),
    sa.ForeignKeyConstraint(['definition_id'], ['definition.id'], name=op.f('fk_instance_definition_id_definition')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_instance'))
    )
    with op.batch_alter_table('instance', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_instance_business_key'), ['business_key'], unique=False)
        batch_op.create_index(batch_op.f('ix_instance_definition_id'), ['definition_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_instance_definition_key'), ['definition_key'], unique=False)
        batch_op.create_index(batch_op.f('ix_instance_started_at'), ['started_at'], unique=False)
        batch_op.create_index(batch_op.f('ix_instance_status'), ['status'], unique=False)

    op.create_table('message_start',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('message_name', sa.String(length=200), nullable=False),
    sa.Column('definition_id', sa.Integer(), nullable=False),
    sa.ForeignKeyConstraint(['definition_id'], ['definition.id'], name=op.f('fk_message_start_definition_id_definition')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_message_start'))
    )
    with op.batch_alter_table('message_start', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_message_start_definition_id'), ['definition_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_message_start_message_name'), ['message_name'], unique=False)

    op.create_table('incident',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('instance_id', sa.String(length=36), nullable=False),
    sa.Column('task_id', sa.String(length=36), nullable=False),
    sa.Column('element_id', sa.String(length=200), nullable=True),
    sa.Column('topic', sa.String(length=200), nullable=True),
    sa.Column('error_type', sa.String(length=200), nullable=False),
    sa.Column('message', sa.Text(), nullable=False),
    sa.Column('traceback', sa.Text(), nullable=True),
    sa.Column('retries_left', sa.Integer(), nullable=False),
    sa.Column('status', sa.String(length=10), nullable=False),
    sa.Column('created_at', sa.DateTime(), nullable=False),
    sa.Column('resolved_at', sa.DateTime(), nullable=True),
    sa.Column('resolved_by', sa.String(length=100), nullable=True),
    sa.ForeignKeyConstraint(['instance_id'], ['instance.id'], name=op.f('fk_incident_instance_id_instance')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_incident'))
    )
    with op.batch_alter_table('incident', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_incident_instance_id'), ['instance_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_incident_status'), ['status'], unique=False)
        batch_op.create_index(batch_op.f('ix_incident_task_id'), ['task_id'], unique=False)

    op.create_table('job',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('instance_id', sa.String(length=36), nullable=False),
    sa.Column('task_id', sa.String(length=36), nullable=False),
    sa.Column('element_id', sa.String(length=200), nullable=True),
    sa.Column('kind', sa.String(length=10), nullable=False),
    sa.Column('due_at', sa.DateTime(), nullable=False),
    sa.Column('locked_until', sa.DateTime(), nullable=True),
    sa.Column('locked_by', sa.String(length=100), nullable=True),
    sa.ForeignKeyConstraint(['instance_id'], ['instance.id'], name=op.f('fk_job_instance_id_instance')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_job'))
    )
    with op.batch_alter_table('job', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_job_due_at'), ['due_at'], unique=False)
        batch_op.create_index(batch_op.f('ix_job_instance_id'), ['instance_id'], unique=False)

    op.create_table('subscription',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('instance_id', sa.String(length=36), nullable=False),
    sa.Column('task_id', sa.String(length=36), nullable=False),
    sa.Column('message_name', sa.String(length=200), nullable=False),
    sa.Column('business_key', sa.String(length=200), nullable=True),
    sa.Column('correlation_key', sa.String(length=64), nullable=True),
    sa.Column('correlation', sa.Text(), nullable=True),
    sa.ForeignKeyConstraint(['instance_id'], ['instance.id'], name=op.f('fk_subscription_instance_id_instance')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_subscription'))
    )
    with op.batch_alter_table('subscription', schema=None) as batch_op:
        batch_op.create_index('ix_subscription_bkey', ['message_name', 'business_key'], unique=False)
        batch_op.create_index('ix_subscription_corr', ['message_name', 'correlation_key'], unique=False)
        batch_op.create_index(batch_op.f('ix_subscription_instance_id'), ['instance_id'], unique=False)

    op.create_table('task',
    sa.Column('id', sa.String(length=36), nullable=False),
    sa.Column('instance_id', sa.String(length=36), nullable=False),
    sa.Column('definition_key', sa.String(length=200), nullable=False),
    sa.Column('element_id', sa.String(length=200), nullable=False),
    sa.Column('name', sa.String(length=300), nullable=True),
    sa.Column('lane', sa.String(length=200), nullable=True),
    sa.Column('candidate_groups', sa.String(length=1000), nullable=True),
    sa.Column('candidate_users', sa.String(length=1000), nullable=True),
    sa.Column('assignee', sa.String(length=100), nullable=True),
    sa.Column('due_at', sa.DateTime(), nullable=True),
    sa.Column('priority', sa.Integer(), nullable=False),
    sa.Column('status', sa.String(length=20), nullable=False),
    sa.Column('created_at', sa.DateTime(), nullable=False),
    sa.Column('completed_at', sa.DateTime(), nullable=True),
    sa.Column('completed_by', sa.String(length=100), nullable=True),
    sa.Column('version', sa.Integer(), nullable=False),
    sa.ForeignKeyConstraint(['instance_id'], ['instance.id'], name=op.f('fk_task_instance_id_instance')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_task'))
    )
    with op.batch_alter_table('task', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_task_assignee'), ['assignee'], unique=False)
        batch_op.create_index(batch_op.f('ix_task_created_at'), ['created_at'], unique=False)
        batch_op.create_index(batch_op.f('ix_task_definition_key'), ['definition_key'], unique=False)
        batch_op.create_index(batch_op.f('ix_task_due_at'), ['due_at'], unique=False)
        batch_op.create_index(batch_op.f('ix_task_element_id'), ['element_id'], unique=False)
        batch_op.create_index('ix_task_inbox', ['status', 'assignee', 'due_at'], unique=False)
        batch_op.create_index(batch_op.f('ix_task_instance_id'), ['instance_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_task_lane'), ['lane'], unique=False)
        batch_op.create_index(batch_op.f('ix_task_name'), ['name'], unique=False)
        batch_op.create_index(batch_op.f('ix_task_priority'), ['priority'], unique=False)
        batch_op.create_index(batch_op.f('ix_task_status'), ['status'], unique=False)

    op.create_table('task_candidate',
    sa.Column('task_id', sa.String(length=36), nullable=False),
    sa.Column('kind', sa.String(length=5), nullable=False),
    sa.Column('name', sa.String(length=200), nullable=False),
    sa.ForeignKeyConstraint(['task_id'], ['task.id'], name=op.f('fk_task_candidate_task_id_task'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('task_id', 'kind', 'name', name=op.f('pk_task_candidate'))
    )
    with op.batch_alter_table('task_candidate', schema=None) as batch_op:
        batch_op.create_index('ix_task_candidate_lookup', ['kind', 'name', 'task_id'], unique=False)




def downgrade():

    with op.batch_alter_table('task_candidate', schema=None) as batch_op:
        batch_op.drop_index('ix_task_candidate_lookup')

    op.drop_table('task_candidate')
    with op.batch_alter_table('task', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_task_status'))
        batch_op.drop_index(batch_op.f('ix_task_priority'))
        batch_op.drop_index(batch_op.f('ix_task_name'))
        batch_op.drop_index(batch_op.f('ix_task_lane'))
        batch_op.drop_index(batch_op.f('ix_task_instance_id'))
        batch_op.drop_index('ix_task_inbox')
        batch_op.drop_index(batch_op.f('ix_task_element_id'))
        batch_op.drop_index(batch_op.f('ix_task_due_at'))
        batch_op.drop_index(batch_op.f('ix_task_definition_key'))
        batch_op.drop_index(batch_op.f('ix_task_created_at'))
        batch_op.drop_index(batch_op.f('ix_task_assignee'))

    op.drop_table('task')
    with op.batch_alter_table('subscription', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_subscription_instance_id'))
        batch_op.drop_index('ix_subscription_corr')
        batch_op.drop_index('ix_subscription_bkey')

    op.drop_table('subscription')
    with op.batch_alter_table('job', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_job_instance_id'))
        batch_op.drop_index(batch_op.f('ix_job_due_at'))

    op.drop_table('job')
    with op.batch_alter_table('incident', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_incident_task_id'))
        batch_op.drop_index(batch_op.f('ix_incident_status'))
        batch_op.drop_index(batch_op.f('ix_incident_instance_id'))

    op.drop_table('incident')
    with op.batch_alter_table('message_start', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_message_start_message_name'))
        batch_op.drop_index(batch_op.f('ix_message_start_definition_id'))

    op.drop_table('message_start')
    with op.batch_alter_table('instance', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_instance_status'))
        batch_op.drop_index(batch_op.f('ix_instance_started_at'))
        batch_op.drop_index(batch_op.f('ix_instance_definition_key'))
        batch_op.drop_index(batch_op.f('ix_instance_definition_id'))
        batch_op.drop_index(batch_op.f('ix_instance_business_key'))

    op.drop_table('instance')
    with op.batch_alter_table('resource', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_resource_deployment_id'))

    op.drop_table('resource')
    with op.batch_alter_table('definition', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_definition_key'))
        batch_op.drop_index(batch_op.f('ix_definition_deployment_id'))

    op.drop_table('definition')
    with op.batch_alter_table('membership', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_membership_group'))

    op.drop_table('membership')
    with op.batch_alter_table('history_event', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_history_event_type'))
        batch_op.drop_index(batch_op.f('ix_history_event_instance_id'))
        batch_op.drop_index(batch_op.f('ix_history_event_at'))

    op.drop_table('history_event')
    with op.batch_alter_table('deployment', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_deployment_sha256'))

    op.drop_table('deployment')

