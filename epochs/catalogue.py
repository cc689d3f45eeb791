"""The protocol's constraint vocabulary: spec types, handoff specs and the violation type.

Pure Python (no Django, no Temporal): the checker, the workflow's payloads, the API and the
admin reference page all read these. `CONSTRAINT_SPECS` (the 28 constraint texts) lives in
`epochs.constraint_specs`; it is data, kept apart so this module stays readable.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum

from epochs.protocol import PhaseId, RoleId


class ContentLevel(StrEnum):
    """How much a handoff document carries."""

    FullProvenance = "full-provenance"
    SummaryWithIds = "summary-with-ids"


class ExampleLang(StrEnum):
    """Language of a constraint's code example."""

    Bash = "bash"
    Go = "go"
    Python = "python"
    Pseudo = "pseudo"
    Xml = "xml"
    Json = "json"
    Markdown = "markdown"


class ExampleLabel(StrEnum):
    """What a code example shows: the right way, the wrong way, context or a template."""

    Correct = "correct"
    AntiPattern = "anti-pattern"
    Context = "context"
    Template = "template"


@dataclass(frozen=True)
class CodeExample:
    """A labelled code example attached to a constraint."""

    id: str
    lang: ExampleLang
    label: ExampleLabel
    code: str
    also_illustrates: str | None = None


@dataclass(frozen=True)
class ConstraintSpec:
    """One protocol constraint in Given / When / Then / Should-not form."""

    id: str
    given: str
    when: str
    then: str
    should_not: str
    command: str | None = None
    examples: tuple[CodeExample, ...] = ()


@dataclass(frozen=True)
class ConstraintContext:
    """The facts of one constraint, as injected into an agent's prompt."""

    id: str
    given: str
    when: str
    then: str
    should_not: str

    @staticmethod
    def from_spec(spec: ConstraintSpec) -> ConstraintContext:
        """Return the prompt fragment of `spec` (its command and examples left out)."""
        return ConstraintContext(spec.id, spec.given, spec.when, spec.then, spec.should_not)


@dataclass(frozen=True)
class HandoffSpec:
    """A handoff document required when the acting role changes."""

    id: str
    source_role: RoleId
    target_role: RoleId
    at_phase: PhaseId
    content_level: ContentLevel
    required_fields: tuple[str, ...]


@dataclass(frozen=True)
class ConstraintViolation:
    """One broken protocol constraint; `context` values are strings so they store as JSON."""

    constraint_id: str
    message: str
    context: dict[str, str] = field(default_factory=dict)


def violation(constraint_id: str, message: str, **context: str) -> ConstraintViolation:
    """Return a violation whose context is the keyword arguments."""
    return ConstraintViolation(constraint_id, message, context)


def _handoff(
    id: str,
    source: RoleId,
    target: RoleId,
    phase: PhaseId,
    level: ContentLevel,
    *required_fields: str,
) -> HandoffSpec:
    return HandoffSpec(id, source, target, phase, level, required_fields)


_SUMMARY = ContentLevel.SummaryWithIds

HANDOFF_SPECS: dict[str, HandoffSpec] = {
    spec.id: spec
    for spec in (
        _handoff(
            "h1",
            RoleId.Architect,
            RoleId.Supervisor,
            PhaseId.P7_Handoff,
            ContentLevel.FullProvenance,
            *("request", "urd", "proposal", "ratified-plan"),
            *("context", "key-decisions", "open-items", "acceptance-criteria"),
        ),
        _handoff(
            "h2",
            RoleId.Supervisor,
            RoleId.Worker,
            PhaseId.P9_Slice,
            _SUMMARY,
            *("request", "urd", "proposal", "ratified-plan", "impl-plan", "slice"),
            *("context", "key-decisions", "open-items", "acceptance-criteria"),
        ),
        _handoff(
            "h3",
            RoleId.Supervisor,
            RoleId.Reviewer,
            PhaseId.P10_CodeReview,
            _SUMMARY,
            *("request", "urd", "proposal", "ratified-plan", "impl-plan"),
            *("context", "key-decisions", "acceptance-criteria"),
        ),
        _handoff(
            "h4",
            RoleId.Worker,
            RoleId.Reviewer,
            PhaseId.P10_CodeReview,
            _SUMMARY,
            *("request", "urd", "impl-plan", "slice"),
            *("context", "key-decisions", "open-items"),
        ),
        _handoff(
            "h5",
            RoleId.Reviewer,
            RoleId.Supervisor,
            PhaseId.P10_CodeReview,
            _SUMMARY,
            *("request", "urd", "proposal"),
            *("context", "key-decisions", "open-items", "acceptance-criteria"),
        ),
        _handoff(
            "h6",
            RoleId.Supervisor,
            RoleId.Architect,
            PhaseId.P3_Propose,
            _SUMMARY,
            *("request", "urd", "followup-epic", "followup-ure", "followup-urd"),
            *("context", "key-decisions", "findings-summary", "acceptance-criteria"),
        ),
    )
}
