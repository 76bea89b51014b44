"""Per-device ordering: ops take effect in ``device_seq`` order, and wait out gaps."""

from __future__ import annotations

from collections.abc import Iterable


def plan(next_seq: int, waiting: Iterable[int]) -> tuple[list[int], list[int], int]:
    """Split waiting sequence numbers into those ready now and those still held.

    Parameters
    ----------
    next_seq : int
        The device's first sequence number not yet used up.
    waiting : iterable of int
        Sequence numbers of new and held ops, all distinct.

    Returns
    -------
    ready, held, next_seq
        ``ready`` in the order to apply them. A number below ``next_seq`` fills a gap
        that was given up on after the hold timeout; it is ready at once.

    Examples
    --------
    >>> plan(1, [3, 1, 2, 5])
    ([1, 2, 3], [5], 4)
    >>> plan(4, [6, 7])
    ([], [6, 7], 4)
    >>> plan(10, [2, 10])
    ([2, 10], [], 11)
    """
    pending = sorted(set(waiting))
    ready = [s for s in pending if s < next_seq]
    held: list[int] = []
    for seq in pending:
        if seq < next_seq:
            continue
        if seq == next_seq and not held:
            ready.append(seq)
            next_seq += 1
        else:
            held.append(seq)
    return ready, held, next_seq


def release(next_seq: int, held: Iterable[int]) -> tuple[list[int], int]:
    """Give up on the gaps: every held op becomes ready, in order.

    >>> release(3, [7, 5])
    ([5, 7], 8)
    >>> release(3, [])
    ([], 3)
    """
    order = sorted(set(held))
    return order, max([next_seq - 1, *order]) + 1
