"""Property-based sync tests (hypothesis) on real PostGIS.

Random interleavings of ops from several devices, with duplication and reordering:
every op is accounted for, no incoming value is lost, replays change nothing, and the
final state does not depend on how one arrival order was split into pushes.
"""

from __future__ import annotations

import uuid
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.conftest import ApiClient
from tests.sync.helpers import GRID, household

FIELDS = {
    "note": st.sampled_from(["甲", "乙", "丙"]),
    "room": st.sampled_from(["101", "102"]),
    "members": st.integers(1, 3),
    "tags": st.lists(st.sampled_from(["独居老人", "低保", "残疾"]), max_size=2, unique=True),
}
edit = st.tuples(st.integers(0, 1), st.dictionaries(st.sampled_from(sorted(FIELDS)),
                                                    st.nothing(), min_size=1, max_size=2))


@st.composite
def scenario(draw: Any) -> dict[str, Any]:
    """Per device: a list of (record index, {field: value}) updates or deletes."""
    n_devices = draw(st.integers(2, 3))
    plans = []
    for _ in range(n_devices):
        steps = []
        for _ in range(draw(st.integers(1, 5))):
            rec = draw(st.integers(0, 1))
            if draw(st.integers(0, 9)) == 0:
                steps.append((rec, None))
                continue
            names = draw(st.sets(st.sampled_from(sorted(FIELDS)), min_size=1, max_size=2))
            steps.append((rec, {n: draw(FIELDS[n]) for n in sorted(names)}))
        plans.append(steps)
    # Arrival: a random interleaving of the devices' pushes, each push a run of one device.
    order = draw(st.permutations([d for d, steps in enumerate(plans) for _ in steps]))
    cuts = draw(st.lists(st.booleans(), min_size=len(order), max_size=len(order)))
    cuts2 = draw(st.lists(st.booleans(), min_size=len(order), max_size=len(order)))
    swap = draw(st.booleans())
    dup = draw(st.booleans())
    defer = draw(st.booleans())
    return {"plans": plans, "order": order, "cuts": cuts, "cuts2": cuts2, "swap": swap,
            "dup": dup, "defer": defer}


def build_world(client: Any, users: list[str], plans: list, inside: tuple[float, float]):
    """Fresh devices and records for one run of a scenario."""
    devices = [ApiClient(client, u) for u in users[: len(plans) + 1]]
    creator = devices[-1]
    rids = [str(uuid.uuid4()), str(uuid.uuid4())]
    creator.push(*[creator.op("household", "create", household(inside), id=r) for r in rids])
    queues = []
    for dev, steps in zip(devices, plans, strict=False):
        ops = []
        for rec, data in steps:
            action = "delete" if data is None else "update"
            ops.append(dev.op("household", action, data, id=rids[rec], base_version=1))
        queues.append(ops)
    return devices, rids, queues


def arrivals(s: dict[str, Any], queues: list[list[dict]], cuts: list[bool]) -> list[tuple[int, list]]:
    """The pushes, in arrival order: (device index, ops).

    The arrival order of the ops is fixed first, the same for every split; only then is
    it cut into pushes, each a run of one device's ops.
    """
    taken = [0] * len(queues)
    sequence: list[tuple[int, dict]] = []
    for d in s["order"]:
        sequence.append((d, queues[d][taken[d]]))
        taken[d] += 1
    if s["defer"]:
        # A device's first op arrives last: its later ops are held until the gap fills.
        sequence.append(sequence.pop(0))
    pushes: list[tuple[int, list]] = []
    for i, (d, op) in enumerate(sequence):
        if pushes and pushes[-1][0] == d and not cuts[i]:
            pushes[-1][1].append(op)
        else:
            pushes.append((d, [op]))
    if s["swap"]:
        # Within one push the order on the wire does not matter: device_seq decides.
        pushes = [(d, ops[::-1]) for d, ops in pushes]
    return pushes


def run(devices: list[ApiClient], pushes: list[tuple[int, list]], dup: bool) -> dict[str, dict]:
    outcome: dict[str, dict] = {}
    for i, (d, ops) in enumerate(pushes):
        results = devices[d].push(*ops)
        assert len(results) == len(ops)
        for op, res in zip(ops, results, strict=True):
            assert res["op_id"] == op["op_id"]
            assert res["status"] in ("applied", "merged", "conflict", "held", "duplicate")
            outcome[op["op_id"]] = res
        if dup and i % 2 == 0:
            assert all(r["status"] == "duplicate" for r in devices[d].push(*ops))
    return outcome


def state(db, rids: list[str]) -> list[tuple]:
    rows = db.execute("SELECT id::text, version, data, deleted, conflict FROM record "
                      "WHERE id = ANY(%s::uuid[])", (rids,)).fetchall()
    by_id = {r[0]: r[1:] for r in rows}
    return [by_id[r] for r in rids]


def check_nothing_lost(db, queues: list[list[dict]]) -> None:
    for ops in queues:
        for op in ops:
            status, result = db.execute("SELECT status, result FROM op_log WHERE op_id = %s",
                                        (op["op_id"],)).fetchone()
            assert status in ("applied", "merged", "conflict"), (status, result)
            kept = db.execute("SELECT incoming FROM conflict WHERE op_id = %s",
                              (op["op_id"],)).fetchone()
            version = db.execute("SELECT data, deleted FROM record_version WHERE op_id = %s",
                                 (op["op_id"],)).fetchone()
            if status == "conflict":
                assert kept is not None
                expected = op["data"] or {"deleted": True}
                assert kept[0] == expected
            if op["action"] == "delete" or version is None:
                assert status == "conflict" or version is not None or result["version"]
                continue
            for name, value in op["data"].items():
                stored = version[0].get(name)
                if name == "tags":
                    assert set(value) <= set(stored)
                else:
                    assert stored == value


@settings(max_examples=25, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
@given(s=scenario())
def test_random_interleavings(s, client, make_user, inside_points, db):
    users = [make_user(role="grid_leader", grids=[GRID]) for _ in range(4)] \
        if not hasattr(test_random_interleavings, "users") else test_random_interleavings.users
    test_random_interleavings.users = users
    inside = inside_points[GRID]

    devices, rids, queues = build_world(client, users, s["plans"], inside)
    run(devices, arrivals(s, queues, s["cuts"]), s["dup"])
    final = state(db, rids)
    check_nothing_lost(db, queues)

    # Replays change nothing.
    for dev, ops in zip(devices, queues, strict=False):
        assert all(r["status"] == "duplicate" for r in dev.push(*ops))
    assert state(db, rids) == final

    # The same arrival order split into other pushes ends in the same state.
    devices2, rids2, queues2 = build_world(client, users, s["plans"], inside)
    run(devices2, arrivals(s, queues2, s["cuts2"]), dup=False)
    assert state(db, rids2) == final
