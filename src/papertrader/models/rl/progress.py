"""A rich progress bar for PPO training, so a long `train ppo` shows steps done and an ETA instead of silence."""

from __future__ import annotations

from typing import Any

from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    TaskID,
    TextColumn,
    TimeElapsedColumn,
    TimeRemainingColumn,
)
from stable_baselines3.common.callbacks import BaseCallback


class RichProgress(BaseCallback):
    """Stable-Baselines3 callback advancing one bar by the environment steps taken."""

    def __init__(self, total: int, description: str = "ppo steps") -> None:
        super().__init__(verbose=0)
        self.total = total
        self.description = description
        self._bar: Progress | None = None
        self._task: TaskID | None = None

    def _on_training_start(self) -> None:
        self._bar = Progress(
            TextColumn("[bold]{task.description}"),
            BarColumn(),
            MofNCompleteColumn(),
            TimeElapsedColumn(),
            TextColumn("ETA"),
            TimeRemainingColumn(),
            transient=True,
        )
        self._bar.start()
        self._task = self._bar.add_task(self.description, total=self.total)

    def _on_step(self) -> bool:
        if self._bar is not None and self._task is not None:
            self._bar.update(self._task, completed=min(self.num_timesteps, self.total))
        return True

    def _on_training_end(self) -> None:
        if self._bar is not None:
            self._bar.stop()
            self._bar = None

    def __getstate__(self) -> dict[str, Any]:
        """Never pickle the live console (SB3 may copy callbacks)."""
        state = dict(self.__dict__)
        state["_bar"] = None
        return state
