"""security to 等保 2.0 level 3 (issue 16): revocable sessions, a shared sign-in limiter, a
tamper-evident append-only audit of administrator and security events

Revision ID: 0012
Revises: 0011
Create Date: 2026-12-07
"""
from alembic import op
import sqlalchemy as sa

revision = '0012'
down_revision = '0011'
branch_labels = None
depends_on = None

# On PostgreSQL the audit refuses UPDATE and DELETE in the database itself, whoever asks; the
# retention sweep (and only it) sets qihu.audit_retention = 'on' for its own transaction.
PG_APPEND_ONLY = [
    """CREATE FUNCTION security_audit_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
    BEGIN
      IF TG_OP = 'DELETE' AND current_setting('qihu.audit_retention', true) = 'on' THEN
        RETURN OLD;
      END IF;
      RAISE EXCEPTION 'security_audit is append-only (% refused)', TG_OP;
    END $$""",
    """CREATE TRIGGER security_audit_append_only BEFORE UPDATE OR DELETE ON security_audit
    FOR EACH ROW EXECUTE FUNCTION security_audit_append_only()""",
]


def upgrade():
    op.add_column('user_account', sa.Column('session_version', sa.Integer(), server_default='0', nullable=False))
    op.add_column('user_account', sa.Column('password_changed_at', sa.DateTime(), nullable=True))
    op.add_column('user_account', sa.Column('locked_until', sa.DateTime(), nullable=True))
    op.create_table('login_failure',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('account', sa.String(length=100), nullable=False),
    sa.Column('client', sa.String(length=64), nullable=False),
    sa.Column('at', sa.DateTime(), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_login_failure'))
    )
    op.create_index(op.f('ix_login_failure_account'), 'login_failure', ['account'], unique=False)
    op.create_index(op.f('ix_login_failure_client'), 'login_failure', ['client'], unique=False)
    op.create_index(op.f('ix_login_failure_at'), 'login_failure', ['at'], unique=False)
    op.create_table('security_audit',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('at', sa.DateTime(), nullable=False),
    sa.Column('actor', sa.String(length=100), nullable=True),
    sa.Column('client', sa.String(length=64), nullable=True),
    sa.Column('action', sa.String(length=40), nullable=False),
    sa.Column('target', sa.String(length=300), nullable=True),
    sa.Column('detail', sa.Text(), nullable=True),
    sa.Column('algorithm', sa.String(length=10), nullable=False),
    sa.Column('prev_hash', sa.String(length=64), nullable=False),
    sa.Column('hash', sa.String(length=64), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_security_audit')),
    sa.UniqueConstraint('hash', name=op.f('uq_security_audit_hash'))
    )
    op.create_index(op.f('ix_security_audit_at'), 'security_audit', ['at'], unique=False)
    op.create_index(op.f('ix_security_audit_actor'), 'security_audit', ['actor'], unique=False)
    op.create_index(op.f('ix_security_audit_action'), 'security_audit', ['action'], unique=False)
    if op.get_bind().dialect.name == "postgresql":
        for sql in PG_APPEND_ONLY:
            op.execute(sql)


def downgrade():
    if op.get_bind().dialect.name == "postgresql":
        op.execute("DROP TRIGGER IF EXISTS security_audit_append_only ON security_audit")
        op.execute("DROP FUNCTION IF EXISTS security_audit_append_only()")
    op.drop_index(op.f('ix_security_audit_action'), table_name='security_audit')
    op.drop_index(op.f('ix_security_audit_actor'), table_name='security_audit')
    op.drop_index(op.f('ix_security_audit_at'), table_name='security_audit')
    op.drop_table('security_audit')
    op.drop_index(op.f('ix_login_failure_at'), table_name='login_failure')
    op.drop_index(op.f('ix_login_failure_client'), table_name='login_failure')
    op.drop_index(op.f('ix_login_failure_account'), table_name='login_failure')
    op.drop_table('login_failure')
    op.drop_column('user_account', 'locked_until')
    op.drop_column('user_account', 'password_changed_at')
    op.drop_column('user_account', 'session_version')
