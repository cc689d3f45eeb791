import json

import pytest

from epochs.protocol import (
    PHASE_DOMAIN,
    PHASE_SPECS,
    Domain,
    EventType,
    PhaseId,
    ReviewAxis,
    RoleId,
    SerializablePhaseSpec,
    SerializableTransition,
    SeverityLevel,
    SliceMode,
    VoteType,
    parse_phase_id,
    phase_name,
)

E, A, R, S, W = RoleId.Epoch, RoleId.Architect, RoleId.Reviewer, RoleId.Supervisor, RoleId.Worker


@pytest.mark.parametrize(
    ("enum", "values"),
    [
        (
            PhaseId,
            [
                "p1",
                "p2",
                "p3",
                "p4",
                "p5",
                "p6",
                "p7",
                "p8",
                "p9",
                "p10",
                "p11",
                "p12",
                "complete",
            ],
        ),
        (Domain, ["user", "plan", "impl"]),
        (RoleId, ["epoch", "architect", "reviewer", "supervisor", "worker"]),
        (VoteType, ["ACCEPT", "REVISE"]),
        (SeverityLevel, ["BLOCKER", "IMPORTANT", "MINOR"]),
        (ReviewAxis, ["correctness", "test_quality", "elegance"]),
        (
            EventType,
            [
                "phase_transition",
                "phase_advance",
                "vote_recorded",
                "blocker_recorded",
                "blocker_resolved",
                "constraint_check",
            ],
        ),
        (SliceMode, ["tmux", "subprocess", "mock"]),
    ],
)
def test_enum_values_in_declaration_order(enum, values):
    assert [member.value for member in enum] == values
    assert all(member == value for member, value in zip(enum, values, strict=True))


def test_enums_serialise_as_plain_strings():
    payload = {"axis": ReviewAxis.TestQuality, "vote": VoteType.Accept, "to": PhaseId.P8_ImplPlan}
    assert json.dumps(payload) == '{"axis": "test_quality", "vote": "ACCEPT", "to": "p8"}'


@pytest.mark.parametrize(
    ("phase", "number", "domain", "name", "owners"),
    [
        (PhaseId.P1_Request, 1, Domain.User, "Request", {E, A}),
        (PhaseId.P2_Elicit, 2, Domain.User, "Elicit", {E, A}),
        (PhaseId.P3_Propose, 3, Domain.Plan, "Propose", {E, A}),
        (PhaseId.P4_Review, 4, Domain.Plan, "Review", {E, A, R}),
        (PhaseId.P5_Uat, 5, Domain.User, "Plan UAT", {E, A}),
        (PhaseId.P6_Ratify, 6, Domain.Plan, "Ratify", {E, A}),
        (PhaseId.P7_Handoff, 7, Domain.Plan, "Handoff", {E, A, S}),
        (PhaseId.P8_ImplPlan, 8, Domain.Impl, "Impl Plan", {E, S}),
        (PhaseId.P9_Slice, 9, Domain.Impl, "Worker Slices", {E, S, W}),
        (PhaseId.P10_CodeReview, 10, Domain.Impl, "Code Review", {E, S, R}),
        (PhaseId.P11_ImplUat, 11, Domain.User, "Impl UAT", {E, S}),
        (PhaseId.P12_Landing, 12, Domain.Impl, "Landing", {E, S}),
    ],
)
def test_phase_spec(phase, number, domain, name, owners):
    spec = PHASE_SPECS[phase]
    assert (spec.id, spec.number, spec.domain, spec.name) == (phase, number, domain, name)
    assert spec.owner_roles == frozenset(owners)
    assert PHASE_DOMAIN[phase] == domain


def test_complete_has_no_spec_or_domain():
    assert list(PHASE_SPECS) == list(PhaseId)[:-1]
    assert PhaseId.Complete not in PHASE_DOMAIN


