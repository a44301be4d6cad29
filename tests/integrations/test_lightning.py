"""paratune.lightning: each validation is a report at its epoch, a stopped trial stops the
trainer after that epoch, and a promoted trial resumes from its checkpoint (model, optimizer,
loops) at the epoch it reached, training as if it had never stopped."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from sklearn.datasets import load_digits

pytest.importorskip("lightning.pytorch")

import lightning.pytorch as pl
import torch

import paratune as pt
from paratune.lightning import ReportCallback, resume_from

# Lightning's own loaders go through torch's pytree with a LeafSpec check that torch now
# deprecates (lightning/pytorch/utilities/_pytree.py); nothing a caller can change.
pytestmark = pytest.mark.filterwarnings(
    r"ignore:`isinstance\(treespec, LeafSpec\)` is deprecated:FutureWarning"
)

_features, _labels = load_digits(return_X_y=True)
FEATURES = torch.tensor(_features / 16.0, dtype=torch.float32)
LABELS = torch.tensor(_labels)


@pytest.fixture(autouse=True)
def one_thread() -> Iterator[None]:
    """Torch on one thread while these tests run: a model this small trains many times
    faster on one than on several that wait on each other on a busy machine."""
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


class Batches:
    """Batches made once, not a DataLoader: the same order every epoch (so that a resumed
    trial can be compared with one trained straight through), and no warning about a
    DataLoader's workers on machines with many cores."""

    def __init__(self, start: int, stop: int, size: int) -> None:
        self.batches = [
            (FEATURES[at : min(at + size, stop)], LABELS[at : min(at + size, stop)])
            for at in range(start, stop, size)
        ]

    def __iter__(self) -> Any:
        return iter(self.batches)

    def __len__(self) -> int:
        return len(self.batches)


TRAIN, VALID = Batches(0, 1400, 128), Batches(1400, len(LABELS), 512)


class Net(pl.LightningModule):
    """A two-layer MLP on the digits."""

    def __init__(self, lr: float) -> None:
        super().__init__()
        self.lr = lr
        self.layers = torch.nn.Sequential(
            torch.nn.Linear(64, 32), torch.nn.ReLU(), torch.nn.Linear(32, 10)
        )

    def training_step(self, batch: Any, index: int) -> Any:
        features, labels = batch
        return torch.nn.functional.cross_entropy(self.layers(features), labels)

    def validation_step(self, batch: Any, index: int) -> None:
        features, labels = batch
        loss = torch.nn.functional.cross_entropy(self.layers(features), labels)
        self.log("val_loss", loss, batch_size=len(labels))

    def configure_optimizers(self) -> Any:
        return torch.optim.SGD(self.parameters(), lr=self.lr, momentum=0.9)


def make_objective(jobs: list[dict[str, Any]], metrics: Any = "val_loss") -> Any:
    """An objective that records, for each job, where it started and what it trained."""

    def objective(config: dict[str, Any], ctx: pt.Context) -> Any:
        assert ctx.budget is not None
        torch.manual_seed(0)  # every trial starts from the same weights
        model = Net(config["lr"])
        trainer = pl.Trainer(
            max_epochs=int(ctx.budget),
            callbacks=[ReportCallback(ctx, metrics)],
            accelerator="cpu",
            enable_progress_bar=False,
            logger=False,
            enable_checkpointing=False,
            enable_model_summary=False,
        )
        with resume_from(ctx) as ckpt_path:
            trainer.fit(model, TRAIN, VALID, ckpt_path=ckpt_path)
        jobs.append(
            {
                "trial": ctx.trial_id,
                "start": ctx.start_step,
                "budget": ctx.budget,
                "epochs": trainer.current_epoch,
                "pruned": ctx.pruned,
                "saved": ctx.checkpoint_step,
            }
        )
        return ctx.last_report[1] if ctx.last_report else None

    return objective


