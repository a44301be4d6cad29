"""XGBoost's training reported to paratune: each boosting round's evaluation results are a
report, a stopped trial stops boosting, and a promoted trial boosts on from its checkpoint
(``pip install 'paratune[xgboost]'``).

The budget is boosting rounds: a job trains until its booster has ``ctx.budget`` rounds.

.. code-block:: python

    import xgboost as xgb
    from paratune.xgboost import ReportCallback, load_booster

    def objective(config, ctx):
        booster = load_booster(ctx)                 # None on a fresh start
        xgb.train({"eta": config["eta"]}, dtrain, evals=[(dvalid, "valid")],
                  num_boost_round=ctx.budget - ctx.start_step, xgb_model=booster,
                  callbacks=[ReportCallback(ctx, "valid-logloss")], verbose_eval=False)
        return ctx.last_report[1]

Only `xgboost.train` (not `xgboost.cv`, which trains several boosters at once).
"""

from __future__ import annotations

from typing import Any

from ._framework import Metrics, chosen, metric_names, missing, report
from .context import Context

try:
    import xgboost as xgb
except ImportError as exc:  # an optional extra: say how to get it
    raise missing("paratune.xgboost", "XGBoost", "xgboost") from exc

__all__ = ["ReportCallback", "load_booster"]


class ReportCallback(xgb.callback.TrainingCallback):
    """Reports each boosting round to paratune through ``ctx.report``, stops boosting when
    the scheduler stops the trial, and keeps the booster as the trial's checkpoint.

    Named for what it does at every round, report, as in `paratune.lightning` and
    `paratune.lightgbm`: stopping happens only under a scheduler that stops trials, and the
    checkpoint once a job ends.

    The step of a report is the booster's number of rounds (so a booster continued from a
    checkpoint reports from where it stopped, not from 1), and its metrics are the round's
    evaluation results, each named ``"<data>-<metric>"`` as XGBoost prints them
    (``"valid-logloss"`` for ``evals=[(dvalid, "valid")]``).

    Args:
        ctx: the trial's `paratune.Context`.
        metrics: the metric, or metrics, to report (``"valid-logloss"``); None: every
            evaluation result. The metric tuned must be among them.
        checkpoint: keep the booster (its raw bytes) as the trial's checkpoint when
            training ends, unless the trial was stopped; `load_booster` gives it back. Once,
            not every round: a round is quick, and writing the model after each would cost
            more than the round.

    Raises:
        ParatuneError: (while training) a round's evaluation results lack a metric asked
            for, or there are none (give ``xgb.train`` ``evals``).
    """

    def __init__(self, ctx: Context, metrics: Metrics = None, *, checkpoint: bool = True) -> None:
        super().__init__()
        self.ctx = ctx
        self.metrics = metric_names(metrics)
        self.checkpoint = checkpoint

    def after_iteration(
        self, model: Any, epoch: int, evals_log: xgb.callback.TrainingCallback.EvalsLog
    ) -> bool:
        """Report the round's evaluation results; True (stop boosting) when the trial is
        stopped."""
        found = {
            f"{data}-{name}": float(values[-1])  # type: ignore[arg-type]
            for data, results in evals_log.items()
            for name, values in results.items()
        }
        metrics = chosen(found, self.metrics, "XGBoost's evaluation results (xgb.train's evals)")
        return report(self.ctx, model.num_boosted_rounds(), metrics)

    def after_training(self, model: Any) -> Any:
        """Save the booster as the trial's checkpoint, at its number of rounds."""
        if self.checkpoint and not self.ctx.pruned:
            self.ctx.save_checkpoint(model.save_raw("ubj"), model.num_boosted_rounds())
        return model


def load_booster(ctx: Context) -> xgb.Booster | None:
    """The booster of the trial's checkpoint (None on a fresh start), for ``xgb.train``'s
    ``xgb_model``; sets ``ctx.start_step`` to its number of rounds, so that
    ``num_boost_round=ctx.budget - ctx.start_step`` trains what is missing."""
    raw = ctx.load_checkpoint()
    if raw is None:
        return None
    booster = xgb.Booster()
    booster.load_model(raw)
    return booster
