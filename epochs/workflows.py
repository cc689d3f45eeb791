"""The Aura Protocol v3 workflows: `EpochWorkflow` and its `SliceWorkflow` / `ReviewPhaseWorkflow`
children.

No Django here (the sandbox re-imports this module): activities are called by name and the
pure protocol core comes in through `imports_passed_through`.
"""

from __future__ import annotations

import asyncio
from copy import deepcopy
from dataclasses import dataclass, replace
from datetime import timedelta
from typing import Any

from temporalio import workflow
from temporalio.common import RetryPolicy, SearchAttributeKey
from temporalio.exceptions import ApplicationError

with workflow.unsafe.imports_passed_through():
    from audit.events import AuditEvent
    from epochs.constraints import ConstraintViolation
    from epochs.inputs import (
        STATUS_COMPLETE,
        STATUS_RUNNING,
        BlockerSignal,
        EpochCarry,
        EpochInput,
        EpochResult,
        EpochSnapshot,
        PhaseAdvanceSignal,
        QueryStateResult,
        RecordBlockerInput,
        RecordSessionInput,
        RecordSliceInput,
        RecordTransitionInput,
        RecordVoteInput,
        ReviewInput,
        ReviewPhaseResult,
        ReviewRound,
        ReviewVoteSignal,
        SessionRegisterSignal,
        SliceInput,
        SliceProgressSignal,
        SliceRecord,
        SliceResult,
        SliceSubmission,
    )
    from epochs.protocol import (
        PHASE_DOMAIN,
        EventType,
        PhaseId,
        ReviewAxis,
        ReviewCycleRecord,
        ReviewCycleSignal,
        SeverityLevel,
        SliceCompleteSignal,
        SliceExecutionConfig,
        SliceMode,
        SliceStartSignal,
        SliceStatus,
        Transition,
        VoteType,
    )
    from epochs.state_machine import EpochState, EpochStateMachine, TransitionError

SA_EPOCH_ID = SearchAttributeKey.for_text("AuraEpochId")
SA_PHASE = SearchAttributeKey.for_keyword("AuraPhase")
SA_ROLE = SearchAttributeKey.for_keyword("AuraRole")
SA_STATUS = SearchAttributeKey.for_keyword("AuraStatus")
SA_DOMAIN = SearchAttributeKey.for_keyword("AuraDomain")
SA_LAST_EVENT_TYPE = SearchAttributeKey.for_keyword("AuraLastEventType")

# ApplicationError.type of a refused update; its details hold the violation messages.
REFUSED = "TransitionRefused"
REVIEW_PHASES = (PhaseId.P4_Review, PhaseId.P10_CodeReview)
SLICE_PHASES = (PhaseId.P8_ImplPlan, PhaseId.P9_Slice)

# The records and audit events are local activities: they run in the worker that runs the
# workflow task, with no task-queue round trip per row (3x faster per request, measured by
# bench/epoch_lifecycle.py). Their retries and idempotency are those of any activity.
RECORD_TIMEOUT = timedelta(seconds=10)
REVIEW_RESULT_TIMEOUT = timedelta(seconds=10)
# Record activities write idempotently, so retrying them is always safe; a database outage
# only delays the epoch.
RECORD_RETRY = RetryPolicy(
    initial_interval=timedelta(seconds=1), maximum_interval=timedelta(seconds=30)
)


@dataclass
class _Command:
    """One queued request; update handlers wait for `done` and report `violations`."""

    kind: str
    payload: Any
    done: bool = False
    violations: list[str] | None = None


async def _all(*awaitables: Any) -> list[Any]:
    """Await every awaitable, then raise the first error: none is left running when one fails
    (a workflow that fails with local activities still in flight stalls its task)."""
    results = await asyncio.gather(*awaitables, return_exceptions=True)
    for result in results:
        if isinstance(result, BaseException):
            raise result
    return results


def _consume(task: asyncio.Future) -> None:
    if not task.cancelled():
        task.exception()


def review_workflow_id(epoch_id: str, phase: str, cycle: int) -> str:
    """Return the id of a review child (`<epoch_id>-review-<phase>-<cycle>`)."""
    return f"{epoch_id}-review-{phase}-{cycle}"


