"""numpy's BLAS on one thread, for the whole process, from the first product that asks.

Matrix products sum in an order that depends on how many threads BLAS splits them over, so the
published digits of Rao–Scott tests and reliability intervals would depend on the machine's
cores; and BLAS threads would spin against the steps running beside them. Limiting BLAS around
each product (a `threadpool_limits` block) looked up the loaded libraries on every call (about a
tenth of the association step), and two steps in two threads could restore each other's limit
while the other still computed.
"""

from __future__ import annotations

import threading

from threadpoolctl import threadpool_limits

_LOCK = threading.Lock()
_limited = False


def single_threaded_blas() -> None:
    """Make BLAS use one thread in this process from now on (cheap after the first call)."""
    global _limited
    if _limited:
        return
    with _LOCK:
        if not _limited:
            threadpool_limits(limits=1, user_api="blas")  # applied now, never restored
            _limited = True
