"""Results to JSON: one conversion for every command that writes numbers."""

from __future__ import annotations

import json
from dataclasses import dataclass

import numpy as np

from baselines.jsonable import to_jsonable


@dataclass(frozen=True)
class _Result:
    x: np.ndarray
    n: np.int64
    ok: np.bool_


def test_numpy_values_and_dataclasses_become_plain_json():
    out = to_jsonable({"r": _Result(np.array([1.5, np.nan, np.inf]), np.int64(3), np.bool_(True)),
                       "t": (np.float32(0.25), [np.int32(2)])})
    assert out == {"r": {"x": [1.5, None, None], "n": 3, "ok": True}, "t": [0.25, [2]]}
    assert json.loads(json.dumps(out, allow_nan=False)) == out
    assert type(out["r"]["n"]) is int and type(out["t"][0]) is float
