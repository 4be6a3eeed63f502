"""Jobs: one domain in one package.

It owns the job service (``service``: create a job, change its ETA, status, manager or
description), assignment to account managers and the one open-job count (``assignment``),
the ETA value and its policy (``eta``: at risk, overdue), the emails a job causes and the
customer's ETA promise (``emails``), and the job queries the console and API read
(``queries``). It lives in ``notifications`` so that the worker reaches it; like the rest of
``notifications`` it never imports ``routing``.

The public names are re-exported here: ``from notifications.jobs import create_job``.
"""

from .assignment import (
    account_managers_with_load,
    assign_account_manager,
    assign_waiting_jobs,
    least_loaded_manager,
    manager_details_changed,
    open_job_counts,
    run_assign_waiting_jobs,
)
from .errors import (
    DayFull,
    DuplicateJob,
    InvalidJob,
    InvalidTransition,
    JobError,
    UnknownAccountManager,
)
from .eta import Eta, InvalidEta, eta_state, parse_eta, warning_time
from .queries import find_job
from .service import create_job, update_job
from .settings import JobSettings
from .validation import UNSET, is_storable_text

__all__ = [
    "UNSET",
    "DayFull",
    "DuplicateJob",
    "Eta",
    "InvalidEta",
    "InvalidJob",
    "InvalidTransition",
    "JobError",
    "JobSettings",
    "UnknownAccountManager",
    "account_managers_with_load",
    "assign_account_manager",
    "assign_waiting_jobs",
    "create_job",
    "eta_state",
    "find_job",
    "is_storable_text",
    "least_loaded_manager",
    "manager_details_changed",
    "open_job_counts",
    "parse_eta",
    "run_assign_waiting_jobs",
    "update_job",
    "warning_time",
]
