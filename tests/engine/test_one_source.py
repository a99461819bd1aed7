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


EXTRAS_CASES = [  # (extras as a manifest declares them, chosen values, why it cannot be prefetched)
    ([], {}, None),
    ([("skip", True), ("genre", False)], {}, None),
    ([("search", True), ("genre", True)], {"genre": "Drama"}, "search-only catalog"),
    ([("search", False), ("genre", True)], {}, "required extra not chosen: genre"),
    ([("genre", True), ("year", True)], {"genre": "Drama"}, "required extra not chosen: year"),
    ([("genre", True)], {"genre": "Drama"}, None),
]


@pytest.mark.parametrize("declared, values, blocker", EXTRAS_CASES)
def test_the_catalog_row_the_manifest_and_the_engine_apply_one_extras_rule(declared, values, blocker):
    from addons.manifest import CatalogDecl, CatalogExtra, Manifest
    from addons.models import Catalog
    from prefetch.engine.plan import AddonSpec, CatalogSpec

    extras = tuple(CatalogExtra(name, required, ()) for name, required in declared)
    row = Catalog(content_type="movie", catalog_id="c", extras=[e.as_dict() for e in extras], extra_values=values)
    manifest = Manifest({"id": "a", "name": "A", "version": "1", "resources": ["stream"], "types": ["movie"], "catalogs": []})
    spec = CatalogSpec(AddonSpec("http://a/manifest.json", "A", manifest, True, True), "movie", "c", "C", row.extra_specs, values)

    assert row.extra_specs == extras
    assert spec.skip_reason([spec.addon]) == blocker
    assert row.search_only == CatalogDecl("movie", "c", "C", extras).search_only == (blocker == "search-only catalog")
    assert bool(row.unmet_required_extras) == (blocker is not None and blocker.startswith("required"))
