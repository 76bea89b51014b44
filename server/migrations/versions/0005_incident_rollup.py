"""rollups: per-incident stage summary for statistics and incident tiles; spatial
indexes of live incidents and of patrol tracks

Revision ID: 0005
Revises: 0004

The table starts empty, and the activity rollup's state is reset, so the next refresh
(``flask --app server rollups refresh``, or the first statistics or tile request) rebuilds
every rollup, this one included, in one pass.
"""
import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision = '0005'
down_revision = '0004'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        'incident_rollup',
        sa.Column('record_id', postgresql.UUID(as_uuid=True), nullable=False),
        sa.Column('grid_code', sa.String(length=32), nullable=True),
        sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
        sa.Column('status', sa.String(length=16), nullable=True),
        sa.Column('due_at', sa.DateTime(timezone=True), nullable=True),
        sa.Column('stage_since', sa.DateTime(timezone=True), nullable=True),
        sa.Column('late_urban', sa.Boolean(), nullable=False),
        sa.Column('late_rural', sa.Boolean(), nullable=False),
        sa.Column('deadline_urban', sa.DateTime(timezone=True), nullable=True),
        sa.Column('deadline_rural', sa.DateTime(timezone=True), nullable=True),
        sa.Column('verifications', sa.Integer(), nullable=False),
        sa.Column('reworks', sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint('record_id'),
    )
    op.create_index('ix_incident_rollup_grid_created', 'incident_rollup',
                    ['grid_code', 'created_at'])
    op.execute("CREATE INDEX ix_record_incident_geom ON record USING gist (geom) "
               "WHERE entity = 'incident' AND NOT deleted")
    # The tracks layer's whole condition, so the planner needs no second index (0002 had
    # track IS NOT NULL only, and ANDed it with the 400,000-row (entity, kind) bitmap).
    op.execute("CREATE INDEX ix_record_patrol_track ON record USING gist (track) "
               "WHERE track IS NOT NULL AND entity = 'inspection' AND kind = 'patrol' "
               "AND NOT deleted")
    op.execute("DROP INDEX ix_record_track")
    op.execute("DELETE FROM rollup_state WHERE name = 'activity'")


def downgrade():
    op.execute("CREATE INDEX ix_record_track ON record USING gist (track) "
               "WHERE track IS NOT NULL")
    op.execute("DROP INDEX ix_record_patrol_track")
    op.execute("DROP INDEX ix_record_incident_geom")
    op.drop_index('ix_incident_rollup_grid_created', table_name='incident_rollup')
    op.drop_table('incident_rollup')
