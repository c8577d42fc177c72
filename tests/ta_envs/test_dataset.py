"""Supervised datasets: shapes, freshness, determinism, validation sets, torch adapter."""

from __future__ import annotations

import numpy as np
import pytest

from ta_envs import make_dataset, temporal_flipflop


def test_shapes_and_dtypes():
    ds = make_dataset("RelativeTimingFlipFlop-v0", batch_size=5, seq_len=11, seed=0)
    b = next(ds)
    assert b.inputs.shape == (5, 11, 3) and b.inputs.dtype == np.float32
    assert b.targets.shape == (5, 11) and b.targets.dtype == np.int64
    assert b.mask_td.dtype == b.mask_ti.dtype == np.bool_
    assert b.theta.shape == (5, 11) and b.clocks.shape == (5, 11, 1)
    assert (b.mask_td ^ b.mask_ti).all()
    assert b["inputs"] is b.inputs and set(b.as_dict()) == set(b.keys())
    assert ds.input_size == 3 and ds.num_outputs == 2


def test_time_major_is_the_transpose_of_batch_first():
    a = next(make_dataset("TemporalFlipFlop-v0", 4, 9, seed=3))
    b = next(make_dataset("TemporalFlipFlop-v0", 4, 9, seed=3, batch_first=False))
    for k in a.keys():
        np.testing.assert_array_equal(np.swapaxes(b[k], 0, 1), a[k])
        assert b[k].flags.c_contiguous


def test_batches_are_fresh_arrays():
    ds = make_dataset("TemporalFlipFlop-v0", 8, 24, seed=0)
    b1, b2 = next(ds), next(ds)
    for k in b1.keys():
        assert not np.shares_memory(b1[k], b2[k])
    assert not np.array_equal(b1.symbols, b2.symbols)
    b1.targets[:] = 7  # mutating one batch does not touch the task's tables
    assert next(ds).targets.max() <= 1


def test_same_seed_same_data_different_seed_different_data():
    a = [next(iter(make_dataset("FlipFlop-v0", 4, 30, seed=5))) for _ in range(2)]
    np.testing.assert_array_equal(a[0].inputs, a[1].inputs)
    c = next(make_dataset("FlipFlop-v0", 4, 30, seed=6))
    assert not np.array_equal(a[0].inputs, c.inputs)


def test_fixed_validation_set():
    ds = make_dataset("TemporalFlipFlop-v0", 8, 24, seed=0)
    v1 = ds.fixed(16)
    train = next(ds)
    v2 = ds.fixed(16)
    np.testing.assert_array_equal(v1.symbols, v2.symbols)
    assert not np.array_equal(v1.symbols[:8], train.symbols)
    long = ds.fixed(4, seq_len=96)
    assert long.inputs.shape == (4, 96, 2)
    other = make_dataset("TemporalFlipFlop-v0", 8, 24, seed=0)
    np.testing.assert_array_equal(next(other).symbols, train.symbols)  # fixed() drew nothing


def test_custom_automaton_and_task_objects():
    a = temporal_flipflop(period=3).automaton
    b = next(make_dataset(a, 2, 6, seed=0, symbol_probs=[1.0, 0.0]))
    assert (b.symbols == 0).all()
    np.testing.assert_array_equal(b.targets[0], [0, 0, 1, 0, 0, 1])  # Θ(t)=1 iff t mod 3 >= 2
    b2 = next(make_dataset(a.to_dict(), 2, 6, seed=0, symbol_probs=[1.0, 0.0]))
    np.testing.assert_array_equal(b.targets, b2.targets)


@pytest.mark.parametrize("kw, err, fragment", [
    (dict(batch_size=0), ValueError, "batch_size"),
    (dict(seq_len=2.5), TypeError, "seq_len"),
    (dict(seed=-1), ValueError, "seed"),
    (dict(batch_first="yes"), TypeError, "batch_first"),
    (dict(symbol_probs=[0.5, 0.6]), ValueError, "sum to 1"),
    (dict(symbol_probs=[1.0]), ValueError, "symbol_probs"),
])
def test_bad_arguments(kw, err, fragment):
    args = dict(batch_size=2, seq_len=3, seed=0)
    args.update(kw)
    task = temporal_flipflop(period=3).automaton if "symbol_probs" in kw else "TemporalFlipFlop-v0"
    with pytest.raises(err) as e:
        make_dataset(task, **args)
    assert fragment in str(e.value)


def test_unknown_task_id():
    with pytest.raises(ValueError, match="unknown task id"):
        make_dataset("NoSuchTask-v0", 2, 3)


torch = pytest.importorskip("torch")


def test_torch_adapter_workers_draw_distinct_streams():
    from torch.utils.data import DataLoader

    ds = make_dataset("TemporalFlipFlop-v0", 4, 24, seed=0)
    loader = DataLoader(ds.torch(), batch_size=None, num_workers=2)
    seen = []
    for i, batch in enumerate(loader):
        assert batch["inputs"].dtype == torch.float32 and batch["targets"].dtype == torch.int64
        seen.append(batch["symbols"].numpy().tobytes())
        if i == 7:
            break
    assert len(set(seen)) == len(seen)
    # the two workers' streams are the dataset's splits 0 and 1
    s0, s1 = next(ds.split(0)), next(ds.split(1))
    assert s0.symbols.tobytes() in seen and s1.symbols.tobytes() in seen


def test_torch_adapter_single_process_follows_the_dataset():
    a = make_dataset("RelativeTimingFlipFlop-v0", 3, 10, seed=4)
    b = make_dataset("RelativeTimingFlipFlop-v0", 3, 10, seed=4)
    t = next(iter(a.torch()))
    np.testing.assert_array_equal(t["targets"].numpy(), next(b).targets)
