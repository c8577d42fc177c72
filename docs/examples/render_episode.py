"""Draw one episode of TemporalFlipFlop-v0 (P = 6) under a random policy: the ``rgb_array`` frame
(saved to ``docs/img/episode_rgb.png``, scaled 3x) and the ``ansi`` timeline (printed).

    python docs/examples/render_episode.py
"""

from __future__ import annotations

from pathlib import Path

import gymnasium as gym
import numpy as np

import ta_envs  # noqa: F401  (registers the ids)


def episode(render_mode: str) -> gym.Env:
    env = gym.make("TemporalFlipFlop-v0", period=6, render_mode=render_mode)
    env.reset(seed=0)
    actions = np.random.default_rng(0).integers(0, 2, size=23)
    for a in actions:  # 23 of the 24 steps, so the last frame still shows the episode
        env.step(int(a))
    return env


def main() -> None:
    import matplotlib.pyplot as plt

    frame = episode("rgb_array").render()
    out = Path(__file__).resolve().parents[1] / "img" / "episode_rgb.png"
    out.parent.mkdir(exist_ok=True)
    plt.imsave(out, np.kron(frame, np.ones((3, 3, 1), dtype=np.uint8)))
    print(episode("ansi").render())


if __name__ == "__main__":
    main()
