"""B5 prediction: how well the simulated executor predicts a real run's wall time.

The B3 workload (64 trials of 0.05 + 0.45*x s on 8 workers) runs on ``executor="simulated"``
in a few milliseconds; its virtual wall time is the prediction. It is compared with the real
runs of B3 (asynchronous and synchronous, threads) and with one more real run on processes.
A greedy schedule computed here from the same durations checks the simulator itself.

Run alone, this module makes its own B3 runs; `run_all.py` shares them with B3.
"""

from __future__ import annotations

from _common import Options, Row, Table, fmt_pct, fmt_s, main_for
from b3_stragglers import WORKERS, StragglerData, measure

TITLE = "B5 prediction"
GOAL = 0.03  # |predicted - real| / real for the asynchronous run of B3


def tables(data: StragglerData) -> list[Table]:
    reps = sorted(set(data.reps.values()), reverse=True)
    how = "1 run" if reps == [1] else "median of " + " or ".join(map(str, reps)) + " real runs"
    table = Table(
        f"{TITLE}: simulated vs real wall time, B3's {data.n} trials on {WORKERS} workers; " + how,
        ["predicted s", "real s", "error"],
    )

    def error(predicted: float, real: float) -> float:
        return (predicted - real) / real

    async_error = error(data.simulated["wall"], data.asynchronous["wall"])
    table.add(
        Row(
            "paratune asynchronous, threads (B3)",
            [
                fmt_s(data.simulated["wall"]),
                fmt_s(data.asynchronous["wall"]),
                fmt_pct(async_error),
            ],
            goal=f"within {GOAL:.0%}",
            passed=abs(async_error) <= GOAL,
            achieved=f"error {async_error:+.1%}",
        )
    )
    table.add(
        Row(
            "paratune synchronous, threads (B3)",
            [
                fmt_s(data.simulated_sync["wall"]),
                fmt_s(data.synchronous["wall"]),
                fmt_pct(error(data.simulated_sync["wall"], data.synchronous["wall"])),
            ],
        )
    )
    if data.processes is not None:
        table.add(
            Row(
                "paratune asynchronous, processes",
                [
                    fmt_s(data.simulated["wall"]),
                    fmt_s(data.processes["wall"]),
                    fmt_pct(error(data.simulated["wall"], data.processes["wall"])),
                ],
            )
        )
    table.add(
        Row(
            "greedy schedule by hand (checks the simulator)",
            [
                fmt_s(data.by_hand),
                fmt_s(data.simulated["wall"]),
                fmt_pct(error(data.by_hand, data.simulated["wall"])),
            ],
        )
    )
    table.missing("Optuna", "no simulator")
    table.heavy_peers()
    table.notes += [
        "error = (predicted - real) / real; negative: the real run was slower than predicted "
        "(the simulator has no overhead: start-up, dispatch, sleep granularity).",
        "predicted = result.wall_time of the same objective, seed and searcher under "
        "executor='simulated' (synchronous=True for the synchronous row).",
        "The last row compares the simulator with a greedy schedule computed from the "
        "trials' durations in benchmarks/b3_stragglers.py: both should agree exactly.",
    ]
    return [table]


def run(options: Options) -> list[Table]:
    return tables(measure(options, processes=True))


def main() -> None:
    main_for(TITLE, run)


if __name__ == "__main__":
    main()
