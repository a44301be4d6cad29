"""Experiment tracking: callbacks that mirror a run's trials to MLflow and to TensorBoard.

`MLflowCallback` makes the experiment an MLflow run with each trial a run nested under it
(params, metrics, tags, status); `TensorBoardCallback` writes TensorBoard's HPARAMS data
(every trial with its config and metrics) and each report as a scalar. Both are
`paratune.callbacks.Callback` objects, given as ``tune(..., callbacks=[...])``: each call
comes after the store has committed what it describes. Each imports its library only when
made (``pip install 'paratune[mlflow]'``, ``pip install 'paratune[tensorboard]'``). See
``docs/tracking.md``.
"""

from ._mlflow import MLFLOW_STATUS, MLflowCallback
from ._tensorboard import TENSORBOARD_STATUS, TensorBoardCallback

__all__ = ["MLFLOW_STATUS", "TENSORBOARD_STATUS", "MLflowCallback", "TensorBoardCallback"]