def slice_workflow_id(epoch_id: str, slice_id: str) -> str:
    """Return the id of a slice child (`<epoch_id>-slice-<slice_id>`)."""
    return f"{epoch_id}-slice-{slice_id}"


@workflow.defn
class EpochWorkflow:
    """One epoch of the Aura Protocol v3 (workflow id = epoch id).

    Signals (fire and forget, refused moves land in the history with `success=False`):
    `advance_phase(PhaseAdvanceSignal)`, `submit_vote(ReviewVoteSignal)`,
    `record_blocker(BlockerSignal)`, `submit_slice(SliceSubmission)`,
    `register_session(SessionRegisterSignal)`; from the children `slice_progress` and
    `review_complete`.
    Updates (validated: an illegal move is rejected at once, nothing changes; they return an
    `EpochSnapshot`): `advance`, `vote`, `blocker`, `slice`, `session`.
    Queries: `current_state`, `available_transitions`, `full_state`, `slice_progress_state`,
    `active_sessions`, `snapshot`.
    Every request is processed in arrival order by `run`, one at a time.
    """

    @workflow.init
    def __init__(self, input: EpochInput) -> None:
        carry = input.carry or EpochCarry(
            state=EpochState(epoch_id=input.epoch_id, current_phase=PhaseId.P1_Request)
        )
        self._input = input
        self._carry = carry
        self._sm = EpochStateMachine.from_state(carry.state)
        self._commands: list[_Command] = []
        self._background: list[asyncio.Future] = []

    @workflow.run
    async def run(self, input: EpochInput) -> EpochResult:
        state = self._sm.state
        # A continued run upserts the same values again: cheap, and correct whatever the
        # server carried over.
        self._upsert_search_attributes(
            epoch_id=input.epoch_id,
            last_event=EventType.PhaseTransition if state.transition_history else None,
        )
        while state.current_phase != PhaseId.Complete:
            await workflow.wait_condition(lambda: bool(self._commands) or self._history_is_long())
            if not self._commands:
                await workflow.wait_condition(
                    lambda: bool(self._commands) or workflow.all_handlers_finished()
                )
                if not self._commands:
                    await workflow.wait_condition(lambda: not self._background)
                    self._carry.run_count += 1
                    workflow.continue_as_new(replace(input, carry=self._carry))
                continue
            command = self._commands.pop(0)
            try:
                await self._process(command)
            finally:
                command.done = True
        await self._settle()
        await workflow.wait_condition(workflow.all_handlers_finished)
        history = state.transition_history
        return EpochResult(
            epoch_id=input.epoch_id,
            final_phase=state.current_phase,
            transition_count=len(history),
            successful_transition_count=sum(1 for r in history if r.success),
            constraint_violations_total=self._carry.constraint_violations_total,
        )

    # --- queries ----------------------------------------------------------------------------

    @workflow.query
    def current_state(self) -> EpochState:
        return self._sm.state

    @workflow.query(name="available_transitions")
    def available_transitions_query(self) -> list[Transition]:
        return self._sm.available_transitions

    @workflow.query
    def full_state(self) -> QueryStateResult:
        state = self._sm.state
        return QueryStateResult(
            current_phase=state.current_phase,
            current_role=state.current_role,
            transition_history=list(state.transition_history),
            votes=dict(state.review_votes),
            last_error=state.last_error,
            available_transitions=self._sm.available_transitions,
            active_session_count=len(self._carry.sessions),
        )

    @workflow.query
    def slice_progress_state(self) -> list[SliceProgressSignal]:
        return list(self._carry.slice_progress)

    @workflow.query
    def active_sessions(self) -> list[SessionRegisterSignal]:
        return list(self._carry.sessions)

    @workflow.query
    def snapshot(self) -> EpochSnapshot:
        carry = self._carry
        return EpochSnapshot(
            epoch_id=self._input.epoch_id,
            request_description=self._input.request_description,
            status=self._status(),
            state=self._sm.state,
            available_transitions=self._sm.available_transitions,
            slices=list(carry.slices.values()),
            review_rounds=list(carry.review_rounds),
            sessions=list(carry.sessions),
            constraint_violations_total=carry.constraint_violations_total,
            last_violations=list(carry.last_violations),
            run_count=carry.run_count,
        )

    # --- signals ----------------------------------------------------------------------------

    @workflow.signal
    def advance_phase(self, signal: PhaseAdvanceSignal) -> None:
        self._commands.append(_Command("advance", signal))

    @workflow.signal
    def submit_vote(self, signal: ReviewVoteSignal) -> None:
        self._commands.append(_Command("vote", signal))

    @workflow.signal
    def record_blocker(self, signal: BlockerSignal) -> None:
        self._commands.append(_Command("blocker", signal))

    @workflow.signal
    def submit_slice(self, submission: SliceSubmission) -> None:
        self._commands.append(_Command("slice", submission))

    @workflow.signal
    def register_session(self, signal: SessionRegisterSignal) -> None:
        self._commands.append(_Command("session", signal))

    @workflow.signal
    def slice_progress(self, signal: SliceProgressSignal) -> None:
        self._commands.append(_Command("slice_progress", signal))

    @workflow.signal
    async def review_complete(self, result: ReviewPhaseResult) -> None:
        # Handled at once, not queued: an advance out of the review phase waits for it.
        for review in self._carry.review_rounds:
            if review.phase == result.phase_id and review.cycle == result.cycle:
                if review.status == "open":
                    review.status = "accepted" if result.success else "revised"
                review.votes = dict(result.vote_result)
                await self._audit(
                    "review_round_completed",
                    {
                        "cycle": review.cycle,
                        "status": review.status,
                        "workflow_id": review.workflow_id,
                        "votes": {str(a): str(v) for a, v in review.votes.items()},
                    },
                    phase=review.phase,
                )

    # --- updates ----------------------------------------------------------------------------

    @workflow.update
    async def advance(self, request: PhaseAdvanceSignal) -> EpochSnapshot:
        return await self._submit("advance", request)

    @advance.validator
    def _validate_advance(self, request: PhaseAdvanceSignal) -> None:
        self._refuse(self._sm.validate_advance(PhaseId(request.to_phase)))

    @workflow.update
    async def vote(self, request: ReviewVoteSignal) -> EpochSnapshot:
        return await self._submit("vote", request)

    @vote.validator
    def _validate_vote(self, request: ReviewVoteSignal) -> None:
        self._refuse(self._vote_violations(request))

    @workflow.update
    async def blocker(self, request: BlockerSignal) -> EpochSnapshot:
        return await self._submit("blocker", request)

    @blocker.validator
    def _validate_blocker(self, request: BlockerSignal) -> None:
        self._refuse(self._blocker_violations(request))

    @workflow.update(name="slice")
    async def slice_update(self, request: SliceSubmission) -> EpochSnapshot:
        return await self._submit("slice", request)

    @slice_update.validator
    def _validate_slice(self, request: SliceSubmission) -> None:
        self._refuse(self._slice_violations(request))

    @workflow.update
    async def session(self, request: SessionRegisterSignal) -> EpochSnapshot:
        return await self._submit("session", request)

    @session.validator
    def _validate_session(self, request: SessionRegisterSignal) -> None:
        self._refuse(self._complete_violations())

    # --- processing -------------------------------------------------------------------------

    async def _submit(self, kind: str, payload: Any) -> EpochSnapshot:
        command = _Command(kind, payload)
        self._commands.append(command)
        await workflow.wait_condition(lambda: command.done)
        self._refuse(command.violations or [])
        return self.snapshot()

    @staticmethod
    def _refuse(violations: list[str]) -> None:
        if violations:
            raise ApplicationError(
                "; ".join(violations), violations, type=REFUSED, non_retryable=True
            )

    async def _process(self, command: _Command) -> None:
        handler = {
            "advance": self._process_advance,
            "vote": self._process_vote,
            "blocker": self._process_blocker,
            "slice": self._process_slice,
            "session": self._process_session,
            "slice_progress": self._process_slice_progress,
        }[command.kind]
        command.violations = await handler(command.payload)

    async def _process_advance(self, signal: PhaseAdvanceSignal) -> list[str] | None:
        sm = self._sm
        state = sm.state
        to_phase = PhaseId(signal.to_phase)
        from_phase = state.current_phase
        voted_all = len(state.review_votes) == len(ReviewAxis)
        # Advisory (the checks never block a move): it runs beside the move's own records,
        # on a copy of the state as it was before the move.
        check = asyncio.ensure_future(self._check_constraints(deepcopy(state), to_phase))
        try:
            record = sm.advance(
                to_phase,
                triggered_by=signal.triggered_by,
                condition_met=signal.condition_met,
                timestamp=workflow.now(),
            )
        except TransitionError as error:
            record = sm.record_failed_attempt(
                to_phase, error, triggered_by=signal.triggered_by, timestamp=workflow.now()
            )
            await _all(
                self._record_transition(record),
                check,
                self._audit(
                    EventType.PhaseAdvance,
                    {
                        "from": from_phase.value,
                        "to": to_phase.value,
                        "success": False,
                        "triggered_by": signal.triggered_by,
                        "violations": error.violations,
                    },
                ),
            )
            return error.violations

        await _all(
            self._change_children(from_phase, to_phase, voted_all),
            self._record_transition(record),
            check,
            self._audit(
                EventType.PhaseTransition,
                {
                    "from": from_phase.value,
                    "to": to_phase.value,
                    "triggered_by": signal.triggered_by,
                    "condition_met": signal.condition_met,
                },
            ),
        )
        self._upsert_search_attributes(last_event=EventType.PhaseTransition)
        return None

    async def _check_constraints(self, state: EpochState, to_phase: PhaseId) -> None:
        """Run the runtime constraint checks of a move and audit their outcome."""
        # Pure and fast: a local activity keeps it off the server's task queue.
        violations: list[ConstraintViolation] = await workflow.execute_local_activity(
            "check_constraints",
            args=[state, to_phase],
            start_to_close_timeout=RECORD_TIMEOUT,
            result_type=list[ConstraintViolation],
        )
        self._carry.constraint_violations_total += len(violations)
        self._carry.last_violations = violations
        await self._audit(
            EventType.ConstraintCheck,
            phase=state.current_phase,
            payload={
                "from": state.current_phase.value,
                "to": to_phase.value,
                "passed": not violations,
                "violations": [
                    {"constraint_id": v.constraint_id, "message": v.message, "context": v.context}
                    for v in violations
                ],
            },
        )

    async def _change_children(
        self, from_phase: PhaseId, to_phase: PhaseId, voted_all: bool
    ) -> None:
        await self._leave_phase(from_phase, to_phase, voted_all)
        await self._enter_phase(to_phase)

    def _upsert_search_attributes(
        self, *, epoch_id: str | None = None, last_event: str | None = None
    ) -> None:
        """Publish the phase, role, status and domain (spec §4.1) for visibility queries."""
        state = self._sm.state
        domain = PHASE_DOMAIN.get(state.current_phase)
        updates = [
            SA_PHASE.value_set(state.current_phase.value),
            SA_ROLE.value_set(state.current_role.value),
            SA_STATUS.value_set(self._status()),
            SA_DOMAIN.value_set(domain.value if domain else ""),
        ]
        if epoch_id is not None:
            updates.append(SA_EPOCH_ID.value_set(epoch_id))
        if last_event is not None:
            updates.append(SA_LAST_EVENT_TYPE.value_set(str(last_event)))
        workflow.upsert_search_attributes(updates)

    async def _leave_phase(self, from_phase: PhaseId, to_phase: PhaseId, voted_all: bool) -> None:
        """Close the review round of the review phase being left.

        With every axis voted the child completes by itself and reports `review_complete`.
        Otherwise it is cancelled as superseded. Neither holds up the move.
        """
        review = self._open_round(from_phase)
        if review is None or voted_all:
            return
        review.status = "superseded"
        self._in_background(workflow.get_external_workflow_handle(review.workflow_id).cancel())

    def _in_background(self, awaitable: Any) -> None:
        """Run a message to a child without making the current request wait for its ack."""
        task = asyncio.ensure_future(awaitable)
        self._background.append(task)

        def done(task: asyncio.Future) -> None:
            self._background.remove(task)
            if not task.cancelled() and task.exception() is not None:
                # e.g. the child closed on its own meanwhile
                workflow.logger.warning("message to a child failed: %s", task.exception())

        task.add_done_callback(done)

    async def _settle(self) -> None:
        """Wait for messages in flight and for rounds whose child has every vote."""
        await workflow.wait_condition(lambda: not self._background)
        try:
            await workflow.wait_condition(
                lambda: all(r.status != "open" for r in self._carry.review_rounds),
                timeout=REVIEW_RESULT_TIMEOUT,
            )
        except TimeoutError:
            workflow.logger.warning("review rounds still open at completion")

    async def _enter_phase(self, phase: PhaseId) -> None:
        """Start the children a phase needs: a review round in p4/p10, pending slices in p9."""
        epoch_id = self._input.epoch_id
        if phase in REVIEW_PHASES:
            cycle = 1 + sum(1 for r in self._carry.review_rounds if r.phase == phase)
            review = ReviewRound(
                phase=phase,
                cycle=cycle,
                workflow_id=review_workflow_id(epoch_id, phase.value, cycle),
            )
            self._carry.review_rounds.append(review)
            handle = await workflow.start_child_workflow(
                ReviewPhaseWorkflow.run,
                ReviewInput(epoch_id, phase.value, cycle, workflow.info().workflow_id),
                id=review.workflow_id,
                parent_close_policy=workflow.ParentClosePolicy.ABANDON,
            )
            # The result arrives as the `review_complete` signal (it survives continue-as-new);
            # retrieving the handle's outcome keeps a cancelled round from being logged as an
            # unretrieved task error.
            handle.add_done_callback(_consume)
        elif phase == PhaseId.P9_Slice:
            for record in self._carry.slices.values():
                if record.status == SliceStatus.Pending:
                    await self._start_slice(record)

    async def _start_slice(self, record: SliceRecord) -> None:
        epoch_id = self._input.epoch_id
        record.workflow_id = slice_workflow_id(epoch_id, record.slice_id)
        record.status = SliceStatus.Running
        record.output = record.error = ""
        self._sm.record_slice(record.slice_id, SliceStatus.Running)
        config = SliceExecutionConfig(
            mode=record.mode,
            command=record.command,
            timeout_seconds=record.timeout_seconds,
            heartbeat_interval=record.heartbeat_interval,
        )
        # Abandoned, not terminated, when this run closes: children report back by signal to
        # the epoch id, so they survive continue-as-new.
        handle = await workflow.start_child_workflow(
            SliceWorkflow.run,
            SliceInput(
                epoch_id=epoch_id,
                slice_id=record.slice_id,
                phase_spec=PhaseId.P9_Slice.value,
                parent_workflow_id=workflow.info().workflow_id,
                config=config,
                await_completion=record.await_completion,
            ),
            id=record.workflow_id,
            parent_close_policy=workflow.ParentClosePolicy.ABANDON,
        )
        handle.add_done_callback(_consume)
        await self._record_slice(record, "slice_started")

    async def _process_vote(self, signal: ReviewVoteSignal) -> list[str] | None:
        try:
            self._sm.record_vote(signal.axis, signal.vote)
        except ValueError as error:  # a malformed signal must not fail the workflow
            self._sm.state.last_error = str(error)
            return [str(error)]
        self._carry.vote_count += 1
        phase = self._sm.state.current_phase
        review = self._open_round(phase)
        # The vote goes to the round's child; the request does not wait for the ack.
        if review is not None:
            child = workflow.get_external_workflow_handle(review.workflow_id)
            self._in_background(child.signal(ReviewPhaseWorkflow.submit_vote, signal))
        await _all(
            workflow.execute_local_activity(
                "record_vote",
                RecordVoteInput(
                    epoch_id=self._input.epoch_id,
                    sequence=self._carry.vote_count,
                    phase=phase,
                    cycle=review.cycle if review else 0,
                    axis=ReviewAxis(signal.axis),
                    vote=VoteType(signal.vote),
                    reviewer_id=signal.reviewer_id,
                    timestamp=workflow.now(),
                ),
                start_to_close_timeout=RECORD_TIMEOUT,
                retry_policy=RECORD_RETRY,
            ),
            self._audit(
                EventType.VoteRecorded,
                {
                    "axis": str(signal.axis),
                    "vote": str(signal.vote),
                    "reviewer_id": signal.reviewer_id,
                    "cycle": review.cycle if review else 0,
                },
            ),
        )
        return None

    async def _process_blocker(self, signal: BlockerSignal) -> list[str] | None:
        violations = self._blocker_violations(signal)
        if violations:
            return violations
        severity = self._severity_of(signal)
        self._sm.record_blocker(signal.blocker_id, severity=severity, resolved=signal.resolved)
        state = self._sm.state
        event = EventType.BlockerResolved if signal.resolved else EventType.BlockerRecorded
        await _all(
            workflow.execute_local_activity(
                "record_blocker",
                RecordBlockerInput(
                    epoch_id=self._input.epoch_id,
                    blocker=replace(signal, severity=severity),
                    phase=state.current_phase,
                    blocker_count=state.blocker_count,
                    timestamp=workflow.now(),
                ),
                start_to_close_timeout=RECORD_TIMEOUT,
                retry_policy=RECORD_RETRY,
            ),
            self._audit(
                event,
                {
                    "blocker_id": signal.blocker_id,
                    "severity": severity.value,
                    "description": signal.description,
                    "reported_by": signal.reported_by,
                    "blocker_count": state.blocker_count,
                },
            ),
        )
        workflow.upsert_search_attributes([SA_LAST_EVENT_TYPE.value_set(event.value)])
        return None

    async def _process_slice(self, submission: SliceSubmission) -> list[str] | None:
        violations = self._slice_violations(submission)
        if violations:
            return violations
        record = SliceRecord(
            slice_id=submission.slice_id,
            mode=SliceMode(submission.mode),
            command=submission.command,
            timeout_seconds=submission.timeout_seconds,
            heartbeat_interval=submission.heartbeat_interval,
            await_completion=submission.await_completion,
            submitted_by=submission.submitted_by,
        )
        self._carry.slices[record.slice_id] = record
        self._sm.record_slice(record.slice_id, SliceStatus.Pending)
        if self._sm.state.current_phase == PhaseId.P9_Slice:
            await self._start_slice(record)
        else:
            await self._record_slice(record, "slice_submitted")
        return None

    async def _process_slice_progress(self, signal: SliceProgressSignal) -> None:
        self._carry.slice_progress.append(signal)
        record = self._carry.slices.get(signal.slice_id)
        if record is None or signal.stage_name != "execute":
            return
        if record.status != SliceStatus.Running:
            return  # a late report of a slice that was resubmitted meanwhile
        record.status = SliceStatus.Succeeded if signal.completed else SliceStatus.Failed
        record.output, record.error = signal.output, signal.error
        self._sm.record_slice(record.slice_id, record.status)
        await self._record_slice(record, "slice_finished")

    async def _process_session(self, signal: SessionRegisterSignal) -> None:
        if any(s.session_id == signal.session_id for s in self._carry.sessions):
            return  # first registration wins
        self._carry.sessions.append(signal)
        await _all(
            workflow.execute_local_activity(
                "record_session",
                RecordSessionInput(self._input.epoch_id, signal, workflow.now()),
                start_to_close_timeout=RECORD_TIMEOUT,
                retry_policy=RECORD_RETRY,
            ),
            self._audit(
                "session_registered",
                {
                    "session_id": signal.session_id,
                    "role": signal.role,
                    "model_harness": signal.model_harness,
                    "model": signal.model,
                },
            ),
        )

    # --- helpers ----------------------------------------------------------------------------

    def _status(self) -> str:
        complete = self._sm.state.current_phase == PhaseId.Complete
        return STATUS_COMPLETE if complete else STATUS_RUNNING

    def _history_is_long(self) -> bool:
        info = workflow.info()
        limit = self._input.continue_as_new_after
        if limit and info.get_current_history_length() >= limit:
            return True
        return info.is_continue_as_new_suggested()

    def _open_round(self, phase: PhaseId) -> ReviewRound | None:
        rounds = [r for r in self._carry.review_rounds if r.phase == phase]
        if rounds and rounds[-1].status == "open":
            return rounds[-1]
        return None

    def _complete_violations(self) -> list[str]:
        if self._sm.state.current_phase == PhaseId.Complete:
            return ["Epoch is already COMPLETE; no further transitions are possible."]
        return []

    def _vote_violations(self, request: ReviewVoteSignal) -> list[str]:
        phase = self._sm.state.current_phase
        if phase not in REVIEW_PHASES:
            return self._complete_violations() or [
                f"Votes are only accepted in the review phases p4 and p10; "
                f"the epoch is in {phase.value}."
            ]
        return []

    def _severity_of(self, signal: BlockerSignal) -> SeverityLevel:
        """Return the finding's severity; a resolution finds it by id in the open groups."""
        if signal.resolved:
            for level, ids in self._sm.state.severity_groups.items():
                if signal.blocker_id in ids:
                    return SeverityLevel(level)
        return SeverityLevel(signal.severity)

    def _blocker_violations(self, signal: BlockerSignal) -> list[str]:
        if violations := self._complete_violations():
            return violations
        if not signal.blocker_id:
            return ["A finding needs a blocker_id."]
        open_ids = self._sm.state.severity_groups.get(self._severity_of(signal), set())
        if signal.resolved and signal.blocker_id not in open_ids:
            return [f"Finding {signal.blocker_id!r} is not open."]
        if not signal.resolved and signal.blocker_id in open_ids:
            return [f"Finding {signal.blocker_id!r} is already open."]
        return []

    def _slice_violations(self, submission: SliceSubmission) -> list[str]:
        if violations := self._complete_violations():
            return violations
        phase = self._sm.state.current_phase
        if phase not in SLICE_PHASES:
            return [
                f"Slices can only be submitted in p8 (Impl Plan) or p9 (Worker Slices); "
                f"the epoch is in {phase.value}."
            ]
        existing = self._carry.slices.get(submission.slice_id)
        if existing is not None and existing.status in (SliceStatus.Pending, SliceStatus.Running):
            return [f"Slice {submission.slice_id!r} is already {existing.status.value}."]
        return []

    async def _record_transition(self, record: Any) -> None:
        state = self._sm.state
        await workflow.execute_local_activity(
            "record_transition",
            RecordTransitionInput(
                epoch_id=self._input.epoch_id,
                index=len(state.transition_history) - 1,
                record=record,
                current_phase=state.current_phase,
                status=self._status(),
                blocker_count=state.blocker_count,
                last_error=state.last_error,
            ),
            start_to_close_timeout=RECORD_TIMEOUT,
            retry_policy=RECORD_RETRY,
        )

    async def _record_slice(self, record: SliceRecord, event_type: str) -> None:
        await _all(
            workflow.execute_local_activity(
                "record_slice",
                RecordSliceInput(self._input.epoch_id, replace(record), workflow.now()),
                start_to_close_timeout=RECORD_TIMEOUT,
                retry_policy=RECORD_RETRY,
            ),
            self._audit(
                event_type,
                {
                    "slice_id": record.slice_id,
                    "mode": record.mode.value,
                    "status": record.status.value,
                    "workflow_id": record.workflow_id,
                    "error": record.error,
                },
            ),
        )

    async def _audit(
        self, event_type: str, payload: dict[str, Any], *, phase: PhaseId | None = None
    ) -> None:
        """Record an audit event through the worker's trail (`record_audit_event`)."""
        state = self._sm.state
        await workflow.execute_local_activity(
            "record_audit_event",
            AuditEvent(
                epoch_id=self._input.epoch_id,
                event_type=str(event_type),
                phase=str(phase or state.current_phase),
                role=str(state.current_role),
                payload=payload,
            ),
            start_to_close_timeout=RECORD_TIMEOUT,
            retry_policy=RECORD_RETRY,
        )


