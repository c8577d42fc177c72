"""Model protocols: the eight built-ins, user models, the checks at the boundary, widths."""

from __future__ import annotations

import numpy as np
import pytest

torch = pytest.importorskip("torch")

from toy_models import ToyRNN  # noqa: E402

from baselines.models import (  # noqa: E402
    BUILTIN,
    ModelError,
    build_model,
    check_arch_options,
    check_sequence_model,
    count_parameters,
    has_recurrent_interface,
    logits_of,
    predict,
    readout_of,
    require_recurrent,
    spectral_radius,
    width_for_budget,
)
from baselines.models.scan import scan_invariant, scan_log  # noqa: E402

RECURRENT = [a for a, b in BUILTIN.items() if b.recurrent]


@pytest.mark.parametrize("arch", sorted(BUILTIN))
def test_every_builtin_maps_inputs_to_logits(arch):
    model = build_model(arch, 3, 16, 2, generator=torch.Generator().manual_seed(0))
    x = torch.randn(4, 7, 3)
    logits = logits_of(model(x))
    assert logits.shape == (4, 7, 2) and torch.isfinite(logits).all()
    logits.sum().backward()  # trainable end to end
    assert all(p.grad is not None for p in model.parameters() if p.requires_grad)


@pytest.mark.parametrize("arch", RECURRENT)
def test_iterating_step_reproduces_forward_to_1e_5(arch):
    g = torch.Generator().manual_seed(1)
    model = build_model(arch, 3, 12, 2, generator=g)
    assert has_recurrent_interface(model)
    x = torch.randn(5, 40, 3, generator=g)
    with torch.no_grad():
        logits, states = model(x)
        h = model.initial_state(5)
        for t in range(40):
            h = model.step(h, x[:, t])
            torch.testing.assert_close(h, states[:, t], atol=1e-5, rtol=0)
            torch.testing.assert_close(readout_of(model, h, x[:, t]), logits[:, t], atol=1e-5,
                                       rtol=0)


@pytest.mark.parametrize("arch", ["lstm", "mamba"])
def test_the_logits_only_path_gives_forward_logits_and_gradients(arch):
    g = torch.Generator().manual_seed(2)
    model = build_model(arch, 3, 12, 2, generator=g).double()
    x = torch.randn(4, 30, 3, generator=g, dtype=torch.float64)
    torch.testing.assert_close(model.logits(x), logits_of(model(x)), atol=1e-12, rtol=0)
    grads = []
    for f in (model.logits, lambda v: logits_of(model(v))):
        model.zero_grad()
        f(x).pow(2).sum().backward()
        grads.append([p.grad.clone() for p in model.parameters()])
    for a, b in zip(*grads):
        torch.testing.assert_close(a, b, atol=1e-10, rtol=0)
    assert predict(model, x) is not None and torch.equal(predict(model, x), model.logits(x))
    torch.testing.assert_close(predict(model, x, chunk=3), model.logits(x), atol=1e-12, rtol=0)


def test_a_logits_method_that_disagrees_with_forward_is_refused():
    class Wrong(ToyRNN):
        def logits(self, inputs):
            return self.forward(inputs)[0] + 1.0

    with pytest.raises(ModelError, match="logits\\(inputs\\) must return forward's logits"):
        check_sequence_model(Wrong(2, 4, 1), 2, 1, name="Wrong")


@pytest.mark.parametrize("arch", ["lru", "mingru", "mamba"])
def test_parallel_and_sequential_scans_agree(arch):
    g = lambda: torch.Generator().manual_seed(3)  # noqa: E731
    a = build_model(arch, 2, 10, 1, generator=g(), scan="parallel").double()
    b = build_model(arch, 2, 10, 1, generator=g(), scan="sequential").double()
    x = torch.rand(3, 50, 2, dtype=torch.float64)
    with torch.no_grad():
        torch.testing.assert_close(logits_of(a(x)), logits_of(b(x)), atol=1e-10, rtol=0)


