"""`EpochWorkflow`: one epoch of the Aura Protocol v3, with its review and slice children.

No Django here (the sandbox re-imports this module): activities are called by name and the
pure protocol core comes in through `imports_passed_through`.
"""

from __future__ import annotations

import asyncio
from copy import deepcopy
from dataclasses import dataclass, replace
from typing import Any

from temporalio import workflow
from temporalio.exceptions import ApplicationError

with workflow.unsafe.imports_passed_through():
    from audit.events import AuditEvent
    from epochs.constraints import ConstraintViolation, check_outcome
    from epochs.inputs import (
        STATUS_COMPLETE,
        STATUS_RUNNING,
        BlockerSignal,
        ConstraintCheckInput,
        EpochCarry,
        EpochInput,
        EpochResult,
        EpochSnapshot,
        PhaseAdvanceSignal,
        QueryStateResult,
        RecordBlockerInput,
        RecordRequestInput,
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
        SliceSubmission,
    )
    from epochs.protocol import (
        PHASE_DOMAIN,
        EventType,
        PhaseId,
        ReviewAxis,
        SliceExecutionConfig,
        SliceMode,
        SliceStatus,
        Transition,
        VoteType,
    )
    from epochs.search_attributes import (
        SA_DOMAIN,
        SA_EPOCH_ID,
        SA_LAST_EVENT_TYPE,
        SA_PHASE,
        SA_ROLE,
        SA_STATUS,
    )
    from epochs.state_machine import (
        REVIEW_PHASES,
        EpochState,
        EpochStateMachine,
        TransitionError,
    )

from epochs.workflows.common import (
    CONTINUE_WHEN_QUIET,
    ONE_RECORD_PER_REQUEST,
    RECORD_RETRY,
    RECORD_TIMEOUT,
    REFUSED,
    REVIEW_RESULT_TIMEOUT,
    all_settled,
    consume,
    review_workflow_id,
    slice_workflow_id,
)
from epochs.workflows.review import ReviewPhaseWorkflow
from epochs.workflows.slice import SliceWorkflow


