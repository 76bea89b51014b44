"""trust at the edges: sign-in failures for throttling, who uploaded which photo and
which record names it, device details for administration, and user fields for the
administration API

Revision ID: 0006
Revises: 0005

``signin_failure`` rows are the throttle's counters, shared by every app node;
``attachment_upload`` records every user who uploaded a photo's bytes (not only the
first), and ``record_photo`` every (record, photo, user who named it), so that a photo
opens only to its uploaders and to those who may see a record that names it with the
namer's own upload behind it.
"""
import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision = '0006'
down_revision = '0005'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        'signin_failure',
        sa.Column('id', sa.BigInteger(), sa.Identity(), nullable=False),
        sa.Column('at', sa.DateTime(timezone=True), server_default=sa.text('now()'),
                  nullable=False),
        sa.Column('username', sa.String(length=64), nullable=True),
        sa.Column('ip', sa.String(length=64), nullable=True),
        sa.PrimaryKeyConstraint('id'),
    )
    op.create_index('ix_signin_failure_username_at', 'signin_failure', ['username', 'at'])
    op.create_index('ix_signin_failure_ip_at', 'signin_failure', ['ip', 'at'])

    op.create_table(
        'attachment_upload',
        sa.Column('sha256', sa.String(length=64), nullable=False),
        sa.Column('user_id', sa.Integer(), nullable=False),
        sa.Column('at', sa.DateTime(timezone=True), server_default=sa.text('now()'),
                  nullable=False),
        sa.ForeignKeyConstraint(['sha256'], ['attachment.sha256']),
        sa.ForeignKeyConstraint(['user_id'], ['app_user.id']),
        sa.PrimaryKeyConstraint('sha256', 'user_id'),
    )
    op.create_table(
        'record_photo',
        sa.Column('record_id', postgresql.UUID(as_uuid=True), nullable=False),
        sa.Column('sha256', sa.String(length=64), nullable=False),
        sa.Column('named_by', sa.Integer(), nullable=False),
        sa.Column('at', sa.DateTime(timezone=True), server_default=sa.text('now()'),
                  nullable=False),
        sa.ForeignKeyConstraint(['named_by'], ['app_user.id']),
        sa.PrimaryKeyConstraint('record_id', 'sha256', 'named_by'),
    )
    op.create_index('ix_record_photo_sha256', 'record_photo', ['sha256'])
    # Photos uploaded before 0006: their first uploader is the one known.
    op.execute("INSERT INTO attachment_upload (sha256, user_id, at) "
               "SELECT sha256, created_by, created_at FROM attachment "
               "WHERE created_by IS NOT NULL")
    # Records that named photos before 0006 keep them, named by their creator.
    op.execute("INSERT INTO record_photo (record_id, sha256, named_by) "
               "SELECT DISTINCT r.id, p.sha, r.created_by FROM record r, "
               "jsonb_array_elements_text(CASE WHEN jsonb_typeof(r.data->'photos') = 'array' "
               "THEN r.data->'photos' ELSE '[]'::jsonb END) AS p(sha) "
               "WHERE p.sha ~ '^[0-9a-f]{64}$' ON CONFLICT DO NOTHING")

    # A failed sign-in for a name that is no user is audited too.
    op.alter_column('audit_log', 'user_id', existing_type=sa.Integer(), nullable=True)
    op.add_column('device', sa.Column('app_version', sa.String(length=32), nullable=True))
    op.add_column('device', sa.Column('last_push_at', sa.DateTime(timezone=True),
                                      nullable=True))
    op.add_column('app_user', sa.Column('display_name', sa.String(length=64), nullable=True))
    op.add_column('app_user', sa.Column('phone', sa.String(length=32), nullable=True))
    op.add_column('app_user', sa.Column('must_change_password', sa.Boolean(),
                                        server_default='false', nullable=False))


def downgrade():
    op.execute("DELETE FROM audit_log WHERE user_id IS NULL")
    op.alter_column('audit_log', 'user_id', existing_type=sa.Integer(), nullable=False)
    op.drop_column('app_user', 'must_change_password')
    op.drop_column('app_user', 'phone')
    op.drop_column('app_user', 'display_name')
    op.drop_column('device', 'last_push_at')
    op.drop_column('device', 'app_version')
    op.drop_index('ix_record_photo_sha256', table_name='record_photo')
    op.drop_table('record_photo')
    op.drop_table('attachment_upload')
    op.drop_index('ix_signin_failure_ip_at', table_name='signin_failure')
    op.drop_index('ix_signin_failure_username_at', table_name='signin_failure')
    op.drop_table('signin_failure')
