"""`manage.py aura_msg` and `register_search_attributes` against the real dev server."""

import asyncio
import json
import subprocess
import sys
import uuid
from io import StringIO

import pytest
from asgiref.sync import sync_to_async
from django.core.management import call_command

from epochs.inputs import SliceSubmission
from epochs.management.commands.aura_msg import AuraMsgError
from epochs.models import Epoch
from epochs.search_attributes import DEFINITIONS
from epochs.workflows import EpochWorkflow


def run(*args: str) -> str:
    out = StringIO()
    call_command("aura_msg", *args, stdout=out)
    return out.getvalue()


def test_no_group_prints_help() -> None:
    assert "{query,epoch,signal,phase,session,constraints}" in run()
    assert "{vote,complete}" in run("signal")


@pytest.mark.parametrize(
    ("args", "first_line", "fix"),
    [
        (
            ["signal", "vote", "--epoch-id", "e", "--axis", "A", "--vote", "ACCEPT"],
            "validation error: invalid axis 'A'",
            "  fix: use --axis correctness",
        ),
        (
            ["signal", "vote", "--epoch-id", "e", "--axis", "elegance", "--vote", "maybe"],
            "validation error: invalid vote 'maybe'",
            "  fix: use ACCEPT or REVISE",
        ),
        (
            ["phase", "advance", "--epoch-id", "e", "--to-phase", "p13"],
            "validation error: invalid phase 'p13'",
            "  fix: use a valid phase ID (e.g., p1, p2, ... p12)",
        ),
    ],
)
def test_validation_errors_exit_1(args, first_line, fix) -> None:
    with pytest.raises(AuraMsgError) as caught:
        run(*args)
    lines = caught.value.report.splitlines()
    assert (lines[0], lines[3], caught.value.returncode) == (first_line, fix, 1)
    assert lines[1].startswith("  why: ") and lines[2] == "  impact: nothing was sent"


def test_connection_errors_exit_2() -> None:
    with pytest.raises(AuraMsgError) as caught:
        run("query", "state", "--epoch-id", "e", "--server-address", "127.0.0.1:1")
    assert caught.value.report.splitlines()[0] == (
        "connection error: failed to connect to Temporal at 127.0.0.1:1"
    )
    assert caught.value.returncode == 2


