"""A patched change on a real server: new runs take the new path, and cannot go back.

The activities are stand-ins registered under the real names: the commands are the point here,
not what the activities do.
"""

import json
import uuid
from typing import Any

import pytest
from temporalio import activity
from temporalio.api.enums.v1 import EventType
from temporalio.workflow import NondeterminismError

from crises.inputs import CrisisRequest, MissionPhase
from crises.workflows import CrisisResponseWorkflow
from tests.workflows import edits
from workers.histories import replayer

NAMES = [
    "validate_crisis_request",
    "initialize_crisis_response",
    "perform_agent_mission",
    "log_mission_phase",
    "finalize_crisis_response",
    "brief_agent",
]


def stand_in(name: str) -> Any:
    @activity.defn(name=name)
    async def succeed(*args: Any) -> bool:
        return True

    return succeed


async def test_a_new_run_takes_the_patched_path_and_the_old_code_cannot_replay_it(
    temporal_env: Any, run_worker: Any, task_queue: str
) -> None:
    client = temporal_env.client
    missions = [MissionPhase(f"phase-{i}", f"agent-{i}", "recon", "t", i) for i in (1, 2)]
    async with run_worker(
        client,
        task_queue,
        workflows=[edits.CrisisWithPatchedBriefing],
        activities=[stand_in(name) for name in NAMES],
    ):
        handle = await client.start_workflow(
            "CrisisResponseWorkflow",
            CrisisRequest("t", missions, crisis_id="c-1"),
            id=f"crisis-{uuid.uuid4()}",
            task_queue=task_queue,
        )
        await handle.result()
    history = await handle.fetch_history()
    scheduled = [
        e.activity_task_scheduled_event_attributes.activity_type.name
        for e in history.events
        if e.event_type == EventType.EVENT_TYPE_ACTIVITY_TASK_SCHEDULED
    ]
    assert scheduled.count("brief_agent") == 2
    assert scheduled.index("brief_agent") < scheduled.index("perform_agent_mission")
    patches = [
        json.loads(e.marker_recorded_event_attributes.details["patch-data"].payloads[0].data)["id"]
        for e in history.events
        if e.event_type == EventType.EVENT_TYPE_MARKER_RECORDED
        and e.marker_recorded_event_attributes.marker_name == "core_patch"
    ]
    assert patches.count(edits.BRIEFING_PATCH) == 1  # the patch, recorded once

    assert (
        await replayer([edits.CrisisWithPatchedBriefing]).replay_workflow(history)
    ).replay_failure is None
    # Rolling the code back would break this run: the old code never briefs.
    with pytest.raises(NondeterminismError):
        await replayer([CrisisResponseWorkflow]).replay_workflow(history)
