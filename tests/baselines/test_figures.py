"""``save_figure``: the palette option writes a smaller PNG that looks the same, and refuses a
palette size it cannot write."""

from __future__ import annotations

import numpy as np
import pytest
from PIL import Image

from baselines.figures import save_figure, subplots


def _many_thin_lines():
    fig, axes = subplots(3, 4, figsize=(13, 8))
    rng = np.random.default_rng(0)
    for k, ax in enumerate(axes.flat):
        for j in range(8):
            ax.plot(rng.random(40), lw=0.6, alpha=0.4, color=f"C{(k + j) % 10}")
    return fig


def test_a_palette_png_is_smaller_and_looks_the_same(tmp_path):
    rgba = save_figure(_many_thin_lines(), tmp_path / "rgba.png", dpi=100)
    pal = save_figure(_many_thin_lines(), tmp_path / "pal.png", dpi=100, colors=64)
    with Image.open(rgba) as a, Image.open(pal) as b:
        assert b.mode == "P" and len(b.getcolors(256)) <= 64
        assert a.size == b.size
        x = np.asarray(a.convert("RGB"), dtype=float)
        y = np.asarray(b.convert("RGB"), dtype=float)
    assert np.abs(x - y).mean() < 2.0  # out of 255: the same picture
    assert pal.stat().st_size < 0.6 * rgba.stat().st_size


@pytest.mark.parametrize("colors, error", [(1, ValueError), (257, ValueError), (64.0, TypeError),
                                           (True, TypeError)])
def test_a_palette_size_it_cannot_write_is_refused(tmp_path, colors, error):
    with pytest.raises(error, match=r"colors must be an int in \[2, 256\]"):
        save_figure(_many_thin_lines(), tmp_path / "x.png", colors=colors)
    assert not (tmp_path / "x.png").exists()  # refused before anything is written
