"""Epoch operations shared by the REST API, the admin and `aura_msg`."""

from epochs.services.moves import (
    OPEN_STATUSES,
    SUBJECT_KIND,
    advance_epoch,
    close_unfinished,
    execute_update,
    live_snapshot,
    record_finding,
    register_session,
    submit_slice,
    vote,
)
from epochs.services.operations import cancel_epoch, terminate_epoch
from epochs.services.starting import (
    EpochStart,
    close_unstarted,
    mark_started,
    new_epoch_id,
    start_epoch,
)

__all__ = [
    "OPEN_STATUSES",
    "SUBJECT_KIND",
    "EpochStart",
    "advance_epoch",
    "cancel_epoch",
    "close_unfinished",
    "close_unstarted",
    "execute_update",
    "live_snapshot",
    "mark_started",
    "new_epoch_id",
    "record_finding",
    "register_session",
    "start_epoch",
    "submit_slice",
    "terminate_epoch",
    "vote",
]