def test_scans_against_the_plain_loop():
    g = torch.Generator().manual_seed(0)
    b = torch.randn(2, 37, 5, dtype=torch.float64, generator=g)
    a = torch.rand(5, dtype=torch.float64, generator=g) * 0.9
    la = -torch.rand(2, 37, 5, dtype=torch.float64, generator=g)
    want_inv, want_var = torch.zeros_like(b), torch.zeros_like(b)
    h1 = h2 = torch.zeros(2, 5, dtype=torch.float64)
    for t in range(37):
        h1 = a * h1 + b[:, t]
        h2 = la[:, t].exp() * h2 + b[:, t]
        want_inv[:, t], want_var[:, t] = h1, h2
    for mode in ("parallel", "sequential"):
        torch.testing.assert_close(scan_invariant(a, b, mode=mode), want_inv, atol=1e-12, rtol=0)
        torch.testing.assert_close(scan_log(la, b, mode=mode), want_var, atol=1e-12, rtol=0)
    lam = torch.complex(a, a.flip(0) * 0.3)
    bc = torch.complex(b, b.flip(1))
    h = torch.zeros(2, 5, dtype=torch.complex128)
    for t in range(37):
        h = lam * h + bc[:, t]
    torch.testing.assert_close(scan_invariant(lam, bc, mode="parallel")[:, -1], h, atol=1e-12,
                               rtol=0)


@pytest.mark.parametrize("arch", sorted(BUILTIN))
def test_same_generator_seed_same_weights(arch):
    a = build_model(arch, 2, 8, 1, generator=torch.Generator().manual_seed(5))
    b = build_model(arch, 2, 8, 1, generator=torch.Generator().manual_seed(5))
    c = build_model(arch, 2, 8, 1, generator=torch.Generator().manual_seed(6))
    for (k, p), q in zip(a.state_dict().items(), b.state_dict().values()):
        assert torch.equal(p, q), k
    assert any(not torch.equal(p, r) for p, r in zip(a.state_dict().values(),
                                                     c.state_dict().values()))


def test_lru_eigenvalues_stay_inside_the_unit_circle_and_are_normalised():
    from baselines.models.lru import LRU

    m = LRU(2, 16, 1, r_min=0.9, r_max=0.99, generator=torch.Generator().manual_seed(0))
    lam = m.blocks[0].lam().abs()
    assert (lam >= 0.9 - 1e-6).all() and (lam <= 0.99 + 1e-6).all()
    gamma = torch.exp(m.blocks[0].gamma_log)
    torch.testing.assert_close(gamma, torch.sqrt(1 - lam**2), atol=1e-6, rtol=0)


def test_mingru_under_constant_input_has_one_stable_point():
    """The gates read only the input: a constant input drives every state to h~ (analysis says
    what this means: a minGRU cannot oscillate)."""
    m = build_model("mingru", 2, 8, 1, generator=torch.Generator().manual_seed(0)).double()
    x = torch.tensor([[1.0, 0.0]], dtype=torch.float64)
    ends = []
    for s in range(3):
        h = torch.randn(1, m.state_size, dtype=torch.float64,
                        generator=torch.Generator().manual_seed(s)).abs()
        with torch.no_grad():
            for _ in range(3000):
                h = m.step(h, x)
        ends.append(h)
    torch.testing.assert_close(ends[0], ends[1], atol=1e-8, rtol=0)
    torch.testing.assert_close(ends[0], ends[2], atol=1e-8, rtol=0)


def test_orthogonal_init_has_unit_spectrum():
    model = build_model("rnn", 2, 32, 1, generator=torch.Generator().manual_seed(1),
                        init="orthogonal", gain=1.0)
    assert spectral_radius(model) == pytest.approx(1.0, abs=1e-6)


def test_user_model_by_module_class_and_its_old_readout():
    model = build_model("toy_models:ToyRNN", 2, 5, 1)
    assert model.state_size == 5
    h = torch.zeros(1, 5)
    torch.testing.assert_close(readout_of(model, h, torch.zeros(1, 2)), model.readout(h))


def test_user_model_from_the_current_directory(tmp_path, monkeypatch):
    (tmp_path / "mymod.py").write_text(
        "import torch\n"
        "class Seq(torch.nn.Module):\n"
        "    def __init__(self, input_size, hidden_size, output_size):\n"
        "        super().__init__(); self.lin = torch.nn.Linear(input_size, output_size)\n"
        "    def forward(self, x):\n"
        "        return self.lin(x.cumsum(1))\n")
    monkeypatch.chdir(tmp_path)
    model = build_model("mymod:Seq", 2, 4, 3)
    assert not has_recurrent_interface(model)  # a sequence model: enough for the suite
    with pytest.raises(TypeError, match="lacks step, readout, initial_state"):
        require_recurrent(model, "find_fixed_points")


