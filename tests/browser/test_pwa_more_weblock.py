"""One sync at a time across tabs: two tabs of one profile, a shared queue, both told to sync at once.

The Web Lock ``gridpatrol-sync`` must let exactly one of them push: the pushes never
overlap, no op goes out twice (a second send would come back ``duplicate``), and PostGIS
holds each op once.
"""
import threading

from tests.browser.test_pwa_helpers import inside_point, login_field, wait_outbox, wait_synced
from tests.browser.test_pwa_queue import QUEUE_JS

GRID = "320105005007003"

CLICK_SYNC = "document.querySelector('[data-testid=sync-now]').click()"


class PushWatch:
    """Every POST /sync/push the context sends: its ops, and how many were in flight at once."""

    def __init__(self, ctx):
        self.lock = threading.Lock()
        self.inflight = 0
        self.max_inflight = 0
        self.pushes: list[list[str]] = []
        ctx.on("request", self.start)
        ctx.on("requestfinished", self.end)
        ctx.on("requestfailed", self.end)

    @staticmethod
    def is_push(req):
        return req.method == "POST" and req.url.endswith("/api/v1/sync/push")

    def start(self, req):
        if self.is_push(req):
            with self.lock:
                self.inflight += 1
                self.max_inflight = max(self.max_inflight, self.inflight)
                self.pushes.append([op["op_id"] for op in req.post_data_json["ops"]])

    def end(self, req):
        if self.is_push(req):
            with self.lock:
                self.inflight -= 1


def test_two_tabs_sync_at_once_push_each_op_once(live_server, new_context, db, make_user):
    user = make_user(None, "patroller", grids=(GRID,))
    p = inside_point(GRID)
    ctx = new_context()
    a = ctx.new_page()
    login_field(a, user)
    b = ctx.new_page()
    b.goto("/")
    b.get_by_test_id("duty-report").wait_for()

    ctx.set_offline(True)
    # Each tab queues its own work into the one outbox of this profile.
    a.evaluate(QUEUE_JS, [450, p["lon"], p["lat"], "lockA"])
    b.evaluate(QUEUE_JS, [450, p["lon"], p["lat"], "lockB"])
    wait_outbox(a, 900)
    wait_outbox(b, 900)
    op_ids = set(a.evaluate("window.gridpatrol.db.outbox.toArray().then(r => r.map(o => o.op_id))"))
    assert len(op_ids) == 900

    watch = PushWatch(ctx)
    ctx.set_offline(False)  # both tabs see "online" and sync...
    a.evaluate(CLICK_SYNC)  # ...and both are told to sync now, as close together as it gets
    b.evaluate(CLICK_SYNC)
    wait_synced(a, timeout=120000)
    wait_synced(b, timeout=120000)

    # 900 ops in batches of at most 500: two pushes, never two at the same time.
    assert watch.max_inflight == 1, watch.max_inflight
    pushed = [op for push in watch.pushes for op in push]
    assert sorted(pushed) == sorted(op_ids), (len(pushed), len(set(pushed)))
    assert all(len(push) <= 500 for push in watch.pushes)

    # Every op was answered "applied" the first time: none was sent twice.
    statuses = a.evaluate("window.gridpatrol.db.history.toArray().then(r => r.map(h => h.status))")
    assert len(statuses) == 900 and set(statuses) == {"applied"}, set(statuses)

    device = a.evaluate("window.gridpatrol.db.kv.get('device_id').then(r => r.value)")
    n_log, n_ops = db.execute(
        "select count(*), count(distinct op_id) from op_log where device_id = %s", (device,)).fetchone()
    assert (n_log, n_ops) == (900, 900)
    for tag in ("lockA", "lockB"):
        n, distinct = db.execute(
            "select count(*), count(distinct data->>'note') from record"
            " where entity = 'inspection' and data->>'note' like %s", (tag + "-%",)).fetchone()
        assert (n, distinct) == (450, 450)
