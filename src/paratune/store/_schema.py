"""The store's tables (schema 4), what each older schema lacks, and the statements that
write a trial and a report."""

from __future__ import annotations

SCHEMA_VERSION = 4
"""The schema this paratune writes; it reads this one and older."""

SCHEMA = """
CREATE TABLE experiments (
    name TEXT PRIMARY KEY,
    space TEXT NOT NULL,            -- JSON, Space.to_dict()
    metric TEXT NOT NULL,
    mode TEXT NOT NULL,
    seed INTEGER NOT NULL,
    objective TEXT NOT NULL,
    settings TEXT NOT NULL,         -- JSON
    created REAL NOT NULL,          -- Unix time
    session_started REAL NOT NULL,  -- Unix time the latest session started
    finished REAL,                  -- Unix time the latest session ended; NULL while it runs
    driver_host TEXT NOT NULL,
    driver_pid INTEGER NOT NULL,
    wall_time REAL NOT NULL DEFAULT 0,  -- seconds, over finished sessions
    busy_time REAL NOT NULL DEFAULT 0,
    cancelled_time REAL NOT NULL DEFAULT 0,
    workers INTEGER NOT NULL DEFAULT 0,
    stop_reason TEXT NOT NULL DEFAULT '',
    lease TEXT,                     -- schema 3 on: the owning driver's token (see _lease.py)
    heartbeat REAL,                 -- schema 3 on: Unix time the lease was last renewed
    lost_time REAL NOT NULL DEFAULT 0  -- schema 4 on: worker-seconds of lost workers' absence
);
CREATE TABLE trials (
    experiment TEXT NOT NULL,
    trial_id INTEGER NOT NULL,
    config TEXT NOT NULL,           -- JSON
    seed INTEGER NOT NULL,
    status TEXT NOT NULL,
    value REAL,
    metrics TEXT NOT NULL,          -- JSON
    attempts INTEGER NOT NULL,
    budget REAL,
    submitted REAL,                 -- seconds since the experiment started
    started REAL,
    finished REAL,
    worker_time REAL NOT NULL,
    worker INTEGER,
    host TEXT,
    pid INTEGER,
    error TEXT,
    traceback TEXT,
    checkpoint_step INTEGER,        -- schema 2 on
    cpu_time REAL,                  -- schema 2 on
    peak_memory INTEGER,            -- schema 2 on
    moved INTEGER NOT NULL DEFAULT 0,  -- schema 3 on: times moved off a lost worker
    PRIMARY KEY (experiment, trial_id)
) WITHOUT ROWID;
CREATE TABLE reports (              -- intermediate results (ctx.report, rung results)
    experiment TEXT NOT NULL,
    trial_id INTEGER NOT NULL,
    step INTEGER NOT NULL,
    metrics TEXT NOT NULL,          -- JSON
    time REAL,                      -- seconds since the experiment started
    attempt INTEGER NOT NULL DEFAULT 0,  -- schema 2 on (0: not known)
    PRIMARY KEY (experiment, trial_id, step)
) WITHOUT ROWID;
"""

TRIAL_COLUMNS = (
    "trial_id, config, seed, status, value, metrics, attempts, budget, submitted, started, "
    "finished, worker_time, worker, host, pid, error, traceback, checkpoint_step, cpu_time, "
    "peak_memory, moved"
)
# What schema 2 added to schema 1, and how a read-only reader of a schema 1 file stands in.
ADDED_IN_2 = ("checkpoint_step INTEGER", "cpu_time REAL", "peak_memory INTEGER")
ADDED_IN_3 = ("lease TEXT", "heartbeat REAL")
TRIAL_COLUMNS_1 = TRIAL_COLUMNS.replace(
    "checkpoint_step, cpu_time, peak_memory, moved", "NULL, NULL, NULL, 0"
)
TRIAL_COLUMNS_2 = TRIAL_COLUMNS.replace("moved", "0")
SAVE_TRIAL = (
    f"INSERT OR REPLACE INTO trials (experiment, {TRIAL_COLUMNS}) VALUES ({', '.join('?' * 22)})"
)
SAVE_REPORT = (
    "INSERT OR REPLACE INTO reports (experiment, trial_id, step, metrics, time, attempt) "
    "VALUES (?, ?, ?, ?, ?, ?)"
)
