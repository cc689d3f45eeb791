"""`runworker` with AURA_LOG_FORMAT=json: one JSON object per line, with the workflow's ids."""

import json
import os
import signal
import subprocess
import sys
import uuid
from pathlib import Path
from typing import Any

import pytest
from temporalio.testing import WorkflowEnvironment

from aura_site import logs
from crises.inputs import CrisisRequest, CrisisResult, MissionPhase
from crises.workflows import workflow_id_for
from tests.conftest import database_url, server_address

ROOT = Path(__file__).resolve().parents[2]


def json_lines(text: str) -> list[dict[str, Any]]:
    """Parse every line as one JSON object (a line that is not one fails the test)."""
    return [json.loads(line) for line in text.splitlines() if line]


@pytest.mark.django_db(transaction=True)
async def test_worker_logs_are_json_with_the_workflow_and_the_failure_cause(
    temporal_env: WorkflowEnvironment, tmp_path: Path
) -> None:
    queue = f"crisis-{uuid.uuid4()}"
    script = {"phase-2": {"fail": 9, "non_retryable": True, "error": "no exfil route"}}
    env = {
        **os.environ,
        "AURA_LOG_FORMAT": "json",
        "AURA_LOG_LEVEL": "INFO",
        "DATABASE_URL": database_url(),
        "CRISIS_TASK_QUEUE": queue,
        "CRISIS_AGENT_DISPATCHER": "scripted",
        "CRISIS_AGENT_SCRIPT": json.dumps(script),
    }
    stderr_path = tmp_path / "worker.err"
    argv = [sys.executable, "manage.py", "runworker", "--only", queue, "--no-reconciler"]
    argv += ["--server-address", server_address(temporal_env.client)]
    with open(stderr_path, "wb") as stderr:
        worker = subprocess.Popen(
            argv, cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=stderr, text=True
        )
    try:
        crisis_id = f"crisis-json-{uuid.uuid4().hex[:8]}"
        workflow_id = workflow_id_for(crisis_id)
        missions = [
            MissionPhase(phase_id=f"phase-{i}", agent_id=f"agent-{i}", action="recon", target="t")
            for i in (1, 2)
        ]
        handle = await temporal_env.client.start_workflow(
            "CrisisResponseWorkflow",
            CrisisRequest(target_member="target-json", missions=missions, crisis_id=crisis_id),
            id=workflow_id,
            task_queue=queue,
            result_type=CrisisResult,
        )
        result = await handle.result()
        assert result.failed_phases == ["phase-2"]
    finally:
        worker.send_signal(signal.SIGTERM)
        stdout, _ = worker.communicate(timeout=60)
    assert worker.returncode == 0, stderr_path.read_text()
    assert stdout == ""

    lines = json_lines(stderr_path.read_text())
    assert {"timestamp", "level", "logger", "message"} <= set(lines[0])
    assert any(line["message"].startswith("Worker running") for line in lines)
    run_id = handle.result_run_id
    ids = {"workflow_id": workflow_id, "run_id": run_id, "crisis_id": crisis_id}

    # The activities' own lines (activity.logger) and the agents' (a plain module logger)
    # carry the workflow's ids, bound by the worker's interceptor.
    validating = next(line for line in lines if line["message"].startswith("Validating"))
    deployment = next(line for line in lines if line["message"].startswith("AGENT DEPLOYMENT"))
    for line in (validating, deployment):
        assert line.items() >= ids.items(), line
    assert validating["activity_type"] == "validate_crisis_request"
    assert deployment["activity_type"] == "perform_agent_mission" and deployment["attempt"] == 1
    # The workflow's lines (workflow.logger) carry them too.
    starting = next(line for line in lines if line["message"].startswith("Starting crisis"))
    assert starting["logger"] == "temporalio.workflow"
    # The details are fields, not a Python dict appended to the message.
    assert starting["message"] == "Starting crisis response workflow for target: target-json"
    assert starting.items() >= ids.items(), starting

    failures = [
        line
        for line in lines
        if line["level"] == "ERROR" and line.get("activity_type") == "perform_agent_mission"
    ]
    assert len(failures) == 1, failures
    failure = failures[0]
    assert failure.items() >= ids.items(), failure
    assert failure["message"] == (
        "Activity perform_agent_mission failed (attempt 1): ApplicationError: AgentFailed: "
        "no exfil route"
    )
    assert "Traceback" in failure["exc_info"] and "no exfil route" in failure["exc_info"]


@pytest.mark.parametrize(
    ("workflow_type", "workflow_id", "subject"),
    [
        ("CrisisResponseWorkflow", "crisis-workflow-crisis-a-17", {"crisis_id": "crisis-a-17"}),
        ("EpochWorkflow", "epoch-3f2a9c1d7b4e", {"epoch_id": "epoch-3f2a9c1d7b4e"}),
        ("SliceWorkflow", "epoch-3f2a-slice-s-1", {"epoch_id": "epoch-3f2a"}),
        ("ReviewPhaseWorkflow", "epoch-3f2a-review-p6-2", {"epoch_id": "epoch-3f2a"}),
        ("SleepyWorkflow", "sleepy-1", {}),
    ],
)
def test_log_fields_name_the_workflows_record(
    workflow_type: str, workflow_id: str, subject: dict[str, str]
) -> None:
    fields = logs.workflow_fields(workflow_type, workflow_id, "run-1")
    assert fields == {"workflow_id": workflow_id, "run_id": "run-1", **subject}
