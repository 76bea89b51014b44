"""rollups: inspection counts per grid-day and per zoom-18 cell for statistics and tiles

Revision ID: 0004
Revises: 0003

The tables start empty with ``rollup_state`` absent: the first ``refresh_rollups()``
(``flask --app server rollups refresh``, or the first statistics or tile request) builds
them from ``record`` in one pass, then folds in changes by ``change_seq``.
"""
import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision = '0004'
down_revision = '0003'
branch_labels = None
depends_on = None

KINDS = ("patrol", "visit", "record", "report", "handle")


def _cell_columns():
    return [
        sa.Column('grid_id', sa.BigInteger(), nullable=False),
        sa.Column('created_by', sa.Integer(), nullable=False),
        sa.Column('cx', sa.Integer(), nullable=False),
        sa.Column('cy', sa.Integer(), nullable=False),
        sa.Column('n', sa.Integer(), nullable=True),
        sa.Column('sx', sa.Float(precision=53), nullable=True),
        sa.Column('sy', sa.Float(precision=53), nullable=True),
        *[sa.Column(f'n_{k}', sa.Integer(), server_default='0', nullable=True) for k in KINDS],
    ]


def upgrade():
    op.create_table(
        'rollup_state',
        sa.Column('name', sa.String(length=32), nullable=False),
        sa.Column('last_seq', sa.BigInteger(), server_default='0', nullable=False),
        sa.Column('refreshed_at', sa.DateTime(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint('name'),
    )
    op.create_table(
        'rollup_member',
        sa.Column('record_id', postgresql.UUID(as_uuid=True), nullable=False),
        sa.Column('grid_code', sa.String(length=32), nullable=False),
        sa.PrimaryKeyConstraint('record_id'),
    )
    op.create_table(
        'grid_day_activity',
        sa.Column('grid_code', sa.String(length=32), nullable=False),
        sa.Column('day', sa.Date(), nullable=False),
        sa.Column('n', sa.Integer(), nullable=False),
        *[sa.Column(f'n_{k}', sa.Integer(), server_default='0', nullable=True) for k in KINDS],
        sa.Column('last_at', sa.DateTime(timezone=True), nullable=False),
        sa.Column('last_visit_at', sa.DateTime(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint('grid_code', 'day'),
    )
    op.create_table(
        'cell_day_activity',
        sa.Column('grid_code', sa.String(length=32), nullable=False),
        sa.Column('day', sa.Date(), nullable=False),
        *_cell_columns(),
        sa.PrimaryKeyConstraint('grid_code', 'day', 'grid_id', 'created_by', 'cx', 'cy'),
    )
    op.create_index('ix_cell_day_activity_day_cell', 'cell_day_activity', ['day', 'cx', 'cy'])
    op.create_table(
        'cell_activity',
        sa.Column('grid_code', sa.String(length=32), nullable=False),
        *_cell_columns(),
        sa.PrimaryKeyConstraint('grid_code', 'grid_id', 'created_by', 'cx', 'cy'),
    )
    op.create_index('ix_cell_activity_cell', 'cell_activity', ['cx', 'cy'])


def downgrade():
    op.drop_index('ix_cell_activity_cell', table_name='cell_activity')
    op.drop_table('cell_activity')
    op.drop_index('ix_cell_day_activity_day_cell', table_name='cell_day_activity')
    op.drop_table('cell_day_activity')
    op.drop_table('grid_day_activity')
    op.drop_table('rollup_member')
    op.drop_table('rollup_state')