@workflow.defn
class SliceWorkflow:
    """One p9 worker slice, a child of its epoch (id `<epoch_id>-slice-<slice_id>`).

    Signals: `start_slice(SliceStartSignal)`, `complete_slice(SliceCompleteSignal)` (an agent's
    own report; it overrides the command's result), `review_cycle(ReviewCycleSignal)`.
    Queries: `review_cycle_count`, `review_cycles`. The result is reported to the parent as a
    `slice_progress` signal with stage `execute`.
    """

    def __init__(self) -> None:
        self._start: SliceStartSignal | None = None
        self._complete: SliceCompleteSignal | None = None
        self._cycles: list[ReviewCycleRecord] = []

    @workflow.run
    async def run(self, input: SliceInput) -> SliceResult:
        config = input.config or (self._start.config if self._start else None)
        mode = SliceMode(config.mode) if config else SliceMode.Mock
        timeout = config.timeout_seconds if config else 300
        result = SliceResult(slice_id=input.slice_id, success=True)
        if mode in (SliceMode.Tmux, SliceMode.Subprocess):
            assert config is not None
            result = await workflow.execute_activity(
                "execute_slice_command",
                args=[
                    config.command,
                    input.slice_id,
                    input.epoch_id,
                    None,
                    config.timeout_seconds,
                    config.heartbeat_interval,
                ],
                result_type=SliceResult,
                # The activity enforces the timeout itself (and kills the command); the margin
                # lets it report that instead of being cut off.
                start_to_close_timeout=timedelta(seconds=config.timeout_seconds + 30),
                heartbeat_timeout=timedelta(seconds=max(config.heartbeat_interval, 1) * 3),
                retry_policy=RetryPolicy(maximum_attempts=1),
            )
        elif mode != SliceMode.Mock:
            result = SliceResult(input.slice_id, False, error=f"Unknown execution mode: {mode}")
        elif input.await_completion:
            try:
                await workflow.wait_condition(
                    lambda: self._complete is not None, timeout=timedelta(seconds=timeout)
                )
            except TimeoutError:
                result = SliceResult(
                    input.slice_id, False, error=f"No completion reported within {timeout}s"
                )
        if self._complete is not None:
            done = self._complete
            result = SliceResult(
                input.slice_id, done.success, output=done.output, error=done.error or None
            )
        if input.parent_workflow_id:
            try:
                await workflow.get_external_workflow_handle(input.parent_workflow_id).signal(
                    EpochWorkflow.slice_progress,
                    SliceProgressSignal(
                        slice_id=input.slice_id,
                        leaf_task_id=input.slice_id,
                        stage_name="execute",
                        completed=result.success,
                        output=result.output,
                        error=result.error or "",
                    ),
                )
            except Exception as exc:  # best effort, as in the origin
                workflow.logger.warning(
                    "SliceWorkflow(%s): parent signal delivery failed (parent_id=%s): %s",
                    input.slice_id,
                    input.parent_workflow_id,
                    exc,
                )
        return result

    @workflow.signal
    def start_slice(self, signal: SliceStartSignal) -> None:
        self._start = signal

    @workflow.signal
    def complete_slice(self, signal: SliceCompleteSignal) -> None:
        self._complete = signal

    @workflow.signal
    def review_cycle(self, signal: ReviewCycleSignal) -> None:
        self._cycles.append(ReviewCycleRecord(signal.cycle_number, signal.reviewer_feedback))

    @workflow.query
    def review_cycle_count(self) -> int:
        return len(self._cycles)

    @workflow.query
    def review_cycles(self) -> list[ReviewCycleRecord]:
        return list(self._cycles)


