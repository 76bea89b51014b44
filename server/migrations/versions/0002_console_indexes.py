"""console: patrol track geometry and indexes for map tiles, desk and statistics

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-24 09:00:00

``record.track`` is generated from ``data.track`` (a patrol's GeoJSON LineString), so
that tiles can find tracks by their own extent. The function never raises: a track
PostGIS cannot read becomes NULL instead of failing the push that stored it.
"""
from alembic import op

revision = '0002'
down_revision = '0001'
branch_labels = None
depends_on = None


def upgrade():
    op.execute("""
        CREATE OR REPLACE FUNCTION gp_track_geom(d jsonb) RETURNS geometry
        LANGUAGE plpgsql IMMUTABLE PARALLEL SAFE AS $$
        BEGIN
            IF jsonb_typeof(d->'track') IS DISTINCT FROM 'object'
               OR d->'track'->>'type' IS DISTINCT FROM 'LineString' THEN
                RETURN NULL;
            END IF;
            BEGIN
                RETURN ST_SetSRID(ST_Force2D(ST_GeomFromGeoJSON(d->'track')), 4326);
            EXCEPTION WHEN OTHERS THEN
                RETURN NULL;
            END;
        END $$
    """)
    op.execute("""
        ALTER TABLE record ADD COLUMN track geometry(LineString, 4326)
        GENERATED ALWAYS AS (gp_track_geom(data)) STORED
    """)
    op.execute("CREATE INDEX ix_record_track ON record USING gist (track) "
               "WHERE track IS NOT NULL")
    # Per-grid newest activity, last visit and patrol days (grid measures, silent grids).
    op.execute("CREATE INDEX ix_record_insp_grid_time ON record (grid_code, created_at) "
               "INCLUDE (kind) WHERE entity = 'inspection' AND NOT deleted")
    # Date-range scans for statistics, covering what they group by.
    op.execute("CREATE INDEX ix_record_insp_time ON record (created_at) INCLUDE (grid_code, kind) "
               "WHERE entity = 'inspection' AND NOT deleted")
    # Open and overdue incidents per grid; the desk's queues.
    op.execute("CREATE INDEX ix_record_incident_grid_status ON record (grid_code, status) "
               "WHERE entity = 'incident' AND NOT deleted")


def downgrade():
    op.execute("DROP INDEX IF EXISTS ix_record_incident_grid_status")
    op.execute("DROP INDEX IF EXISTS ix_record_insp_time")
    op.execute("DROP INDEX IF EXISTS ix_record_insp_grid_time")
    op.execute("DROP INDEX IF EXISTS ix_record_track")
    op.execute("ALTER TABLE record DROP COLUMN IF EXISTS track")
    op.execute("DROP FUNCTION IF EXISTS gp_track_geom(jsonb)")
