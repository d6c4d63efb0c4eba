"""How many examples a property test draws.

`make test`, CI (`CI` set) and a plain `pytest` draw each test's full count. `make test-fast`
sets COUNTERSIGN_FAST_TESTS=1 and draws a fifth (at least 10): the inner loop wants an answer in
about a minute, and the full count still runs before anything lands. Tests that name no count
get the `fast` profile's (tests/conftest.py) in that loop, Hypothesis's default of 100 otherwise.
"""

from __future__ import annotations

import os

FAST = os.environ.get("COUNTERSIGN_FAST_TESTS") == "1" and not os.environ.get("CI")
FAST_SHARE = 5


def examples(full: int) -> int:
    """`full` examples, or a fifth of them (at least 10) in the fast loop."""
    return max(10, full // FAST_SHARE) if FAST else full
