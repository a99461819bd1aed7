"""One definition of each rule: the settings model, the units, the extras rule."""

from dataclasses import MISSING, fields

import pytest
from django.db import models

from prefetch.engine.durations import UNIT_LABELS, UNITS
from prefetch.engine.plan import EngineSettings
from prefetch.models import PrefetchSettings
from prefetch.web.forms import GROUPS, SettingsForm

PYTHON_TYPES = {
    models.IntegerField: int, models.PositiveIntegerField: int, models.FloatField: float,
    models.BooleanField: bool, models.CharField: str,
}


def setting_fields():
    return [field for field in PrefetchSettings._meta.concrete_fields if not field.primary_key]


def test_every_setting_has_an_engine_field_with_the_same_default_and_type():
    engine = {field.name: field for field in fields(EngineSettings)}
    for field in setting_fields():
        if field.name in PrefetchSettings.NOT_ENGINE_SETTINGS:
            assert field.name not in engine, f"{field.name} is listed as not an engine setting"
            continue
        assert field.name in engine, f"EngineSettings lacks {field.name}"
        assert engine[field.name].default is not MISSING, field.name
        assert engine[field.name].default == field.get_default(), field.name
        assert type(engine[field.name].default) is PYTHON_TYPES[type(field)], field.name


def test_the_engine_has_no_setting_the_model_lacks():
    model = {field.name for field in setting_fields()}
    assert [field.name for field in fields(EngineSettings) if field.name not in model] == []


def test_engine_settings_from_a_fresh_row_are_the_engine_defaults():
    assert EngineSettings.from_model(PrefetchSettings()) == EngineSettings()


def test_the_settings_page_places_every_setting_in_exactly_one_group():
    placed = [name for _, _, names in GROUPS for name in names]
    assert sorted(placed) == sorted(SettingsForm.base_fields)
    assert sorted(SettingsForm.base_fields) == sorted(field.name for field in setting_fields())


@pytest.mark.parametrize("name", ["delay_s", "request_timeout_s", "cache_validity_s", "max_execution_time_s"])
def test_the_settings_page_offers_only_the_one_table_of_units(name):
    units = SettingsForm.base_fields[name].units
    assert units and set(units) <= set(UNITS) and set(UNIT_LABELS) == set(UNITS)
