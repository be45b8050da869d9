"""PPO training shows progress: the callback's bar reaches the number of steps trained, and training still works."""

from __future__ import annotations

from papertrader.models.rl.progress import RichProgress


def test_the_bar_tracks_environment_steps_and_never_passes_the_total() -> None:
    cb = RichProgress(total=100)
    cb._on_training_start()
    assert cb._bar is not None and cb._task is not None
    for steps in (10, 60, 130):
        cb.num_timesteps = steps
        assert cb._on_step() is True
    done = cb._bar.tasks[0].completed
    cb._on_training_end()
    assert done == 100
    assert cb._bar is None
    assert cb.__getstate__()["_bar"] is None