def test_shell_gets_the_report_and_the_exit_code() -> None:
    result = subprocess.run(
        [
            sys.executable,
            "manage.py",
            "aura_msg",
            "signal",
            "vote",
            "--epoch-id",
            "e",
            "--axis",
            "B",
            "--vote",
            "ACCEPT",
        ],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 1
    assert result.stderr.splitlines()[0] == "validation error: invalid axis 'B'"
    assert "CommandError" not in result.stderr


@pytest.mark.django_db(transaction=True)
async def test_the_origin_commands_end_to_end(
    temporal_settings, settings, task_queue, epoch_worker
) -> None:
    settings.TEMPORAL_TASK_QUEUE = task_queue
    arun = sync_to_async(run)
    epoch_id = f"cli-{uuid.uuid4().hex[:8]}"
    async with epoch_worker(temporal_settings, task_queue):
        out = await arun("epoch", "start", "--epoch-id", epoch_id, "--description", "cli epoch")
        epoch = await Epoch.objects.aget(epoch_id=epoch_id)
        assert out.strip() == f"Started epoch: workflow_id={epoch_id}, run_id={epoch.run_id}"
        with pytest.raises(AuraMsgError) as caught:
            await arun("epoch", "start", "--epoch-id", epoch_id)
        assert caught.value.returncode == 3

        for phase in ["elicit", "3", "p4-review"]:
            out = await arun(
                "phase",
                "advance",
                "--epoch-id",
                epoch_id,
                "--to-phase",
                phase,
                "--triggered-by",
                "architect-1",
            )
            assert out.strip() == "Signal delivered successfully"
        out = await arun(
            "signal",
            "vote",
            "--epoch-id",
            epoch_id,
            "--axis",
            "correctness",
            "--vote",
            "revise",
            "--reviewer-id",
            "r-1",
            "--format",
            "json",
        )
        assert json.loads(out) == {"success": True}
        await arun("phase", "advance", "--epoch-id", epoch_id, "--to-phase", "p5")
        await arun(
            "session",
            "register",
            "--epoch-id",
            epoch_id,
            "--session-id",
            "s-9",
            "--role",
            "reviewer",
            "--model",
            "opus",
        )
        handle = temporal_settings.get_workflow_handle(epoch_id)
        for _ in range(100):
            state = await handle.query(EpochWorkflow.full_state)
            if len(state.transition_history) == 4 and state.active_session_count == 1:
                break
            await asyncio.sleep(0.05)

        text = await arun("query", "state", "--epoch-id", epoch_id)
        lines = text.splitlines()
        assert lines[:4] == ["Phase: p4", "Role:  epoch", "Votes:", "  correctness: REVISE"]
        assert lines[4].startswith("Last Error: Consensus required for")
        assert lines[5:] == [
            "Available Transitions:",
            "  -> p3 (any reviewer votes REVISE)",
            "Transitions: 4",
            "Active Sessions: 1",
        ]
        data = json.loads(await arun("query", "state", "--epoch-id", epoch_id, "--format", "json"))
        assert [h["success"] for h in data["transition_history"]] == [True, True, True, False]
        assert data["transition_history"][0]["triggered_by"] == "architect-1"
        assert data["votes"] == {"correctness": "REVISE"}

        # `signal complete` reaches the slice child by its real id.
        await arun("phase", "advance", "--epoch-id", epoch_id, "--to-phase", "p3")
        await arun("phase", "advance", "--epoch-id", epoch_id, "--to-phase", "p4")
        for axis in ["correctness", "test_quality", "elegance"]:
            await arun(
                "signal", "vote", "--epoch-id", epoch_id, "--axis", axis, "--vote", "ACCEPT"
            )
        for phase in ["p5", "p6", "p7", "p8"]:
            await arun("phase", "advance", "--epoch-id", epoch_id, "--to-phase", phase)
        await handle.signal(
            EpochWorkflow.submit_slice, SliceSubmission("a", await_completion=True)
        )
        await arun("phase", "advance", "--epoch-id", epoch_id, "--to-phase", "p9")
        for _ in range(200):
            snapshot = await handle.query(EpochWorkflow.snapshot)
            if snapshot.slices and snapshot.slices[0].status == "running":
                break
            await asyncio.sleep(0.05)
        out = await arun(
            "signal", "complete", "--epoch-id", epoch_id, "--slice-id", "a", "--output", "done"
        )
        assert out.strip() == "Signal delivered successfully"
        result = await temporal_settings.get_workflow_handle(f"{epoch_id}-slice-a").result()
        assert result["success"] is True and result["output"] == "done"

        with pytest.raises(AuraMsgError) as caught:
            await arun("signal", "complete", "--epoch-id", "nope", "--slice-id", "x")
        assert (
            caught.value.report.splitlines()[0]
            == "workflow error: workflow 'nope-slice-x' not found"
        )
        assert caught.value.returncode == 3
        await handle.terminate()


async def test_register_search_attributes(temporal_env, monkeypatch) -> None:
    address = temporal_env.client.service_client.config.target_host
    name = f"AuraTest{uuid.uuid4().hex[:8]}"
    monkeypatch.setitem(DEFINITIONS, name, "Keyword")
    command = sync_to_async(call_command)

    out = StringIO()
    await command(
        "register_search_attributes", "--server-address", address, "--dry-run", stdout=out
    )
    assert f"  {name}: would add (Keyword)" in out.getvalue()
    out = StringIO()
    await command("register_search_attributes", "--server-address", address, stdout=out)
    assert out.getvalue().splitlines()[-1] == (
        f"1 search attribute(s) added, 6 already present on namespace 'default' at {address}."
    )
    out = StringIO()
    await command("register_search_attributes", "--server-address", address, stdout=out)
    assert out.getvalue().splitlines()[-1].startswith("0 search attribute(s) added, 7 already")


# --- constraints (offline) -------------------------------------------------------------------


def test_constraints_list_prints_the_catalogue() -> None:
    lines = run("constraints", "list").splitlines()
    assert lines[:5] == [
        "C-audit-never-delete",
        "  given: any task or label",
        "  when: modifying",
        "  then: add labels and comments only",
        "  should not: delete or close tasks prematurely, remove labels",
    ]
    assert "  command: git agent-commit -m ..." in lines
    assert lines[-1] == "28 constraints, 6 handoffs."
    document = json.loads(run("constraints", "list", "--format", "json"))
    assert len(document["constraints"]) == 28 and document["handoffs"][0]["id"] == "h1"


def test_constraints_check_reports_violations_in_text_and_json() -> None:
    text = run(
        "constraints",
        "check",
        "--title",
        "PROPOSAL-1: plan",
        "--production-code-path",
        "api.py",
        "--owner-ids",
        "--has-todos",
        "yes",
        "--tests-pass",
        "true",
        "--typecheck-pass",
        "false",
    )
    assert text.splitlines() == [
        "[C-review-naming] Review task title 'PROPOSAL-1: plan' does not match required "
        "pattern '{SCOPE}-REVIEW-{axis}-{round}: {description}' where axis is A, B, or C "
        "(not numeric 1/2/3) and round starts at 1.",
        "[C-followup-lifecycle] Follow-up task title 'PROPOSAL-1: plan' does not use the "
        "required FOLLOWUP_* prefix. Use: FOLLOWUP_URE, FOLLOWUP_URD, FOLLOWUP_PROPOSAL-N, "
        "FOLLOWUP_IMPL_PLAN, or FOLLOWUP_SLICE-N.",
        "[C-worker-gates] Worker completion gate failed: type checking is not passing. "
        "All type checks must pass before closing the slice.",
        "[C-worker-gates] Worker completion gate failed: production code contains TODO "
        "placeholders. All TODOs must be resolved before closing the slice. "
        "No TODO placeholders in CLI/API actions.",
        "[C-vertical-slices] Production code path 'api.py' has no owner. "
        "Each production code path must be owned by exactly one worker.",
        "5 violation(s).",
    ]
    body = json.loads(run("constraints", "check", "--review-cycle-count", "3", "--format", "json"))
    assert body == {"violations": [], "count": 0}


@pytest.mark.parametrize(
    ("args", "first_line"),
    [
        ([], "validation error: nothing to check"),
        (["--tests-pass", "maybe"], "validation error: invalid --tests-pass 'maybe'"),
        (["--review-cycle-count", "x"], "validation error: invalid --review-cycle-count 'x'"),
    ],
)
def test_constraints_check_refuses_bad_arguments_with_exit_1(args, first_line) -> None:
    with pytest.raises(AuraMsgError) as caught:
        run("constraints", "check", *args)
    lines = caught.value.report.splitlines()
    assert (lines[0], lines[2], caught.value.returncode) == (
        first_line,
        "  impact: nothing was checked",
        1,
    )
