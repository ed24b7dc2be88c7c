"""What the program editor opens with (docs/program-editor.md): the form kept with the version it wrote, as JSON
(round trip exact for every part of the form), chosen draft first, then the program in force, else the example
with the reason; a stored form that no longer reads is never shown."""

from __future__ import annotations

import json

import pytest

from coalition.application.program_editor import (
    BRIEF_BONUS,
    BRIEF_FORM,
    BonusForm,
    BonusTier,
    EditorStart,
    ProgramForm,
    WrittenVersion,
    editor_start,
    form_from_json,
    form_json,
)
from tests.application.test_program_editor import FULL

OWN = ProgramForm(bonus=BonusForm((BonusTier(0, 400, 10, 2000), BonusTier(2_000_000, 600, 0, 3500)), 100_000))


def test_the_brief_form_is_kept_as_json_in_minor_units_and_basis_points():
    assert json.loads(form_json(BRIEF_FORM))["bonus"] == {
        "tiers": [
            {"from_spend_minor": 0, "accrual_bp": 300, "fixed_points": 0, "redeem_cap_bp": 1500},
            {"from_spend_minor": 1_000_000, "accrual_bp": 500, "fixed_points": 0, "redeem_cap_bp": 3000},
            {"from_spend_minor": 5_000_001, "accrual_bp": 700, "fixed_points": 0, "redeem_cap_bp": 5000},
        ],
        "min_check_minor": 150_000,
    }
    assert json.loads(form_json(BRIEF_FORM))["discounts"]["next_month"] is None


@pytest.mark.parametrize("form", [BRIEF_FORM, FULL, OWN, ProgramForm(None), ProgramForm(BRIEF_BONUS, FULL.discounts)])
def test_every_part_of_the_form_round_trips(form: ProgramForm):
    assert form_from_json(form_json(form)) == form


@pytest.mark.parametrize("text", ["", "[]", '{"bonus": null}', '{"bonus": {"tiers": [{"x": 1}]}}', "{"])
def test_text_that_is_not_a_form_is_refused(text: str):
    with pytest.raises(ValueError, match="not a program editor form"):
        form_from_json(text)


def _v(version: int, form: ProgramForm | None) -> WrittenVersion:
    return WrittenVersion(version, None if form is None else form_json(form))


@pytest.mark.parametrize(
    ("draft", "in_force", "expected"),
    [
        (_v(3, OWN), _v(2, FULL), EditorStart(OWN, "draft", 3)),  # the draft written by the form first
        (None, _v(2, OWN), EditorStart(OWN, "in_force", 2)),  # else the program in force, if the form wrote it
        (_v(3, None), _v(2, OWN), EditorStart(OWN, "in_force", 2, yaml_draft=3)),  # a YAML draft is said
        (_v(3, None), None, EditorStart(BRIEF_FORM, "example", None, yaml_draft=3)),
        (None, _v(2, None), EditorStart(BRIEF_FORM, "example", None, yaml_in_force=2)),  # in force as YAML
        (_v(3, None), _v(2, None), EditorStart(BRIEF_FORM, "example", None, yaml_draft=3, yaml_in_force=2)),
        (None, None, EditorStart(BRIEF_FORM, "example", None)),  # nothing yet
        (WrittenVersion(3, '{"old": 1}'), None, EditorStart(BRIEF_FORM, "example", None, yaml_draft=3)),
    ],
)
def test_the_editor_opens_with_the_draft_then_the_program_in_force_then_the_example(draft, in_force, expected):
    assert editor_start(draft, in_force) == expected