TRANSITION_TABLE = [
    ("p1", "p2", "classification confirmed, research and explore complete", None),
    ("p2", "p3", "URD created with structured requirements", None),
    ("p3", "p4", "proposal created", None),
    ("p4", "p5", "all 3 reviewers vote ACCEPT", None),
    (
        "p4",
        "p3",
        "any reviewer votes REVISE",
        "create PROPOSAL-{N+1}, mark current aura:superseded",
    ),
    ("p5", "p6", "user accepts plan", None),
    ("p5", "p3", "user requests changes", "create PROPOSAL-{N+1}"),
    ("p6", "p7", "proposal ratified, IMPL_PLAN placeholder created", None),
    ("p7", "p8", "handoff document stored at .git/.aura/handoff/", None),
    ("p8", "p9", "all slices created with leaf tasks, assigned, and dependency-chained", None),
    ("p9", "p10", "all slices complete, quality gates pass", None),
    ("p10", "p11", "all 3 reviewers ACCEPT, all BLOCKERs resolved", None),
    ("p10", "p9", "any reviewer votes REVISE", "fix BLOCKERs in affected slices, then re-review"),
    ("p11", "p12", "user accepts implementation", None),
    ("p11", "p9", "user requests changes", "create fix tasks in affected slices"),
    ("p12", "complete", "git push succeeds, all tasks closed or dependency-resolved", None),
]


def test_transition_table_is_exact_and_forward_first():
    rows = [
        (spec.id.value, t.to_phase.value, t.condition, t.action)
        for spec in PHASE_SPECS.values()
        for t in spec.transitions
    ]
    assert rows == TRANSITION_TABLE


def test_serializable_phase_spec_keeps_roles_and_transition_order():
    spec = PHASE_SPECS[PhaseId.P10_CodeReview]
    payload = SerializablePhaseSpec.from_spec(spec)
    assert (payload.id, payload.number, payload.domain, payload.name) == (
        spec.id,
        spec.number,
        spec.domain,
        spec.name,
    )
    assert set(payload.owner_roles) == spec.owner_roles
    assert payload.transitions == [
        SerializableTransition(t.to_phase, t.condition, t.action) for t in spec.transitions
    ]


@pytest.mark.parametrize(
    ("phase", "name"),
    [
        (PhaseId.P1_Request, "request"),
        (PhaseId.P5_Uat, "uat"),
        (PhaseId.P8_ImplPlan, "impl_plan"),
        (PhaseId.P10_CodeReview, "code_review"),
        (PhaseId.P11_ImplUat, "impl_uat"),
    ],
)
def test_phase_name(phase, name):
    assert phase_name(phase) == name


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("p7", PhaseId.P7_Handoff),
        ("7", PhaseId.P7_Handoff),
        (" P7 ", PhaseId.P7_Handoff),
        ("p1-request", PhaseId.P1_Request),
        ("P1_REQUEST", PhaseId.P1_Request),
        ("request", PhaseId.P1_Request),
        ("p8-impl-plan", PhaseId.P8_ImplPlan),
        ("p8-impl_plan", PhaseId.P8_ImplPlan),
        ("p8_impl_plan", PhaseId.P8_ImplPlan),
        ("impl_plan", PhaseId.P8_ImplPlan),
        ("impl-plan", PhaseId.P8_ImplPlan),
        ("code_review", PhaseId.P10_CodeReview),
        ("p10-code-review", PhaseId.P10_CodeReview),
        ("Impl-UAT", PhaseId.P11_ImplUat),
        ("12", PhaseId.P12_Landing),
        ("landing", PhaseId.P12_Landing),
        ("complete", PhaseId.Complete),
        ("COMPLETE", PhaseId.Complete),
        (PhaseId.P4_Review, PhaseId.P4_Review),
    ],
)
def test_parse_phase_id(raw, expected):
    assert parse_phase_id(raw) is expected


@pytest.mark.parametrize("raw", ["", "p0", "p13", "0", "13", "p8-landing", "impl plan", "done"])
def test_parse_phase_id_rejects_with_listing(raw):
    with pytest.raises(ValueError) as excinfo:
        parse_phase_id(raw)
    message = str(excinfo.value)
    assert message.startswith(f"'{raw}' is not a valid phase. Valid phases:\n")
    lines = message.splitlines()[1:]
    assert len(lines) == 13
    assert lines[0] == "   1  p1   p1-request           (request)"
    assert lines[7] == "   8  p8   p8-impl_plan         (impl_plan)"
    assert lines[9] == "  10  p10  p10-code_review      (code_review)"
    assert lines[-1] == "       complete"
