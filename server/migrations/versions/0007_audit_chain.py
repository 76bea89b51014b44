"""audit log: who, from where, what, on what, with what result; append-only and
hash-chained

Revision ID: 0007
Revises: 0006

Each entry stores ``seq`` (its place in the chain, without gaps), ``prev_hash`` and
``hash`` = SHA-256 over ``prev_hash`` and a canonical serialisation of the entry
(``sync/audit_chain.py`` writes the same serialisation in Python, for ``audit verify``).

The hash is computed by a BEFORE INSERT trigger, so that every writer (any node, thread
or raw SQL) joins the one chain: the trigger locks the single row of ``audit_chain`` (the
chain head), which serialises writers until their transaction commits; in READ COMMITTED
a writer that waited reads the head its predecessor committed. The application inserts
its entries just before COMMIT (``server/services/audit.py``), so the lock is held for
one round trip.

Append-only: UPDATE and TRUNCATE are always refused. DELETE is refused unless the
transaction set ``gridpatrol.audit_prune = on`` (``audit prune`` does, with SET LOCAL),
and even then only for entries older than 180 days, and only as a prefix of the chain:
the statement-level trigger checks that what went was the oldest entries, contiguous
from the anchor, and moves the anchor (``audit_chain.anchor_seq``/``anchor_hash``, the
last pruned entry) so the rest still verifies. ``audit_chain`` itself can only be changed
by these triggers. A setting is no barrier against a role that may run any SQL (or a
superuser, who may disable triggers): the chain, its head and the anchor make such
changes detectable by ``audit verify``, which is why operations keep its output off-host.

Existing rows (unmasked reads, written by 0001..0006) are kept, given a username
snapshot, their device from ``detail`` and result ``ok``, and chained in ``id`` order.
"""
import sqlalchemy as sa
from alembic import op

revision = '0007'
down_revision = '0006'
branch_labels = None
depends_on = None

GENESIS = '0' * 64