@pytest.mark.parametrize("cls, fragment", [
    ("toy_models:NoStep", "forward(inputs [2, 3, 2]) raised TypeError"),
    ("toy_models:WrongStates", "forward states"),
    ("toy_models:Inconsistent", "does not reproduce"),
    ("toy_models:Nothing", "has no 'Nothing'"),
    ("toy_models:BadSignature", "constructor must accept"),
    ("toy_models:Raises", "forward(inputs [2, 3, 2]) raised RuntimeError"),
    ("toy_models:WrongShape", "logits have shape"),
    ("toy_models:IntLogits", "must be floating point"),
    ("numpy:ndarray", "not a torch.nn.Module"),
    ("nope", "arch must be one of"),
    ("no_such_module_xyz:Model", "cannot import"),
])
def test_nonconforming_user_models_are_refused_on_one_line(cls, fragment):
    with pytest.raises((TypeError, ValueError)) as err:
        build_model(cls, 2, 5, 1)
    assert fragment in str(err.value) and "\n" not in str(err.value)


@pytest.mark.parametrize("arch, init, gain, kw, fragment", [
    ("toy_models:ToyRNN", "default", None, {}, "init/gain apply to the built-ins"),
    ("toy_models:ToyRNN", None, 5.0, {}, "user model"),
    ("transformer", "orthogonal", None, {}, "do not apply to 'transformer'"),
    ("rnn", None, None, {"layers": 2}, "not accepted by 'rnn'"),
    ("transformer", None, None, {"hidden_size": 3}, "must not set"),
])
def test_options_that_would_not_be_applied_are_refused(arch, init, gain, kw, fragment):
    with pytest.raises(ValueError, match=fragment):
        check_arch_options(arch, init, gain, kw)


@pytest.mark.slow
def test_width_for_budget_is_the_largest_width_within_it():
    for arch in ("rnn", "lstm", "transformer"):
        h, n = width_for_budget(arch, 5000, 2, 1)
        assert n <= 5000
        m = build_model(arch, 2, h, 1)
        assert count_parameters(m) == n
        bigger = [w for w in range(h + 1, h + 12)
                  if not _refused(arch, w) and count_parameters(build_model(arch, 2, w, 1)) <= 5000]
        assert bigger == []
    with pytest.raises(ValueError, match="no width"):
        width_for_budget("lstm", 10, 2, 1)


def _refused(arch, w):
    try:
        build_model(arch, 2, w, 1)
    except (ValueError, TypeError):
        return True
    return False


def test_transformer_positions_and_causality():
    g = torch.Generator().manual_seed(0)
    for pos in ("rope", "alibi", "none"):
        m = build_model("transformer", 2, 16, 1, generator=g, pos=pos).eval()
        x = torch.rand(2, 12, 2)
        y = x.clone()
        y[:, 8:] = torch.rand(2, 4, 2)
        with torch.no_grad():  # steps 0..7 cannot see what comes later
            torch.testing.assert_close(m(x)[:, :8], m(y)[:, :8], atol=1e-6, rtol=0)
    with pytest.raises(ValueError, match="multiple of heads"):
        build_model("transformer", 2, 18, 1)
    assert np.isfinite(count_parameters(build_model("transformer", 2, 16, 1)))


def test_evaluation_runs_in_the_models_eval_chunks_with_the_same_metrics():
    from baselines.config import TrainConfig
    from baselines.train import Session

    s = Session.build(TrainConfig(eval_size=40, hidden=16))
    sizes: list[int] = []
    s.model.register_forward_pre_hook(lambda m, args: sizes.append(args[0].shape[0]))
    whole = s.evaluate()
    assert sizes == [40]
    sizes.clear()
    s.model.eval_chunk = 16
    chunked = s.evaluate()
    assert sizes == [16, 16, 8]
    assert chunked["val_td_acc"] == whole["val_td_acc"]
    assert chunked["val_loss"] == pytest.approx(whole["val_loss"], rel=1e-6)
    assert build_model("mamba", 2, 8, 1).eval_chunk == 64  # its scan is slower in one call


@pytest.mark.parametrize("bad", [0, -3, 2.5, True, "64"])
def test_a_bad_eval_chunk_is_refused(bad):
    class Chunky(ToyRNN):
        eval_chunk = bad

    with pytest.raises(ModelError, match="eval_chunk must be a positive int or None"):
        check_sequence_model(Chunky(2, 4, 1), 2, 1, name="Chunky")


def test_the_model_contracts_are_protocols_the_built_ins_satisfy():
    from baselines.models import RecurrentModel, SequenceModel, build_model

    for arch in ("rnn", "gru", "lstm", "linear", "lru", "mingru", "mamba"):
        m = build_model(arch, 2, 8, 2)
        assert isinstance(m, RecurrentModel) and isinstance(m, SequenceModel), arch
    t = build_model("transformer", 2, 8, 2)
    assert isinstance(t, SequenceModel) and not isinstance(t, RecurrentModel)
