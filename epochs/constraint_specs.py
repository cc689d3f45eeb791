"""`CONSTRAINT_SPECS`: the 28 protocol constraints, their texts, commands and examples.

Pure data, in the protocol's canonical order. The texts are part of the contract (agents and
reviewers quote them), so they are kept word for word.
"""

from __future__ import annotations

from epochs.catalogue import CodeExample, ConstraintSpec, ExampleLabel, ExampleLang

_BASH = ExampleLang.Bash
_CORRECT = ExampleLabel.Correct
_ANTI = ExampleLabel.AntiPattern

_SPECS = (
    ConstraintSpec(
        id="C-audit-never-delete",
        given="any task or label",
        when="modifying",
        then="add labels and comments only",
        should_not="delete or close tasks prematurely, remove labels",
    ),
    ConstraintSpec(
        id="C-audit-dep-chain",
        given="any phase transition",
        when="creating new task",
        then="chain dependency: bd dep add parent --blocked-by child",
        should_not="skip dependency chaining or invert direction",
        command="bd dep add <parent> --blocked-by <child>",
        examples=(
            CodeExample(
                id="C-audit-dep-chain-full",
                lang=_BASH,
                label=_CORRECT,
                code=(
                    "# Full dependency chain: work flows bottom-up, closure flows top-down\n"
                    "bd dep add request-id --blocked-by ure-id\n"
                    "bd dep add ure-id --blocked-by proposal-id\n"
                    "bd dep add proposal-id --blocked-by impl-plan-id\n"
                    "bd dep add impl-plan-id --blocked-by slice-1-id\n"
                    "bd dep add slice-1-id --blocked-by leaf-task-a-id"
                ),
            ),
        ),
    ),
    ConstraintSpec(
        id="C-review-consensus",
        given="review cycle (p4 or p10)",
        when="evaluating",
        then="all 3 reviewers must ACCEPT before proceeding",
        should_not="proceed with any REVISE vote outstanding",
    ),
    ConstraintSpec(
        id="C-review-binary",
        given="a reviewer",
        when="voting",
        then="use ACCEPT or REVISE only",
        should_not="use APPROVE, APPROVE_WITH_COMMENTS, REQUEST_CHANGES, or REJECT",
    ),
    ConstraintSpec(
        id="C-severity-eager",
        given="code review round (p10 only)",
        when="starting review",
        then="ALWAYS create 3 severity group tasks (BLOCKER, IMPORTANT, MINOR) immediately",
        should_not="lazily create severity groups only when findings exist",
        examples=(
            CodeExample(
                id="C-severity-eager-create",
                lang=_BASH,
                label=_CORRECT,
                code=(
                    "# Create all 3 severity groups immediately (even if empty)\n"
                    'bd create --title "SLICE-1-REVIEW-A-1 BLOCKER" \\\n'
                    '  --labels "aura:severity:blocker,aura:p10-impl:s10-review"\n'
                    'bd create --title "SLICE-1-REVIEW-A-1 IMPORTANT" \\\n'
                    '  --labels "aura:severity:important,aura:p10-impl:s10-review"\n'
                    'bd create --title "SLICE-1-REVIEW-A-1 MINOR" \\\n'
                    '  --labels "aura:severity:minor,aura:p10-impl:s10-review"\n'
                    "\n"
                    "# Close empty groups immediately\n"
                    "bd close <empty-important-id>\n"
                    "bd close <empty-minor-id>"
                ),
            ),
            CodeExample(
                id="C-severity-eager-anti",
                lang=_BASH,
                label=_ANTI,
                code=(
                    "# WRONG: only creating groups when findings exist\n"
                    "# This skips empty groups and breaks the audit trail\n"
                    "if blocker_findings:\n"
                    '    bd create --title "BLOCKER" ...'
                ),
            ),
        ),
    ),
    ConstraintSpec(
        id="C-severity-not-plan",
        given="plan review (p4)",
        when="reviewing",
        then="use binary ACCEPT/REVISE only",
        should_not="create severity tree for plan reviews",
    ),
    ConstraintSpec(
        id="C-blocker-dual-parent",
        given="a BLOCKER finding in code review",
        when="recording",
        then="add as child of BOTH the severity group AND the slice it blocks",
        should_not="add to severity group only",
    ),
    ConstraintSpec(
        id="C-followup-timing",
        given="code review completion with IMPORTANT or MINOR findings",
        when="creating follow-up epic",
        then="create immediately upon review completion",
        should_not="gate follow-up epic on BLOCKER resolution",
    ),
    ConstraintSpec(
        id="C-vertical-slices",
        given="implementation decomposition",
        when="assigning work",
        then="each production code path owned by exactly ONE worker (full vertical)",
        should_not="assign horizontal layers or same path to multiple workers",
    ),
    ConstraintSpec(
        id="C-supervisor-no-impl",
        given="supervisor role",
        when="implementation phase",
        then="spawn workers for all code changes",
        should_not="implement code directly",
    ),
    ConstraintSpec(
        id="C-supervisor-explore-ephemeral",
        given="supervisor needs codebase exploration",
        when="starting Phase 8 (IMPL_PLAN)",
        then=(
            "spawn ephemeral Explore subagents via Task tool for scoped codebase queries; "
            "each subagent is short-lived and returns findings; no standing team overhead"
        ),
        should_not=(
            "explore the codebase directly as supervisor; maintain a standing explore team"
        ),
    ),
    ConstraintSpec(
        id="C-clean-review-exit",
        given="per-slice code review",
        when="evaluating review results",
        then=(
            "clean review exit requires 0 BLOCKERs AND 0 IMPORTANTs; "
            "MINORs are acceptable and tracked in FOLLOWUP epic; "
            "each slice has its own independent review cycle counter (max 3 cycles); "
            "after 3 failed cycles, escalate to architect for re-planning"
        ),
        should_not=(
            "accept review with open BLOCKERs or IMPORTANTs; "
            "batch review across multiple slices; "
            "exceed 3 cycles without escalating; "
            "escalate to user instead of architect"
        ),
    ),
    ConstraintSpec(
        id="C-autonomous-progression",
        given="supervisor orchestrating phases",
        when="deciding whether to proceed",
        then=(
            "4 user-gated phases only: (1) research depth decision, (2) URE survey, "
            "(3) Plan UAT, (4) Impl UAT; all other phase transitions are auto-ratified "
            "by the supervisor; after Plan UAT ACCEPT, proceed directly to ratification "
            "without user gate"
        ),
        should_not=(
            "add additional user gates beyond the 4 defined; "
            "require user approval for ratification after UAT ACCEPT"
        ),
    ),
    ConstraintSpec(
        id="C-integration-points",
        given="multiple vertical slices share types, interfaces, or data flows",
        when="decomposing IMPL_PLAN in Phase 8",
        then=(
            "identify horizontal Layer Integration Points and document them in IMPL_PLAN; "
            "each integration point specifies: owning slice, consuming slices, shared "
            "contract, merge timing; "
            "include integration points in slice descriptions so workers know what to "
            "export and import"
        ),
        should_not=(
            "leave cross-slice dependencies implicit; "
            "assume workers will discover contracts on their own"
        ),
    ),
    ConstraintSpec(
        id="C-slice-review-before-close",
        given="workers complete their implementation slices",
        when="slice implementation is done",
        then=(
            "workers notify supervisor with bd comments add (not bd close); "
            "slices must be reviewed at least once by reviewers before closure; "
            "only the supervisor closes slices, after review passes"
        ),
        should_not=(
            "close slices immediately upon worker completion; "
            "allow workers to close their own slices"
        ),
    ),
    ConstraintSpec(
        id="C-max-review-cycles",
        given="per-slice review-fix cycles are ongoing",
        when="counting review-fix iterations per slice",
        then=(
            "limit to a maximum of 3 cycles per slice; "
            "clean review exit = 0 BLOCKERs + 0 IMPORTANTs; "
            "after cycle 3, escalate to architect for re-planning if BLOCKERs or "
            "IMPORTANTs remain; "
            "remaining IMPORTANT findings move to FOLLOWUP epic"
        ),
        should_not=(
            "exceed 3 review cycles per slice; "
            "escalate to user instead of architect; "
            "batch review across multiple slices"
        ),
    ),
    ConstraintSpec(
        id="C-slice-leaf-tasks",
        given="vertical slice created",
        when="decomposing slice into implementation units",
        then=(
            "create Beads leaf tasks (L1: types, L2: tests, L3: impl) within each slice "
            "with bd dep add slice-id --blocked-by leaf-task-id"
        ),
        should_not=(
            "create slices without leaf tasks — "
            "a slice with no children is undecomposed and cannot be tracked"
        ),
        command="bd dep add <slice-id> --blocked-by <leaf-task-id>",
    ),
    ConstraintSpec(
        id="C-handoff-skill-invocation",
        given="an agent is launched for a new phase (especially p7 to p8 handoff)",
        when="composing the launch prompt",
        then=(
            "prompt MUST start with Skill(/aura:{role}) invocation directive "
            "so the agent loads its role instructions"
        ),
        should_not=(
            "launch agents without skill invocation — "
            "they skip role-critical procedures like ephemeral exploration and leaf task "
            "creation"
        ),
    ),
    ConstraintSpec(
        id="C-dep-direction",
        given="adding a Beads dependency",
        when="determining direction",
        then="parent blocked-by child: bd dep add stays-open --blocked-by must-finish-first",
        should_not="invert (child blocked-by parent)",
        command="bd dep add <stays-open> --blocked-by <must-finish-first>",
        examples=(
            CodeExample(
                id="C-dep-direction-correct",
                lang=_BASH,
                label=_CORRECT,
                code="bd dep add request-id --blocked-by ure-id",
                also_illustrates="C-audit-dep-chain",
            ),
            CodeExample(
                id="C-dep-direction-anti",
                lang=_BASH,
                label=_ANTI,
                code="bd dep add ure-id --blocked-by request-id",
            ),
        ),
    ),
    ConstraintSpec(
        id="C-frontmatter-refs",
        given="cross-task references (URD, request, etc.)",
        when="linking tasks",
        then="use description frontmatter references: block",
        should_not="use bd dep relate (buggy) or blocking dependencies for reference docs",
    ),
    ConstraintSpec(
        id="C-agent-commit",
        given="code is ready to commit",
        when="committing",
        then="use git agent-commit -m ...",
        should_not="use git commit -m ...",
        command="git agent-commit -m ...",
        examples=(
            CodeExample(
                id="C-agent-commit-correct",
                lang=_BASH,
                label=_CORRECT,
                code='git agent-commit -m "feat: add login"',
            ),
            CodeExample(
                id="C-agent-commit-anti",
                lang=_BASH,
                label=_ANTI,
                code='git commit -m "feat: add login"',
            ),
        ),
    ),
    ConstraintSpec(
        id="C-proposal-naming",
        given="a new or revised proposal",
        when="creating task",
        then="title PROPOSAL-{N} where N increments; mark old as aura:superseded",
        should_not="reuse N or delete old proposals",
    ),
    ConstraintSpec(
        id="C-review-naming",
        given="a review task",
        when="creating",
        then="title {SCOPE}-REVIEW-{axis}-{round} where axis=A|B|C, round starts at 1",
        should_not="use numeric reviewer IDs (1/2/3) instead of axis letters",
    ),
    ConstraintSpec(
        id="C-ure-verbatim",
        given=(
            "user interview (Request, URE, or UAT), URD update, or mid-implementation "
            "design decision"
        ),
        when="recording in Beads",
        then=(
            "capture full question text, ALL option descriptions, AND user's verbatim "
            "response; the URD is the living document of ALL user requests, URE, UAT, and "
            "mid-implementation design decisions and feedback — update it via bd comments "
            "add whenever user intent is captured"
        ),
        should_not=(
            "summarize options as (1)/(2)/(3) without option text, or paraphrase user responses"
        ),
        examples=(
            CodeExample(
                id="C-ure-verbatim-correct",
                lang=_BASH,
                label=_CORRECT,
                code=(
                    "# Full question, all options with descriptions, verbatim response\n"
                    'bd create --title "UAT: Plan acceptance for feature-X" \\\n'
                    '  --description "## Component: Verbose fields\n'
                    "**Question:** Which verbose fields are useful?\n"
                    "**Options:**\n"
                    "- backupDir (full path): Shows where the backup landed\n"
                    "- session ID: Enables log correlation across events\n"
                    "- repo path + hash: Confirms which git repo was detected\n"
                    "**User response:** backupDir (full path), session ID\n"
                    '**Decision:** ACCEPT"'
                ),
            ),
            CodeExample(
                id="C-ure-verbatim-anti",
                lang=_BASH,
                label=_ANTI,
                code=(
                    "# WRONG: options summarized as numbers, response paraphrased\n"
                    'bd create --title "UAT: Plan acceptance" \\\n'
                    '  --description "Asked about verbose fields (1-4). '
                    'User picked 1 and 2. Accepted."'
                ),
            ),
        ),
    ),
    ConstraintSpec(
        id="C-followup-lifecycle",
        given="follow-up epic created",
        when="starting follow-up work",
        then=(
            "run same protocol phases with FOLLOWUP_* prefix: "
            "FOLLOWUP_URE → FOLLOWUP_URD → FOLLOWUP_PROPOSAL → FOLLOWUP_IMPL_PLAN → "
            "FOLLOWUP_SLICE"
        ),
        should_not="skip the follow-up lifecycle or treat the follow-up epic as a flat task list",
    ),
    ConstraintSpec(
        id="C-followup-leaf-adoption",
        given="supervisor creates FOLLOWUP_SLICE-N",
        when="assigning original IMPORTANT/MINOR leaf tasks to follow-up slices",
        then=(
            "add leaf task as child of follow-up slice "
            "(dual-parent: leaf blocks both severity group AND follow-up slice)"
        ),
        should_not="remove the leaf task from its original severity group parent",
    ),
    ConstraintSpec(
        id="C-worker-gates",
        given="worker finishes implementation",
        when="signaling completion",
        then=(
            "run quality gates (typecheck + tests) AND verify production code path "
            "(no TODOs, real deps)"
        ),
        should_not="close with only 'tests pass' as completion gate",
    ),
    ConstraintSpec(
        id="C-actionable-errors",
        given="an error, exception, or user-facing message",
        when="creating or raising",
        then=(
            "make it actionable: describe (1) what went wrong, (2) why it happened, "
            "(3) where it failed (file location, module, or function), "
            "(4) when it failed (step, operation, or timestamp), "
            "(5) what it means for the caller, and (6) how to fix it"
        ),
        should_not=(
            "raise generic or opaque error messages (e.g. 'invalid input', 'operation failed') "
            "that don't guide the user toward resolution"
        ),
    ),
)

CONSTRAINT_SPECS: dict[str, ConstraintSpec] = {spec.id: spec for spec in _SPECS}