FUNCTIONS = r"""
CREATE FUNCTION audit_token(v text) RETURNS text
LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
    SELECT coalesce(octet_length(v)::text || ':' || v, '~')
$$;

CREATE FUNCTION audit_entry_hash(
    prev_hash text, seq bigint, at timestamptz, user_id integer, username text,
    device_id text, ip text, action text, object text, result text, entity text,
    record_ids text[], detail jsonb) RETURNS text
LANGUAGE sql STABLE PARALLEL SAFE AS $$
    SELECT encode(sha256(convert_to(
        audit_token(prev_hash) || 'gridpatrol-audit-v1'
        || audit_token(seq::text)
        || audit_token(to_char(at AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"'))
        || audit_token(user_id::text) || audit_token(username) || audit_token(device_id)
        || audit_token(ip) || audit_token(action) || audit_token(object)
        || audit_token(result) || audit_token(entity)
        || audit_token(coalesce(cardinality(record_ids), 0)::text)
        || coalesce((SELECT string_agg(audit_token(x), '' ORDER BY n)
                     FROM unnest(record_ids) WITH ORDINALITY AS u(x, n)), '')
        || audit_token(detail::text), 'UTF8')), 'hex')
$$;

-- Chains every new entry: the head row's lock serialises writers until they commit.
CREATE FUNCTION audit_log_chain() RETURNS trigger
LANGUAGE plpgsql AS $$
DECLARE
    v_seq bigint;
    v_hash text;
BEGIN
    IF NEW.username IS NULL AND NEW.user_id IS NOT NULL THEN
        SELECT u.username INTO NEW.username FROM app_user u WHERE u.id = NEW.user_id;
    END IF;
    NEW.at := coalesce(NEW.at, now());
    NEW.result := coalesce(NEW.result, 'ok');
    NEW.record_ids := coalesce(NEW.record_ids, '{}');
    NEW.detail := coalesce(NEW.detail, '{}'::jsonb);
    SELECT c.head_seq, c.head_hash INTO v_seq, v_hash
    FROM audit_chain c WHERE c.id = 1 FOR UPDATE;
    NEW.seq := v_seq + 1;
    NEW.prev_hash := v_hash;
    NEW.hash := audit_entry_hash(v_hash, NEW.seq, NEW.at, NEW.user_id, NEW.username,
        NEW.device_id, NEW.ip, NEW.action, NEW.object, NEW.result, NEW.entity,
        NEW.record_ids, NEW.detail);
    UPDATE audit_chain SET head_seq = NEW.seq, head_hash = NEW.hash WHERE id = 1;
    RETURN NEW;
END
$$;

CREATE FUNCTION audit_log_guard() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP = 'DELETE'
       AND current_setting('gridpatrol.audit_prune', true) = 'on'
       AND OLD.at < now() - interval '180 days' THEN
        RETURN OLD;
    END IF;
    RAISE EXCEPTION 'audit_log is append-only: % refused', TG_OP
        USING ERRCODE = 'insufficient_privilege',
              HINT = 'only "flask audit prune" deletes, and only entries older than 180 days';
END
$$;

-- After a prune: what went must be the oldest entries, contiguous from the anchor; the
-- last of them becomes the anchor the remaining chain starts from.
CREATE FUNCTION audit_log_pruned() RETURNS trigger
LANGUAGE plpgsql AS $$
DECLARE
    lo bigint;
    hi bigint;
    n bigint;
    anchor bigint;
BEGIN
    SELECT min(seq), max(seq), count(*) INTO lo, hi, n FROM gone;
    IF n = 0 THEN
        RETURN NULL;
    END IF;
    SELECT c.anchor_seq INTO anchor FROM audit_chain c WHERE c.id = 1 FOR UPDATE;
    IF lo <> anchor + 1 OR hi - lo + 1 <> n
       OR EXISTS (SELECT 1 FROM audit_log a WHERE a.seq < hi) THEN
        RAISE EXCEPTION 'audit_log prune must remove the oldest entries, in chain order'
            USING ERRCODE = 'insufficient_privilege';
    END IF;
    UPDATE audit_chain SET anchor_seq = hi, anchor_at = now(),
        anchor_hash = (SELECT g.hash FROM gone g WHERE g.seq = hi)
    WHERE id = 1;
    RETURN NULL;
END
$$;

CREATE FUNCTION audit_chain_guard() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    -- Depth 1 is a statement on audit_chain itself; the audit_log triggers run at 2.
    IF pg_trigger_depth() < 2 THEN
        RAISE EXCEPTION 'audit_chain is maintained by the audit_log triggers only'
            USING ERRCODE = 'insufficient_privilege';
    END IF;
    RETURN CASE WHEN TG_OP = 'DELETE' THEN OLD ELSE NEW END;
END
$$;

CREATE FUNCTION audit_refuse_truncate() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION '% is append-only: TRUNCATE refused', TG_TABLE_NAME
        USING ERRCODE = 'insufficient_privilege';
END
$$;
"""

TRIGGERS = """
CREATE TRIGGER audit_log_chain BEFORE INSERT ON audit_log
    FOR EACH ROW EXECUTE FUNCTION audit_log_chain();
CREATE TRIGGER audit_log_guard BEFORE UPDATE OR DELETE ON audit_log
    FOR EACH ROW EXECUTE FUNCTION audit_log_guard();
CREATE TRIGGER audit_log_pruned AFTER DELETE ON audit_log
    REFERENCING OLD TABLE AS gone FOR EACH STATEMENT EXECUTE FUNCTION audit_log_pruned();
CREATE TRIGGER audit_log_truncate BEFORE TRUNCATE ON audit_log
    FOR EACH STATEMENT EXECUTE FUNCTION audit_refuse_truncate();
CREATE TRIGGER audit_chain_guard BEFORE INSERT OR UPDATE OR DELETE ON audit_chain
    FOR EACH ROW EXECUTE FUNCTION audit_chain_guard();
CREATE TRIGGER audit_chain_truncate BEFORE TRUNCATE ON audit_chain
    FOR EACH STATEMENT EXECUTE FUNCTION audit_refuse_truncate();
"""


