"""Leak-free splits: every sample sharing a key (subject, scene) lands in the same split."""

from __future__ import annotations

import hashlib
import math


def _rank(key: str, seed: int) -> str:
    return hashlib.sha256(f"{seed}:{key}".encode()).hexdigest()


def assign_splits(keys: list[str], val: float, test: float, seed: int = 0) -> list[str]:
    """The split ("train", "val" or "test") of each sample, given its grouping key.

    Distinct keys are ordered by a salted hash; the first ceil(test * K) go to test, the next
    ceil(val * K) to val, the rest to train, so a small set still gets every split it asks for.
    """
    distinct = sorted(set(keys), key=lambda k: _rank(k, seed))
    n_test = math.ceil(test * len(distinct)) if test > 0 else 0
    n_val = math.ceil(val * len(distinct)) if val > 0 else 0
    if len(distinct) - n_test - n_val < 1:
        raise ValueError(f"{len(distinct)} groups cannot fill val={val} and test={test} and leave a train split")
    split = {k: "test" for k in distinct[:n_test]}
    split.update({k: "val" for k in distinct[n_test : n_test + n_val]})
    return [split.get(k, "train") for k in keys]
