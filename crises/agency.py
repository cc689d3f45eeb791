"""`LiaraTemporalAgency`: the Python crisis client, on the crisis service layer.

Usage::

    async with LiaraTemporalAgency() as agency:
        workflow_id = await agency.trigger_crisis_response(
            target_member="target-alpha", missions=[{...}], initiated_by="user-123"
        )
        result = await agency.wait_for_crisis_completion(workflow_id)
        print(f"Success: {result['success']}")

Status never blocks and tells the truth, `wait` returns the result's five
keys, and Temporal Cloud works (mTLS files or an API key). Triggers go through
`crises.services`, so the crisis is recorded in PostgreSQL before its workflow starts.
"""

import asyncio
import logging
import os
from collections.abc import Mapping, Sequence
from datetime import timedelta
from typing import Any

from django.conf import settings
from temporalio.client import (
    Client,
    WorkflowExecutionStatus,
    WorkflowFailureError,
    WorkflowQueryFailedError,
)
from temporalio.exceptions import is_cancelled_exception
from temporalio.service import RPCError

from aura_site.db import db_sync_to_async
from aura_site.runs import executions, outbox
from aura_site.temporal import TemporalUnavailable, connect, tls_config
from crises import records, services
from crises.exceptions import WorkflowStartFailed
from crises.inputs import CrisisProgress, CrisisResult
from crises.models import Crisis
from crises.workflows import WORKFLOW_ID_PREFIX, CrisisResponseWorkflow, workflow_id_for

logger = logging.getLogger("crises.agency")

# A query needs a worker; without one it would hang until the RPC deadline.
_QUERY_TIMEOUT = timedelta(seconds=5)


def _first(*values: str | None) -> str:
    return next((value for value in values if value), "")


def _result_dict(result: CrisisResult) -> dict[str, Any]:
    return {
        "success": result.success,
        "crisis_id": result.crisis_id,
        "completed_phases": result.completed_phases,
        "failed_phases": result.failed_phases,
        "error": result.error,
    }


def _result_status(result: CrisisResult) -> str:
    if result.success:
        return "completed"
    return "partial_failure" if result.completed_phases and result.failed_phases else "failed"


def _recorded_result(workflow_id: str) -> dict[str, Any] | None:
    crisis = Crisis.objects.filter(workflow_id=workflow_id).first()
    return services.as_result(crisis) if crisis is not None else None


def _closed_status(workflow_id: str, state: WorkflowExecutionStatus) -> dict[str, Any]:
    """Close the record of a workflow that ended without a result; report what it says."""
    crisis = Crisis.objects.filter(workflow_id=workflow_id).first()
    if crisis is None:
        return {"status": "failed", "error": state.name.lower()}
    if crisis.is_active:
        reason = executions.unrecorded_end(workflow_id, state, created_at=crisis.created_at)
        crisis = records.fail_unfinished(crisis, reason or state.name.lower(), actor="agency")
    return {"status": crisis.status} | services.as_result(crisis)


