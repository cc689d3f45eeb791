"""Where Aura once behaved differently from the protocol's contract, and now does not."""

import asyncio

import pytest
from temporalio.client import WorkflowHandle

from epochs.inputs import PhaseAdvanceSignal, SliceInput, SliceSubmission
from epochs.protocol import PhaseId as P
from epochs.protocol import SliceCompleteSignal, SliceStatus
from epochs.search_attributes import SA_PHASE
from epochs.workflows import EpochWorkflow, SliceWorkflow
from tests.epochs.test_workflows import _drive_to, _until

pytestmark = pytest.mark.django_db(transaction=True)
ORDER = [phase.value for phase in P]


async def _published_phase(handle: WorkflowHandle) -> str:
    description = await handle.describe()
    return description.typed_search_attributes.get(SA_PHASE) or ""


async def test_search_attributes_never_lag_the_queried_state(
    temporal_env, epoch_worker, start_epoch, task_queue
) -> None:
    client = temporal_env.client
    lagging: list[tuple[str, str]] = []
    done = asyncio.Event()

    async def watch(handle: WorkflowHandle) -> None:
        while not done.is_set():
            queried = (await handle.query(EpochWorkflow.current_state)).current_phase.value
            published = await _published_phase(handle)
            if ORDER.index(published) < ORDER.index(queried):
                lagging.append((queried, published))

    async with epoch_worker(client, task_queue):
        handle = await start_epoch(client)
        watcher = asyncio.create_task(watch(handle))
        for phase in (P.P2_Elicit, P.P3_Propose, P.P4_Review):
            await handle.execute_update(EpochWorkflow.advance, PhaseAdvanceSignal(phase))
            state = await handle.query(EpochWorkflow.current_state)
            assert await _published_phase(handle) == state.current_phase.value == phase.value
        done.set()
        await watcher
        await handle.terminate()
    assert lagging == []


async def test_available_transitions_is_the_query_s_python_name(
    temporal_env, epoch_worker, start_epoch, task_queue
) -> None:
    client = temporal_env.client
    async with epoch_worker(client, task_queue):
        handle = await start_epoch(client)
        transitions = await handle.query(EpochWorkflow.available_transitions)
        assert [t.to_phase for t in transitions] == [P.P2_Elicit]
        await handle.terminate()


async def test_a_completion_sent_right_after_the_start_counts_for_a_mock_slice(
    temporal_env, epoch_worker, start_epoch, task_queue
) -> None:
    client = temporal_env.client
    async with epoch_worker(client, task_queue):
        handle = await start_epoch(client)
        await _drive_to(handle, P.P9_Slice)
        await handle.execute_update(EpochWorkflow.slice_update, SliceSubmission("s-late"))
        await client.get_workflow_handle(f"{handle.id}-slice-s-late").signal(
            SliceWorkflow.complete_slice, SliceCompleteSignal("s-late", False, error="agent: no")
        )
        snapshot = await _until(handle, lambda s: s.state.slices["s-late"] != SliceStatus.Running)
        assert snapshot.state.slices["s-late"] == SliceStatus.Failed
        assert {s.slice_id: s.error for s in snapshot.slices}["s-late"] == "agent: no"
        await handle.terminate()


def test_slice_input_needs_its_parent_and_phase_spec() -> None:
    with pytest.raises(TypeError):
        SliceInput("epoch-1", "s-1")  # type: ignore[call-arg]
    assert SliceInput("epoch-1", "s-1", "p9", "epoch-1").config is None
