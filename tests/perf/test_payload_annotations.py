"""The epoch payloads decode without evaluating string annotations (issue 14).

Temporal's payload converter calls `typing.get_type_hints` on every dataclass it decodes; with
`from __future__ import annotations` each call evals every field's type again, which tripled
the decode of an epoch's snapshot (one per move, in the web process and the worker).
"""

import dataclasses

import pytest

from epochs import inputs, state_machine

PAYLOADS = [
    obj
    for module in (inputs, state_machine)
    for obj in vars(module).values()
    if dataclasses.is_dataclass(obj) and obj.__module__ == module.__name__
]


def test_the_payloads_are_found() -> None:
    assert {inputs.EpochSnapshot, inputs.RecordVoteInput, state_machine.EpochState} <= set(
        PAYLOADS
    )


@pytest.mark.parametrize("payload", PAYLOADS, ids=lambda cls: cls.__name__)
def test_field_types_are_objects_not_strings(payload: type) -> None:
    # EpochInput.carry names a class defined after it: decoded once per run, not per move.
    quoted = {
        name
        for name, hint in payload.__annotations__.items()
        if isinstance(hint, str) and (payload, name) != (inputs.EpochInput, "carry")
    }
    assert not quoted