@workflow.defn
class ReviewPhaseWorkflow:
    """One p4/p10 review round (id `<epoch_id>-review-<phase>-<cycle>`).

    Signal `submit_vote(ReviewVoteSignal)` (last vote per axis wins). Completes once all three
    axes voted, with `success` = all ACCEPT, and reports to the parent as `review_complete`.
    The epoch cancels a round it leaves before every axis voted.
    """

    def __init__(self) -> None:
        self._votes: dict[ReviewAxis, VoteType] = {}

    @workflow.run
    async def run(self, input: ReviewInput) -> ReviewPhaseResult:
        await workflow.wait_condition(lambda: len(self._votes) == len(ReviewAxis))
        result = ReviewPhaseResult(
            phase_id=input.phase_id,
            success=all(v == VoteType.Accept for v in self._votes.values()),
            vote_result=dict(self._votes),
            cycle=input.cycle,
        )
        if input.parent_workflow_id:
            try:
                await workflow.get_external_workflow_handle(input.parent_workflow_id).signal(
                    EpochWorkflow.review_complete, result
                )
            except Exception as exc:  # the epoch may be gone; the result is still returned
                workflow.logger.warning(
                    "ReviewPhaseWorkflow(%s): parent signal delivery failed: %s",
                    input.phase_id,
                    exc,
                )
        return result

    @workflow.signal
    async def submit_vote(self, signal: ReviewVoteSignal) -> None:
        self._votes[ReviewAxis(signal.axis)] = VoteType(signal.vote)
