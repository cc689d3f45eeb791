"""The Aura Protocol v3 workflows: `EpochWorkflow` and its `SliceWorkflow` and
`ReviewPhaseWorkflow` children, one module each.
"""

from epochs.workflows.common import REFUSED, review_workflow_id, slice_workflow_id
from epochs.workflows.epoch import EpochWorkflow
from epochs.workflows.review import ReviewPhaseWorkflow
from epochs.workflows.slice import SliceWorkflow

__all__ = [
    "REFUSED",
    "EpochWorkflow",
    "ReviewPhaseWorkflow",
    "SliceWorkflow",
    "review_workflow_id",
    "slice_workflow_id",
]
