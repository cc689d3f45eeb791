"""The crisis operations every way in calls: REST, admin, `manage.py crisis`, the agency."""

from crises.services.ids import (
    base_crisis_id,
    cli_missions,
    free_crisis_id,
    id_safe,
    reserved_crisis_id,
    with_agency_defaults,
)
from crises.services.operations import rerun_crisis, terminate_crisis
from crises.services.presentation import as_result, summary, temporal_ui_url
from crises.services.runs import (
    MAX_WAIT_SECONDS,
    await_crisis,
    cancel_crisis,
    get_crisis,
    refresh_crisis,
    wait_for_crisis,
)
from crises.services.starting import (
    SUBJECT_KIND,
    Trigger,
    close_unstarted,
    crisis_request,
    record_crisis,
    trigger_crisis,
)

__all__ = [
    "MAX_WAIT_SECONDS",
    "SUBJECT_KIND",
    "Trigger",
    "as_result",
    "await_crisis",
    "base_crisis_id",
    "cancel_crisis",
    "cli_missions",
    "close_unstarted",
    "crisis_request",
    "free_crisis_id",
    "get_crisis",
    "id_safe",
    "record_crisis",
    "refresh_crisis",
    "rerun_crisis",
    "reserved_crisis_id",
    "summary",
    "temporal_ui_url",
    "terminate_crisis",
    "trigger_crisis",
    "wait_for_crisis",
    "with_agency_defaults",
]