@dataclass
class _Command:
    """One queued request; update handlers wait for `done` and report `violations`."""

    kind: str
    payload: Any
    done: bool = False
    violations: list[str] | None = None


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
                if await self._quiet():
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

    @workflow.query
    def available_transitions(self) -> list[Transition]:
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
        self._refuse(self._sm.vote_violations())

    @workflow.update
    async def blocker(self, request: BlockerSignal) -> EpochSnapshot:
        return await self._submit("blocker", request)

    @blocker.validator
    def _validate_blocker(self, request: BlockerSignal) -> None:
        self._refuse(
            self._sm.blocker_violations(request.blocker_id, request.severity, request.resolved)
        )

    @workflow.update(name="slice")
    async def slice_update(self, request: SliceSubmission) -> EpochSnapshot:
        return await self._submit("slice", request)

    @slice_update.validator
    def _validate_slice(self, request: SliceSubmission) -> None:
        self._refuse(self._sm.slice_violations(request.slice_id))

    @workflow.update
    async def session(self, request: SessionRegisterSignal) -> EpochSnapshot:
        return await self._submit("session", request)

    @session.validator
    def _validate_session(self, request: SessionRegisterSignal) -> None:
        self._refuse(self._sm.complete_violations())

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
        if workflow.patched(ONE_RECORD_PER_REQUEST):
            return await self._advance_recorded_at_once(signal, voted_all)
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
            await all_settled(
                self._record_transition(record, actor=signal.actor),
                check,
                self._audit(
                    EventType.PhaseAdvance,
                    {
                        "from": from_phase.value,
                        "to": to_phase.value,
                        "success": False,
                        "triggered_by": signal.triggered_by,
                        "actor": signal.actor,
                        "violations": error.violations,
                    },
                ),
            )
            return error.violations

        # Published with the state change, not after its records: a query and the search
        # attributes never disagree about the phase.
        self._upsert_search_attributes(last_event=EventType.PhaseTransition)
        self._carry.review_voters.clear()
        await all_settled(
            self._change_children(from_phase, to_phase, voted_all),
            self._record_transition(record, actor=signal.actor),
            check,
            self._audit(
                EventType.PhaseTransition,
                {
                    "from": from_phase.value,
                    "to": to_phase.value,
                    "triggered_by": signal.triggered_by,
                    "actor": signal.actor,
                    "condition_met": signal.condition_met,
                },
            ),
        )
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
        self._count_violations(violations)
        await self._audit(
            EventType.ConstraintCheck,
            phase=state.current_phase,
            payload=check_outcome(state.current_phase, to_phase, violations),
        )

    def _count_violations(self, violations: list[ConstraintViolation]) -> None:
        self._carry.constraint_violations_total += len(violations)
        self._carry.last_violations = violations

    async def _advance_recorded_at_once(
        self, signal: PhaseAdvanceSignal, voted_all: bool
    ) -> list[str] | None:
        """Make (or refuse) a move and write its row, check and audit events in one local
        activity (`record_request`), beside any change to the review children."""
        sm = self._sm
        to_phase = PhaseId(signal.to_phase)
        from_phase = sm.state.current_phase
        # Advisory (the checks never block a move): on the state as it was before the move.
        before = deepcopy(sm.state)
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
            event = self._event(
                EventType.PhaseAdvance,
                {
                    "from": from_phase.value,
                    "to": to_phase.value,
                    "success": False,
                    "triggered_by": signal.triggered_by,
                    "actor": signal.actor,
                    "violations": error.violations,
                },
            )
            await self._record_request(
                transition=self._transition_input(record, actor=signal.actor),
                events=[event],
                check=ConstraintCheckInput(before, to_phase, str(sm.state.current_role)),
            )
            return error.violations

        # Published with the state change, not after its records: a query and the search
        # attributes never disagree about the phase.
        self._upsert_search_attributes(last_event=EventType.PhaseTransition)
        self._carry.review_voters.clear()
        event = self._event(
            EventType.PhaseTransition,
            {
                "from": from_phase.value,
                "to": to_phase.value,
                "triggered_by": signal.triggered_by,
                "actor": signal.actor,
                "condition_met": signal.condition_met,
            },
        )
        await all_settled(
            self._change_children(from_phase, to_phase, voted_all),
            self._record_request(
                transition=self._transition_input(record, actor=signal.actor),
                events=[event],
                check=ConstraintCheckInput(before, to_phase, str(sm.state.current_role)),
            ),
        )
        return None

    async def _record_request(
        self,
        *,
        transition: RecordTransitionInput | None = None,
        vote: RecordVoteInput | None = None,
        events: list[AuditEvent],
        check: ConstraintCheckInput | None = None,
    ) -> None:
        """Write a request's records and audit events (one local activity); count the move's
        constraint violations."""
        violations: list[ConstraintViolation] = await workflow.execute_local_activity(
            "record_request",
            RecordRequestInput(self._input.epoch_id, transition, vote, events, check),
            start_to_close_timeout=RECORD_TIMEOUT,
            retry_policy=RECORD_RETRY,
            result_type=list[ConstraintViolation],
        )
        if check is not None:
            self._count_violations(violations)

    async def _change_children(
        self, from_phase: PhaseId, to_phase: PhaseId, voted_all: bool
    ) -> None:
        await self._leave_phase(from_phase, to_phase, voted_all)
        await self._enter_phase(to_phase)

    def _upsert_search_attributes(
        self, *, epoch_id: str | None = None, last_event: str | None = None
    ) -> None:
        """Publish the phase, role, status and domain for visibility queries."""
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

    async def _quiet(self) -> bool:
        """Wait until no handler runs and no message is in flight; False if a request came.

        Continuing as new drops what a handler has not finished, so both are checked in one
        condition: nothing can start between the check and the continue.
        """
        if workflow.patched(CONTINUE_WHEN_QUIET):
            await workflow.wait_condition(
                lambda: (
                    bool(self._commands)
                    or (not self._background and workflow.all_handlers_finished())
                )
            )
            return not self._commands
        await workflow.wait_condition(
            lambda: bool(self._commands) or workflow.all_handlers_finished()
        )
        if self._commands:
            return False
        await workflow.wait_condition(lambda: not self._background)
        return True

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
            handle.add_done_callback(consume)
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
        handle.add_done_callback(consume)
        await self._record_slice(record, "slice_started")

    async def _process_vote(self, signal: ReviewVoteSignal) -> list[str] | None:
        if signal.distinct_voters and (violations := self._voter_violations(signal)):
            return violations
        try:
            self._sm.record_vote(signal.axis, signal.vote)
        except ValueError as error:  # a malformed signal must not fail the workflow
            self._sm.state.last_error = str(error)
            return [str(error)]
        if signal.actor:
            self._carry.review_voters[ReviewAxis(signal.axis)] = signal.actor
        self._carry.vote_count += 1
        phase = self._sm.state.current_phase
        review = self._open_round(phase)
        # The vote goes to the round's child; the request does not wait for the ack.
        if review is not None:
            child = workflow.get_external_workflow_handle(review.workflow_id)
            self._in_background(child.signal(ReviewPhaseWorkflow.submit_vote, signal))
        vote = RecordVoteInput(
            epoch_id=self._input.epoch_id,
            sequence=self._carry.vote_count,
            phase=phase,
            cycle=review.cycle if review else 0,
            axis=ReviewAxis(signal.axis),
            vote=VoteType(signal.vote),
            reviewer_id=signal.reviewer_id,
            timestamp=workflow.now(),
            actor=signal.actor,
        )
        payload = {
            "axis": str(signal.axis),
            "vote": str(signal.vote),
            "reviewer_id": signal.reviewer_id,
            "actor": signal.actor,
            "cycle": review.cycle if review else 0,
        }
        if workflow.patched(ONE_RECORD_PER_REQUEST):
            await self._record_request(
                vote=vote, events=[self._event(EventType.VoteRecorded, payload)]
            )
            return None
        await all_settled(
            workflow.execute_local_activity(
                "record_vote",
                vote,
                start_to_close_timeout=RECORD_TIMEOUT,
                retry_policy=RECORD_RETRY,
            ),
            self._audit(EventType.VoteRecorded, payload),
        )
        return None

    async def _process_blocker(self, signal: BlockerSignal) -> list[str] | None:
        violations = self._sm.blocker_violations(
            signal.blocker_id, signal.severity, signal.resolved
        )
        if violations:
            return violations
        severity = self._sm.severity_of(signal.blocker_id, signal.severity, signal.resolved)
        self._sm.record_blocker(signal.blocker_id, severity=severity, resolved=signal.resolved)
        state = self._sm.state
        event = EventType.BlockerResolved if signal.resolved else EventType.BlockerRecorded
        workflow.upsert_search_attributes([SA_LAST_EVENT_TYPE.value_set(event.value)])
        await all_settled(
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
        return None

    async def _process_slice(self, submission: SliceSubmission) -> list[str] | None:
        violations = self._sm.slice_violations(submission.slice_id)
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
        await all_settled(
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

    def _voter_violations(self, signal: ReviewVoteSignal) -> list[str]:
        """One person, one axis per review round (when the deployment asks for it)."""
        for voted_axis, actor in self._carry.review_voters.items():
            # StrEnum members equal their values, so a malformed axis compares unequal here
            # and record_vote refuses it with its own message.
            if actor == signal.actor and voted_axis != signal.axis:
                return [
                    f"{actor} already voted on the {voted_axis.value} axis in this review "
                    f"round; each axis needs a different reviewer."
                ]
        return []

    async def _record_transition(self, record: Any, *, actor: str = "") -> None:
        await workflow.execute_local_activity(
            "record_transition",
            self._transition_input(record, actor=actor),
            start_to_close_timeout=RECORD_TIMEOUT,
            retry_policy=RECORD_RETRY,
        )

    def _transition_input(self, record: Any, *, actor: str) -> RecordTransitionInput:
        """The history row of the move just made (or refused) and the epoch's phase after it."""
        state = self._sm.state
        return RecordTransitionInput(
            epoch_id=self._input.epoch_id,
            index=len(state.transition_history) - 1,
            record=record,
            current_phase=state.current_phase,
            status=self._status(),
            blocker_count=state.blocker_count,
            last_error=state.last_error,
            actor=actor,
        )

    async def _record_slice(self, record: SliceRecord, event_type: str) -> None:
        await all_settled(
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
        await workflow.execute_local_activity(
            "record_audit_event",
            self._event(event_type, payload, phase=phase),
            start_to_close_timeout=RECORD_TIMEOUT,
            retry_policy=RECORD_RETRY,
        )

    def _event(
        self, event_type: str, payload: dict[str, Any], *, phase: PhaseId | None = None
    ) -> AuditEvent:
        """Return an audit event of this epoch, in its current phase and role by default."""
        state = self._sm.state
        return AuditEvent(
            epoch_id=self._input.epoch_id,
            event_type=str(event_type),
            phase=str(phase or state.current_phase),
            role=str(state.current_role),
            payload=payload,
        )
