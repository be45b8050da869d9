"""Early stopping keeps the best validation epoch, and the checkpoints on disk hold exactly those weights."""

from __future__ import annotations

from pathlib import Path

import torch
from models_bars import market

from papertrader.features.spec import PipelineSpec
from papertrader.models.data import LabelSpec
from papertrader.models.lstm import LSTMClassifier, LSTMConfig
from papertrader.models.sequence import SequenceSpec, prepare
from papertrader.models.tasks import DirectionTask
from papertrader.models.trainer import EpochStats, TrainConfig, Trainer
from papertrader.models.validation import WalkForwardConfig, make_folds


def test_best_checkpoint_and_returned_weights_are_the_lowest_validation_loss_epoch(tmp_path: Path) -> None:
    m = market()
    spec = SequenceSpec("lstm", "1d", 5, 4, 2, LabelSpec("direction", horizon=5), features=PipelineSpec())
    fold = make_folds(len(m), WalkForwardConfig(n_folds=1, test_rows=100, val_rows=60, train_rows=300))[0]
    data = prepare(m, spec, fold.rows("train"), fold.rows("val"))
    seen: list[EpochStats] = []
    config = TrainConfig(epochs=6, batch_size=64, max_batches_per_epoch=2, lr=0.05, patience=2)
    trainer = Trainer(config, checkpoint_dir=tmp_path, on_epoch=seen.append)
    torch.manual_seed(0)
    net = LSTMClassifier(LSTMConfig(data.train.n_features, 5, 4, 2))
    result = trainer.fit(net, DirectionTask(), data.train, data.val)
    losses = [s.val_loss for s in seen]
    assert result.epochs_run == len(seen) <= 6
    assert result.best_epoch == losses.index(min(losses))
    assert result.stopped_early == (len(seen) < 6)
    best = torch.load(tmp_path / "best.pt", weights_only=True)
    last = torch.load(tmp_path / "last.pt", weights_only=True)
    assert best["epoch"] == result.best_epoch and last["epoch"] == len(seen) - 1
    for key, value in net.state_dict().items():
        assert torch.equal(value, best["model"][key])
