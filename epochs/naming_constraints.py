"""Naming checks: task titles and commit commands follow the protocol's conventions.

Mixed into `RuntimeConstraintChecker` (`check_naming` runs all four on each title). Every check
returns a list (empty = satisfied) and never raises.
"""

from __future__ import annotations

import re

from epochs.catalogue import ConstraintViolation, violation

_PROPOSAL_TITLE = re.compile(r"^PROPOSAL-\d+:")
_REVIEW_TITLE = re.compile(r"^.+-REVIEW-[ABC]-\d+")
FOLLOWUP_PREFIXES: tuple[str, ...] = (
    "FOLLOWUP:",
    "FOLLOWUP_URE:",
    "FOLLOWUP_URD:",
    "FOLLOWUP_PROPOSAL-",
    "FOLLOWUP_IMPL_PLAN:",
    "FOLLOWUP_SLICE-",
)


class NamingConstraintChecks:
    """Title and command conventions (`check_naming` runs all four on each title)."""

    def check_proposal_naming(self, title: str) -> list[ConstraintViolation]:
        """C-proposal-naming: a proposal is titled `PROPOSAL-<N>: …`."""
        if _PROPOSAL_TITLE.match(title):
            return []
        return [
            violation(
                "C-proposal-naming",
                f"Proposal title {title!r} does not match required pattern "
                "'PROPOSAL-{N}: {description}' where N is a positive integer. "
                "Old proposals must be marked aura:superseded, not deleted or reused.",
                title=title,
            )
        ]

    def check_review_naming(self, title: str) -> list[ConstraintViolation]:
        """C-review-naming: a review task is titled `<SCOPE>-REVIEW-<A|B|C>-<round>`."""
        if _REVIEW_TITLE.match(title):
            return []
        return [
            violation(
                "C-review-naming",
                f"Review task title {title!r} does not match required pattern "
                "'{SCOPE}-REVIEW-{axis}-{round}: {description}' "
                "where axis is A, B, or C (not numeric 1/2/3) and round starts at 1.",
                title=title,
            )
        ]

    def check_followup_lifecycle(self, followup_task_title: str) -> list[ConstraintViolation]:
        """C-followup-lifecycle: follow-up work carries a FOLLOWUP_* prefix."""
        if followup_task_title.startswith(FOLLOWUP_PREFIXES):
            return []
        return [
            violation(
                "C-followup-lifecycle",
                f"Follow-up task title {followup_task_title!r} does not use "
                "the required FOLLOWUP_* prefix. "
                "Use: FOLLOWUP_URE, FOLLOWUP_URD, FOLLOWUP_PROPOSAL-N, "
                "FOLLOWUP_IMPL_PLAN, or FOLLOWUP_SLICE-N.",
                title=followup_task_title,
            )
        ]

    def check_agent_commit(self, commit_command: str) -> list[ConstraintViolation]:
        """C-agent-commit: commits go through `git agent-commit`, never bare `git commit`."""
        if "git commit" not in commit_command or "git agent-commit" in commit_command:
            return []
        return [
            violation(
                "C-agent-commit",
                f"Commit command {commit_command!r} uses 'git commit' but must "
                "use 'git agent-commit -m ...' instead.",
                command=commit_command,
            )
        ]
