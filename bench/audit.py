"""What the hash-chained audit log costs the requests that write it.

    .venv/bin/python bench/audit.py [--threads 8] [--rounds 40] [--work-ms 5]

1. One entry and its COMMIT, back to back, against one plain row and its COMMIT.
2. ``--threads`` writers whose transactions do ``--work-ms`` of SQL (a pull's worth)
   and then write one entry: entries inserted just before COMMIT (what
   ``server/services/audit.py`` does) against entries inserted before the work, which
   holds the chain head's lock through it, and a plain row instead of an entry.
3. A pull of one page that reads households unmasked (a grid leader: one entry) against
   the same pull masked (a patroller: no entry), in process.

Prints figures; asserts nothing about time. Ends with ``audit verify``'s result.
"""

from __future__ import annotations

import argparse
import statistics
import threading
import time
import uuid
from collections.abc import Callable
from typing import Any

from harness import machine, scratch_database
from sqlalchemy import text


def timed(fn: Callable[[], Any], n: int) -> list[float]:
    out = []
    for _ in range(n):
        t0 = time.perf_counter()
        fn()
        out.append((time.perf_counter() - t0) * 1000)
    return out


def ms(values: list[float]) -> str:
    values = sorted(values)
    return (f"median {statistics.median(values):.2f} ms, "
            f"p95 {values[int(len(values) * 0.95) - 1]:.2f} ms")


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--threads", type=int, default=8)
    parser.add_argument("--rounds", type=int, default=40)
    parser.add_argument("--work-ms", type=float, default=5.0)
    opts = parser.parse_args()
    print(machine())
    with scratch_database() as url:
        from server import create_app
        from server.extensions import db
        from server.services import audit

        app = create_app({"SQLALCHEMY_DATABASE_URI": url, "SECRET_KEY": "bench",
                          "SQLALCHEMY_ENGINE_OPTIONS": {"pool_size": opts.threads + 2}})
        with app.app_context():
            db.session.execute(text("CREATE TABLE bench_write (n int, note text)"))
            db.session.commit()

            def bare() -> None:
                db.session.execute(text("INSERT INTO bench_write VALUES (1, 'bench')"))
                db.session.commit()

            def one_entry() -> None:
                audit.record("bench.entry", object="bench", detail={"n": 1})
                db.session.commit()

            timed(one_entry, 50)
            print(f"one plain row + COMMIT:  {ms(timed(bare, 500))}")
            print(f"one entry + COMMIT:      {ms(timed(one_entry, 500))}")

        def writers(late: bool | None) -> float:
            barrier = threading.Barrier(opts.threads)

            def run() -> None:
                with app.app_context():
                    barrier.wait()
                    for _ in range(opts.rounds):
                        if late is None:  # no entry: a plain row instead
                            db.session.execute(text("INSERT INTO bench_write VALUES (2, 'x')"))
                        elif late:
                            audit.record("bench.late", object="bench")
                        else:  # the entry first: the head stays locked through the work
                            audit._insert(db.session(), [{
                                "action": "bench.early", "object": "bench", "result": "ok",
                                "record_ids": [], "detail": {}}])
                        db.session.execute(text("SELECT pg_sleep(:s)"),
                                           {"s": opts.work_ms / 1000})
                        db.session.commit()

            threads = [threading.Thread(target=run) for _ in range(opts.threads)]
            t0 = time.perf_counter()
            for t in threads:
                t.start()
            for t in threads:
                t.join()
            return opts.threads * opts.rounds / (time.perf_counter() - t0)

        ideal = 1000 / opts.work_ms * opts.threads
        print(f"{opts.threads} writers, {opts.work_ms} ms of SQL each, then one entry "
              f"(at most {ideal:.0f}/s):")
        print(f"  a plain row instead of an entry:   {writers(None):.0f} transactions/s")
        print(f"  entry inserted just before COMMIT: {writers(True):.0f} transactions/s")
        print(f"  entry inserted before the work:    {writers(False):.0f} transactions/s")

        client = app.test_client()
        from tests.conftest import ApiClient
        from tests.sync.helpers import household

        runner = app.test_cli_runner()
        grid, point = "320105001001001", (118.7347, 32.0167)
        for name, role in (("bench_leader", "grid_leader"), ("bench_patrol", "patroller")):
            runner.invoke(args=["users", "create", name, "--role", role, "--grid", grid],
                          input="pw-123456\n")
        leader = ApiClient(client, "bench_leader")
        patrol = ApiClient(client, "bench_patrol")
        leader.push(*[leader.op("household", "create", household(point), id=str(uuid.uuid4()))
                      for _ in range(50)])
        for who in (leader, patrol):
            timed(lambda who=who: who.get("/api/v1/sync/pull?limit=50"), 20)
        print(f"pull of 50 households, unmasked (one entry): "
              f"{ms(timed(lambda: leader.get('/api/v1/sync/pull?limit=50'), 300))}")
        print(f"pull of 50 households, masked (no entry):    "
              f"{ms(timed(lambda: patrol.get('/api/v1/sync/pull?limit=50'), 300))}")
        with app.app_context():
            count, finding, _ = audit.verify()
            print(f"audit verify: {count} entries, {finding or 'ok'}")
            t0 = time.perf_counter()
            audit.verify()
            print(f"verify speed: {count / (time.perf_counter() - t0):.0f} entries/s")
            db.engine.dispose()


if __name__ == "__main__":
    main()
