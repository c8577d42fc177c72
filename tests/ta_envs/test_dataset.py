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


@pytest.mark.parametrize("workers, persistent", [(0, False), (2, False), (2, True), (3, True)])
def test_dataloader_epochs_draw_new_batches_the_same_for_any_worker_count(workers, persistent):
    """The real torch DataLoader: every epoch new batches, reproducible from the seed, and the
    same stream with 0, 2 or 3 workers, persistent or not."""
    pytest.importorskip("torch")
    from torch.utils.data import DataLoader

    def epochs(w, p):
        ds = make_dataset("TemporalFlipFlop-v0", 4, 24, seed=0)
        kw = {"num_workers": w, "batch_size": None}
        if w:
            kw.update(persistent_workers=p, multiprocessing_context="fork")
        loader = DataLoader(ds.torch(batches_per_epoch=5), **kw)
        return [[b["symbols"].numpy().tobytes() for b in loader] for _ in range(3)]

    ref = epochs(0, False)
    assert len(set(sum(ref, []))) == 15  # 3 epochs x 5 batches, no batch repeated
    assert epochs(workers, persistent) == ref
    ds = make_dataset("TemporalFlipFlop-v0", 4, 24, seed=0)
    assert ref[1][2] == ds.batch_at(1, 2).symbols.tobytes()  # epoch 1, batch 2, drawn directly
    other = make_dataset("TemporalFlipFlop-v0", 4, 24, seed=1)
    assert other.batch_at(0, 0).symbols.tobytes() != ref[0][0]


def test_torch_adapter_yields_tensors_of_each_batch_key():
    torch = pytest.importorskip("torch")
    ds = make_dataset("RelativeTimingFlipFlop-v0", 3, 10, seed=4)
    t = next(iter(ds.torch()))
    assert set(t) == set(ds.batch_at(0, 0).keys())
    assert t["inputs"].dtype == torch.float32 and t["targets"].dtype == torch.int64
    np.testing.assert_array_equal(t["targets"].numpy(), ds.batch_at(0, 0).targets)
    with pytest.raises(TypeError, match="no len"):
        len(ds.torch())
    assert len(ds.torch(batches_per_epoch=7)) == 7


def test_sample_into_reuses_memory_and_gives_the_stream_values():
    for task in ("TemporalFlipFlop-v0", "RelativeTimingFlipFlop-v0", "FlipFlop-v0"):
        a, b = make_dataset(task, 8, 30, seed=2), make_dataset(task, 8, 30, seed=2)
        buf = b.empty_batch()
        ptrs = {k: v.__array_interface__["data"][0] for k, v in buf.as_dict().items()}
        for _ in range(3):
            want = next(a)
            got = b.sample_into(buf)
            for k in want.keys():
                np.testing.assert_array_equal(getattr(got, k), getattr(want, k))
        assert {k: v.__array_interface__["data"][0] for k, v in buf.as_dict().items()} == ptrs
    with pytest.raises(ValueError, match="batch of shape"):
        make_dataset("TemporalFlipFlop-v0", 4, 30, seed=0).sample_into(buf)
