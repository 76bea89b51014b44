"""op_seq_use: device slots used up by ops already known under another slot

Revision ID: 0003
Revises: 0002
"""
import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision = '0003'
down_revision = '0002'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        'op_seq_use',
        sa.Column('device_id', sa.String(length=128), nullable=False),
        sa.Column('device_seq', sa.BigInteger(), nullable=False),
        sa.Column('op_id', postgresql.UUID(as_uuid=True), nullable=False),
        sa.Column('created_at', sa.DateTime(timezone=True), server_default=sa.text('now()'),
                  nullable=False),
        sa.PrimaryKeyConstraint('device_id', 'device_seq'),
    )


def downgrade():
    op.drop_table('op_seq_use')
