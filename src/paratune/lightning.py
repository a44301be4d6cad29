"""PyTorch Lightning's training reported to paratune: each validation is a report at its
epoch, a stopped trial stops the trainer, and a promoted trial resumes from its checkpoint
(``pip install 'paratune[lightning]'``).

The budget is epochs: a job trains until ``ctx.budget`` epochs are done
(``max_epochs=ctx.budget``).

.. code-block:: python

    import lightning.pytorch as pl
    from paratune.lightning import ReportCallback, resume_from

    def objective(config, ctx):
        model = MyModule(lr=config["lr"])
        trainer = pl.Trainer(max_epochs=ctx.budget, callbacks=[ReportCallback(ctx, "val_loss")],
                             enable_checkpointing=False, logger=False)
        with resume_from(ctx) as ckpt_path:        # None on a fresh start
            trainer.fit(model, train_loader, val_loader, ckpt_path=ckpt_path)
        return ctx.last_report[1]

One process per trial: a trainer on several devices (DDP) is not reported from.
"""

from __future__ import annotations

import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from ._framework import Metrics, chosen, metric_names, missing, report
from .context import Context

try:
    import lightning.pytorch as pl
    from lightning.pytorch.trainer.states import TrainerFn
except ImportError as exc:  # an optional extra: say how to get it
    raise missing("paratune.lightning", "PyTorch Lightning", "lightning") from exc

__all__ = ["ReportCallback", "resume_from"]

_FILE = "trial.ckpt"


class ReportCallback(pl.Callback):
    """Reports each validation of ``trainer.fit`` to paratune through ``ctx.report``, stops
    the trainer when the scheduler stops the trial, and keeps Lightning's checkpoint (model,
    optimizers, loops) as the trial's checkpoint.

    Named for what it does at every epoch, report, as in `paratune.xgboost` and
    `paratune.lightgbm`: stopping happens only under a scheduler that stops trials.

    The step of a report is the number of epochs done (``trainer.current_epoch + 1``), so a
    trainer resumed from a checkpoint (`resume_from`) reports from where it stopped, not
    from 1. Its metrics are ``trainer.callback_metrics``: what the module logs
    (``self.log("val_loss", ...)`` in ``validation_step``), as numbers. Validate once an
    epoch (Lightning's default): each validation is a report at its epoch.

    When the trial is stopped, the trainer stops after that epoch (``trainer.should_stop``)
    and ``fit`` returns as usual; the objective may return, and the trial is recorded as
    stopped (``ctx.pruned`` is True).

    Args:
        ctx: the trial's `paratune.Context`.
        metrics: the metric, or metrics, to report (``"val_loss"``); None: every one logged.
            The metric tuned must be among them.
        checkpoint: keep the trainer's checkpoint as the trial's after each validation
            (unless the trial was stopped there). Every epoch, not only at the job's end:
            an epoch is long beside a write, and a job retried after a crash resumes from
            the last epoch done.

    Raises:
        ParatuneError: (while training) the logged metrics lack a metric asked for, or
            there are none.
    """

    def __init__(self, ctx: Context, metrics: Metrics = None, *, checkpoint: bool = True) -> None:
        super().__init__()
        self.ctx = ctx
        self.metrics = metric_names(metrics)
        self.checkpoint = checkpoint

    def on_validation_end(self, trainer: pl.Trainer, pl_module: pl.LightningModule) -> None:
        """Report the metrics of this epoch's validation, then stop the trainer or keep its
        checkpoint. Nothing for the sanity check, nor outside ``fit``."""
        if trainer.sanity_checking or trainer.state.fn != TrainerFn.FITTING:
            return
        found = {
            name: float(value)
            for name, value in trainer.callback_metrics.items()
            if value.numel() == 1
        }
        metrics = chosen(found, self.metrics, "the trainer's logged metrics (self.log)")
        step = trainer.current_epoch + 1
        if report(self.ctx, step, metrics):
            trainer.should_stop = True
        elif self.checkpoint:
            self.ctx.save_checkpoint(_saved(trainer), step)


@contextmanager
def resume_from(ctx: Context) -> Iterator[str | None]:
    """The trial's checkpoint as a file for ``trainer.fit(..., ckpt_path=...)``, or None on a
    fresh start; sets ``ctx.start_step`` to the epochs it holds. The file is removed when the
    ``with`` block ends (``fit`` has read it by then)."""
    saved = ctx.load_checkpoint()
    if saved is None:
        yield None
        return
    with tempfile.TemporaryDirectory(prefix="paratune-") as folder:
        path = Path(folder, _FILE)
        path.write_bytes(saved)
        yield str(path)


def _saved(trainer: pl.Trainer) -> bytes:
    """The trainer's checkpoint, as the bytes of the file Lightning writes."""
    with tempfile.TemporaryDirectory(prefix="paratune-") as folder:
        path = Path(folder, _FILE)
        # weights_only=False: the optimizers and loops too, all that resuming needs
        trainer.save_checkpoint(path, weights_only=False)
        return path.read_bytes()