def curves(result: pt.TuneResult) -> dict[int, dict[int, float]]:
    """Each trial's reported validation loss, by step."""
    found: dict[int, dict[int, float]] = {}
    for report in result.report_list:
        found.setdefault(report.trial_id, {})[report.step] = report.metrics["val_loss"]
    return found


def test_a_promoted_trial_resumes_at_its_epoch_as_if_it_never_stopped() -> None:
    jobs: list[dict[str, Any]] = []
    space = {"lr": pt.Float(0.01, 0.3, log=True)}
    asha = pt.schedulers.ASHA("epochs", min_budget=1, max_budget=3, eta=3)
    result = pt.tune(
        make_objective(jobs), space, metric="val_loss", max_trials=3, scheduler=asha, store=None
    )
    assert [(job["start"], job["budget"], job["epochs"]) for job in jobs] == [
        (0, 1, 1),
        (0, 1, 1),
        (0, 1, 1),
        (1, 3, 3),  # the best trial resumed at epoch 1 and trained 2 more
    ]
    assert [job["saved"] for job in jobs] == [1, 1, 1, 3]
    top = result.trial_list[jobs[-1]["trial"]]
    assert top.status == pt.Status.DONE and top.budget == 3
    # Trained straight through for 3 epochs, the same config reports the same curve.
    jobs_straight: list[dict[str, Any]] = []
    straight = pt.tune(
        make_objective(jobs_straight),
        {"lr": top.config["lr"]},
        metric="val_loss",
        scheduler=pt.schedulers.FIFO("epochs", max_budget=3),
        max_trials=1,
        store=None,
    )
    assert sorted(curves(result)[top.trial_id]) == [1, 2, 3]
    assert curves(result)[top.trial_id] == pytest.approx(curves(straight)[0], rel=1e-5)
    assert top.value == pytest.approx(straight.best_value, rel=1e-5)


def test_a_stopped_trial_stops_the_trainer_after_the_epoch_it_was_stopped_at() -> None:
    jobs: list[dict[str, Any]] = []
    result = pt.tune(
        make_objective(jobs),
        {"lr": pt.Choice([0.2, 1e-6])},  # the second learns nothing
        metric="val_loss",
        searcher=pt.searchers.Grid(order="given"),
        scheduler=pt.schedulers.ASHA("epochs", 1, 3, 3, stopping=True),
        store=None,
    )
    good, bad = result.trial_list
    assert (good.status, bad.status) == (pt.Status.DONE, pt.Status.PRUNED)
    assert sorted(curves(result)[good.trial_id]) == [1, 2, 3]
    assert list(curves(result)[bad.trial_id]) == [1]
    assert bad.value == curves(result)[bad.trial_id][1]
    assert jobs[1] == {
        "trial": bad.trial_id,
        "start": 0,
        "budget": 3,
        "epochs": 1,
        "pruned": True,
        "saved": None,
    }


def test_a_metric_the_module_does_not_log_fails_the_trial_naming_those_it_does() -> None:
    result = pt.tune(
        make_objective([], "val_acc"),
        {"lr": 0.1},
        metric="val_loss",
        scheduler=pt.schedulers.FIFO("epochs", max_budget=1),
        max_trials=1,
        store=None,
    )
    (trial,) = result.trial_list
    assert trial.status == pt.Status.FAILED
    assert "no metric 'val_acc'" in (trial.error or "") and "'val_loss'" in (trial.error or "")


def test_resume_from_gives_the_checkpoint_as_a_file_while_the_block_runs(tmp_path: Path) -> None:
    ctx = pt.Context(trial_id=0, seed=0, budget=4, checkpoint=str(tmp_path / "trial-0.pkl"))
    with resume_from(ctx) as nothing:
        assert nothing is None and ctx.start_step == 0
    ctx.save_checkpoint(b"lightning's bytes", 2)
    with resume_from(ctx) as ckpt_path:
        assert ckpt_path is not None and Path(ckpt_path).read_bytes() == b"lightning's bytes"
        assert ctx.start_step == 2
    assert not Path(ckpt_path).exists()