class LiaraTemporalAgency:
    """High-level crisis client: trigger, status (non-blocking), wait.

    Each option falls back to the environment (through Django settings): `TEMPORAL_ADDRESS`
    (or `TEMPORAL_HOST`), `TEMPORAL_NAMESPACE`, `CRISIS_TASK_QUEUE`,
    `TEMPORAL_TLS_CERT` / `TEMPORAL_TLS_KEY` / `TEMPORAL_TLS_CA` (paths or PEM text) and
    `TEMPORAL_API_KEY`. For Temporal Cloud pass `temporal_host="<ns>.<acct>.tmprl.cloud:7233"`,
    `namespace="<ns>.<acct>"` and either `tls_cert`+`tls_key` or `api_key`.
    """

    def __init__(
        self,
        temporal_host: str | None = None,
        namespace: str | None = None,
        task_queue: str | None = None,
        *,
        tls_cert: str | None = None,
        tls_key: str | None = None,
        tls_ca: str | None = None,
        api_key: str | None = None,
        connect_attempts: int = 3,
    ) -> None:
        self.temporal_host = _first(
            temporal_host, os.environ.get("TEMPORAL_HOST"), settings.TEMPORAL_ADDRESS
        )
        self.namespace = _first(namespace, settings.TEMPORAL_NAMESPACE)
        self.task_queue = _first(task_queue, settings.CRISIS_TASK_QUEUE)
        self.tls = tls_config(
            cert=_first(tls_cert, settings.TEMPORAL_TLS_CERT),
            key=_first(tls_key, settings.TEMPORAL_TLS_KEY),
            ca=_first(tls_ca, settings.TEMPORAL_TLS_CA),
        )
        self.api_key = _first(api_key, settings.TEMPORAL_API_KEY)
        self.connect_attempts = connect_attempts
        self._client: Client | None = None
        logger.info(
            "Liara Temporal Agency initialized - Host: %s, Namespace: %s, Task Queue: %s",
            self.temporal_host,
            self.namespace,
            self.task_queue,
        )

    # --- connection ----------------------------------------------------------------------

    @property
    def connected(self) -> bool:
        return self._client is not None

    async def connect(self) -> None:
        """Connect (once); raise ConnectionError when the server cannot be reached."""
        if self._client is not None:
            logger.debug("Already connected to Temporal server")
            return
        try:
            self._client = await connect(
                self.temporal_host,
                namespace=self.namespace,
                tls=self.tls,
                api_key=self.api_key,
                attempts=self.connect_attempts,
            )
        except TemporalUnavailable as exc:
            raise ConnectionError(
                f"Unable to connect to Temporal at {self.temporal_host}"
            ) from exc
        logger.info("Liara Temporal Agency connected to Temporal server")

    async def disconnect(self) -> None:
        """Forget the connection (the SDK closes its channel when the client is collected)."""
        if self._client is not None:
            self._client = None
            logger.info("Liara Temporal Agency disconnected")

    async def __aenter__(self) -> "LiaraTemporalAgency":
        await self.connect()
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        await self.disconnect()

    def _require_client(self) -> Client:
        if self._client is None:
            raise RuntimeError("Not connected to Temporal server. Call connect() first.")
        return self._client

    # --- crises --------------------------------------------------------------------------

    async def trigger_crisis_response(
        self,
        target_member: str,
        missions: Sequence[Mapping[str, Any]],
        initiated_by: str | None = None,
    ) -> str:
        """Record a crisis, start its workflow and return the workflow id.

        Missing mission keys get defaults (`phase-<idx>`, `default-agent`,
        `deploy`, the target, priority `idx + 1`).

        Raises:
            crises.exceptions.InvalidCrisisRequest: when the request breaks the rules.
            crises.exceptions.WorkflowStartFailed: when Temporal refused (recorded as failed).
        """
        client = self._require_client()
        filled = services.with_agency_defaults(target_member, missions)
        trigger = await db_sync_to_async(services.record_crisis)(
            target=target_member,
            missions=filled,
            initiated_by=initiated_by or "",
            actor=f"agency:{initiated_by}" if initiated_by else "agency",
            task_queue=self.task_queue,
        )
        crisis = trigger.record
        logger.info(
            "Triggering crisis response for target: %s (Crisis ID: %s, Missions: %d)",
            target_member,
            crisis.crisis_id,
            len(filled),
        )
        assert trigger.intent is not None
        start = await outbox.start_async(trigger.intent, client)
        if start.failed:
            raise WorkflowStartFailed(
                f"Could not start crisis {crisis.crisis_id}: {start.error}",
                crisis_id=crisis.crisis_id,
            )
        if start.pending:
            logger.warning(
                "Crisis %s is recorded and waiting to start: %s", crisis.crisis_id, start.error
            )
        else:
            logger.info(
                "Crisis response workflow started - Workflow ID: %s, Crisis ID: %s",
                crisis.workflow_id,
                crisis.crisis_id,
            )
        return crisis.workflow_id

    @staticmethod
    def _workflow_id(reference: str) -> str:
        # Accept the crisis id too, as every other way in does.
        return (
            reference if reference.startswith(WORKFLOW_ID_PREFIX) else workflow_id_for(reference)
        )

    async def get_crisis_status(self, workflow_id: str) -> dict[str, Any]:
        """Return where a crisis stands, without waiting for it.

        `status` is one of running, completed, partial_failure, failed, cancelled, not_found,
        or `initiated` with `waiting_to_start` for a recorded crisis Temporal has not started.
        """
        client = self._require_client()
        workflow_id = self._workflow_id(workflow_id)
        handle = client.get_workflow_handle_for(CrisisResponseWorkflow.run, workflow_id)
        state = await executions.execution_status(workflow_id, client)
        if state is None:
            intent = await db_sync_to_async(outbox.intent_for)(workflow_id)
            if intent is not None and intent.is_pending:
                return {
                    "status": "initiated",
                    "workflow_id": workflow_id,
                    "waiting_to_start": True,
                }
            return {"status": "not_found", "workflow_id": workflow_id}
        if state == WorkflowExecutionStatus.RUNNING:
            status: dict[str, Any] = {"status": "running", "workflow_id": workflow_id}
            try:
                progress = await handle.query(
                    CrisisResponseWorkflow.progress, rpc_timeout=_QUERY_TIMEOUT
                )
            except (RPCError, WorkflowQueryFailedError) as exc:  # e.g. no worker polling yet
                logger.debug("No progress for %s: %s", workflow_id, exc)
                return status
            assert isinstance(progress, CrisisProgress)
            return {
                **status,
                "crisis_id": progress.crisis_id,
                "state": progress.state,
                "completed_phases": progress.completed_phases,
                "failed_phases": progress.failed_phases,
                "total_phases": progress.total_phases,
                "current_phase": progress.current_phase,
            }
        if state == WorkflowExecutionStatus.COMPLETED:
            result = await handle.result()
            return {"status": _result_status(result), "workflow_id": workflow_id} | _result_dict(
                result
            )
        closed = await db_sync_to_async(_closed_status)(workflow_id, state)
        return {"workflow_id": workflow_id} | closed

    async def wait_for_crisis_completion(
        self, workflow_id: str, timeout: float | None = None
    ) -> dict[str, Any]:
        """Wait for the crisis to end and return the result's five keys.

        A cancelled or terminated crisis returns `success: False` with what its record says.

        Raises:
            TimeoutError: when `timeout` seconds pass first.
            temporalio.service.RPCError: when no such workflow exists.
        """
        client = self._require_client()
        workflow_id = self._workflow_id(workflow_id)
        logger.info("Waiting for crisis workflow completion: %s", workflow_id)
        handle = client.get_workflow_handle_for(CrisisResponseWorkflow.run, workflow_id)
        try:
            result = await asyncio.wait_for(handle.result(), timeout=timeout)
        except WorkflowFailureError as exc:
            recorded = await db_sync_to_async(_recorded_result)(workflow_id)
            outcome = recorded or {
                "success": False,
                "crisis_id": workflow_id.removeprefix(WORKFLOW_ID_PREFIX),
                "completed_phases": 0,
                "failed_phases": None,
                "error": None,
            }
            if not outcome["error"]:
                outcome["error"] = "cancelled" if is_cancelled_exception(exc.cause) else str(exc)
            logger.info("Crisis workflow ended without a result: %s", outcome["error"])
            return outcome
        logger.info(
            "Crisis workflow completed - Success: %s, Completed: %d",
            result.success,
            result.completed_phases,
        )
        return _result_dict(result)