def upgrade():
    op.alter_column('audit_log', 'action', existing_type=sa.String(length=32),
                    type_=sa.String(length=64), existing_nullable=False)
    for name, type_ in (('seq', sa.BigInteger()), ('username', sa.String(length=64)),
                        ('device_id', sa.String(length=128)), ('ip', sa.String(length=64)),
                        ('object', sa.String(length=256)), ('result', sa.String(length=64)),
                        ('prev_hash', sa.String(length=64)), ('hash', sa.String(length=64))):
        op.add_column('audit_log', sa.Column(name, type_, nullable=True))
    op.create_table(
        'audit_chain',
        sa.Column('id', sa.SmallInteger(), autoincrement=False, nullable=False),
        sa.Column('head_seq', sa.BigInteger(), nullable=False),
        sa.Column('head_hash', sa.String(length=64), nullable=False),
        sa.Column('anchor_seq', sa.BigInteger(), nullable=False),
        sa.Column('anchor_hash', sa.String(length=64), nullable=False),
        sa.Column('anchor_at', sa.DateTime(timezone=True), nullable=True),
        sa.CheckConstraint('id = 1', name='ck_audit_chain_one_row'),
        sa.PrimaryKeyConstraint('id'),
    )
    op.execute(FUNCTIONS)
    # Entries written before 0007: the username they had, and their device.
    op.execute("""
        UPDATE audit_log a SET username = u.username FROM app_user u WHERE u.id = a.user_id
    """)
    op.execute("""
        UPDATE audit_log SET result = 'ok', object = entity,
            device_id = left(detail->>'device_id', 128)
    """)
    op.execute(f"INSERT INTO audit_chain VALUES (1, 0, '{GENESIS}', 0, '{GENESIS}', NULL)")
    # Chain them in the order they were written (set-based would need a recursive CTE
    # over every row; a migration loop over a small table is clearer).
    op.execute(f"""
        DO $$
        DECLARE
            r audit_log;
            n bigint := 0;
            h text := '{GENESIS}';
            nh text;
        BEGIN
            FOR r IN SELECT * FROM audit_log ORDER BY id LOOP
                n := n + 1;
                nh := audit_entry_hash(h, n, r.at, r.user_id, r.username, r.device_id,
                    r.ip, r.action, r.object, r.result, r.entity, r.record_ids, r.detail);
                UPDATE audit_log SET seq = n, prev_hash = h, hash = nh WHERE id = r.id;
                h := nh;
            END LOOP;
            UPDATE audit_chain SET head_seq = n, head_hash = h WHERE id = 1;
        END
        $$
    """)
    for name in ('seq', 'result', 'prev_hash', 'hash'):
        op.alter_column('audit_log', name, nullable=False)
    op.alter_column('audit_log', 'result', server_default='ok')
    op.create_index('ix_audit_log_seq', 'audit_log', ['seq'], unique=True)
    op.create_index('ix_audit_log_at', 'audit_log', ['at'])
    op.create_index('ix_audit_log_user_id_seq', 'audit_log', ['user_id', 'seq'])
    op.create_index('ix_audit_log_username_seq', 'audit_log', ['username', 'seq'])
    op.execute(TRIGGERS)


def downgrade():
    for trigger, table in (('audit_chain_truncate', 'audit_chain'),
                           ('audit_chain_guard', 'audit_chain'),
                           ('audit_log_truncate', 'audit_log'),
                           ('audit_log_pruned', 'audit_log'),
                           ('audit_log_guard', 'audit_log'),
                           ('audit_log_chain', 'audit_log')):
        op.execute(f'DROP TRIGGER {trigger} ON {table}')
    op.drop_index('ix_audit_log_username_seq', table_name='audit_log')
    op.drop_index('ix_audit_log_user_id_seq', table_name='audit_log')
    op.drop_index('ix_audit_log_at', table_name='audit_log')
    op.drop_index('ix_audit_log_seq', table_name='audit_log')
    op.drop_table('audit_chain')
    for fn in ('audit_refuse_truncate()', 'audit_chain_guard()', 'audit_log_pruned()',
               'audit_log_guard()', 'audit_log_chain()',
               'audit_entry_hash(text, bigint, timestamptz, integer, text, text, text, text, '
               'text, text, text, text[], jsonb)', 'audit_token(text)'):
        op.execute(f'DROP FUNCTION {fn}')
    # Entries that 0006 could not hold (longer actions) are cut to fit.
    op.execute("UPDATE audit_log SET action = left(action, 32)")
    for name in ('hash', 'prev_hash', 'result', 'object', 'ip', 'device_id', 'username',
                 'seq'):
        op.drop_column('audit_log', name)
    op.alter_column('audit_log', 'action', existing_type=sa.String(length=64),
                    type_=sa.String(length=32), existing_nullable=False)
