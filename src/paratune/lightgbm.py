"""LightGBM's training reported to paratune: each boosting iteration's evaluation results
are a report, a stopped trial stops boosting, and a promoted trial boosts on from its
checkpoint (``pip install 'paratune[lightgbm]'``).

The budget is boosting iterations: a job trains until its booster has ``ctx.budget``.

.. code-block:: python

    import lightgbm as lgb
    from paratune.lightgbm import ReportCallback, load_booster

    def objective(config, ctx):
        booster = load_booster(ctx)                 # None on a fresh start
        lgb.train({"learning_rate": config["lr"], "verbosity": -1}, train,
                  num_boost_round=ctx.budget - ctx.start_step, init_model=booster,
                  valid_sets=[valid], valid_names=["valid"],
                  callbacks=[ReportCallback(ctx, "valid-binary_logloss")])
        return ctx.last_report[1]

Only `lightgbm.train` (not `lightgbm.cv`, which trains several boosters at once). A
continued booster's predictions on the training data are its starting point, so build the
training ``Dataset`` in the objective (or keep its raw data: ``free_raw_data=False``).
"""

from __future__ import annotations

from ._framework import Metrics, chosen, metric_names, missing, report
from .context import Context

try:
    import lightgbm as lgb
except ImportError as exc:  # an optional extra: say how to get it
    raise missing("paratune.lightgbm", "LightGBM", "lightgbm") from exc

__all__ = ["ReportCallback", "load_booster"]


class ReportCallback:
    """Reports each boosting iteration to paratune through ``ctx.report``, stops boosting
    when the scheduler stops the trial, and keeps the booster as the trial's checkpoint: a
    callback for ``lightgbm.train(..., callbacks=[...])``.

    Named for what it does at every iteration, report, as in `paratune.lightning` and
    `paratune.xgboost`: stopping happens only under a scheduler that stops trials, and the
    checkpoint once a job ends.

    The step of a report is the booster's number of iterations (so a booster continued
    from a checkpoint reports from where it stopped, not from 1), and its metrics are the
    iteration's evaluation results, each named ``"<data>-<metric>"``
    (``"valid-binary_logloss"`` for ``valid_names=["valid"]`` and the binary objective;
    LightGBM names an unnamed set ``"valid_0"``).

    Args:
        ctx: the trial's `paratune.Context`.
        metrics: the metric, or metrics, to report (``"valid-l2"``); None: every evaluation
            result. The metric tuned must be among them.
        checkpoint: keep the booster (``model_to_string``) as the trial's checkpoint at the
            job's last iteration, unless the trial was stopped; `load_booster` gives it
            back. Once, not every iteration: an iteration is quick, and writing the model
            after each would cost more than the iteration.

    Raises:
        ParatuneError: (while training) an iteration's evaluation results lack a metric
            asked for, or there are none (give ``lightgbm.train`` ``valid_sets``).
    """

    order = 25
    """Where LightGBM calls it among its own callbacks: after ``record_evaluation`` (20),
    before ``early_stopping`` (30), so that an iteration early stopping ends is reported."""

    before_iteration = False
    """Called after each iteration, once its evaluation results are known."""

    def __init__(self, ctx: Context, metrics: Metrics = None, *, checkpoint: bool = True) -> None:
        self.ctx = ctx
        self.metrics = metric_names(metrics)
        self.checkpoint = checkpoint

    def __call__(self, env: lgb.callback.CallbackEnv) -> None:
        """Report the iteration's evaluation results; raise LightGBM's
        ``EarlyStopException`` (which ends training quietly) when the trial is stopped."""
        results = env.evaluation_result_list or []
        found = {f"{result[0]}-{result[1]}": float(result[2]) for result in results}
        where = "LightGBM's evaluation results (lightgbm.train's valid_sets)"
        step = env.iteration + 1  # counts the iterations of a booster it continues
        if report(self.ctx, step, chosen(found, self.metrics, where)):
            raise lgb.callback.EarlyStopException(env.iteration, results)
        if self.checkpoint and step == env.end_iteration:
            self.ctx.save_checkpoint(env.model.model_to_string(), step)


def load_booster(ctx: Context) -> lgb.Booster | None:
    """The booster of the trial's checkpoint (None on a fresh start), for
    ``lightgbm.train``'s ``init_model``; sets ``ctx.start_step`` to its number of
    iterations, so that ``num_boost_round=ctx.budget - ctx.start_step`` trains what is
    missing."""
    text = ctx.load_checkpoint()
    return None if text is None else lgb.Booster(model_str=text)
