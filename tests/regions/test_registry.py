"""The backend table: settings from given options (one source of defaults), user errors, the CLI's options."""

import subprocess
import sys
from dataclasses import dataclass, fields

import pytest

from semlat.errors import SemlatError
from semlat.regions import registry
from semlat.regions.automatic import AutomaticProposer, AutomaticSettings
from semlat.regions.classical import ClassicalProposer, ClassicalSettings
from semlat.regions.clustered import ClusteredProposer, ClusteredSettings


@pytest.mark.parametrize(
    "backend, mode, settings, proposer",
    [
        ("classical", None, ClassicalSettings, ClassicalProposer),
        ("mobile-sam", None, AutomaticSettings, AutomaticProposer),
        ("mobile-sam", "clustered", ClusteredSettings, ClusteredProposer),
        ("mobile-sam", "automatic", AutomaticSettings, AutomaticProposer),
    ],
)
def test_defaults_come_from_the_settings_dataclass_alone(backend, mode, settings, proposer):
    assert registry.make_settings(backend, mode) == settings()
    built = registry.make_proposer(backend, mode)
    assert isinstance(built, proposer) and built.settings == settings() and built.name == backend


def test_both_sam_families_share_the_modes():
    assert registry.make_settings("sam") == registry.make_settings("mobile-sam") == AutomaticSettings()
    assert list(registry.modes("sam")) == list(registry.modes("mobile-sam")) == ["automatic", "clustered"]


def test_given_options_override_the_defaults_and_none_means_not_given():
    made = registry.make_proposer("mobile-sam", "automatic", points_per_side=8, max_regions=None, checkpoint=None)
    assert made.settings == AutomaticSettings(points_per_side=8)
    assert registry.make_settings("classical", method="slic", n_labels=None) == ClassicalSettings(method="slic")


@pytest.mark.parametrize(
    "backend, options, message",
    [
        ("nope", {}, "unknown region backend 'nope': choose one of classical, mobile-sam, sam"),
        ("mobile-sam", {"mode": "everything"}, "unknown --mode 'everything' for mobile-sam: use automatic or clustered"),
        ("classical", {"mode": "automatic"}, "--mode does not apply to classical"),
        ("mobile-sam", {"mode": "automatic", "batch_size": 3}, "--batch-size does not apply to automatic mode"),
        ("mobile-sam", {"method": "slic"}, "--method does not apply to automatic mode"),
        ("classical", {"prompt": "points", "n_labels": 4}, "--labels, --prompt does not apply to classical"),
        ("sam", {"sam_type": "vit_b"}, "sam_vit_b_01ec64.pth"),  # the factory checks the weights
    ],
)
def test_bad_choices_are_one_line_user_errors(backend, options, message):
    with pytest.raises(SemlatError) as error:
        registry.make_proposer(backend, **options)
    assert message in str(error.value) and "\n" not in str(error.value)


def test_every_setting_is_an_option_with_its_docs_and_defaults():
    by_name = {option.name: option for option in registry.options()}
    every = {f.name for mode in registry.BACKENDS.values() for m in mode.values() for f in fields(m.settings)}
    assert set(by_name) == every
    for mode in {m.settings for modes in registry.BACKENDS.values() for m in modes.values()}:
        assert set(registry.field_docs(mode)) == {f.name for f in fields(mode)}, mode  # every field documented
    assert all("[" not in option.help for option in by_name.values())  # help texts are rich markup
    assert by_name["n_labels"].flag == "labels" and by_name["min_area"].flag == "min-area"
    assert by_name["max_regions"].help == "Keep at most this many regions per image, largest first (0: all)."
    assert by_name["max_regions"].default == str(ClassicalSettings().max_regions) == str(ClusteredSettings().max_regions)
    assert by_name["batch_size"].help.startswith("clustered: images per batch") and by_name["batch_size"].default == "4"
    assert by_name["device"].help.startswith("automatic, clustered: torch device") and by_name["device"].default is None
    levels = by_name["levels"].help
    assert levels.startswith("automatic: LangSplat's levels") and "; clustered: keep SAM's three masks" in levels
    assert by_name["components"].type is bool and by_name["components"].default == "off"
    assert by_name["checkpoint"].type is str and by_name["scale"].type is float


def test_options_show_each_modes_default_where_they_differ(monkeypatch):
    @dataclass(frozen=True)
    class Other:
        """A test backend.

        Args:
            max_regions: keep at most this many regions per image, largest first (0: all).
        """

        max_regions: int = 0

    monkeypatch.setitem(registry.BACKENDS, "other", {"other": registry.Mode(Other, lambda settings: None)})
    by_name = {option.name: option for option in registry.options()}
    assert by_name["max_regions"].help == "Keep at most this many regions per image, largest first (0: all)."
    assert by_name["max_regions"].default == "automatic: 64, clustered: 64, classical: 64, other: 0"
    assert by_name["min_area"].help.startswith("automatic, clustered, classical: smallest region kept")


def test_the_table_and_the_settings_import_without_torch():
    code = "import sys, semlat.regions.registry; print('torch' in sys.modules)"
    assert subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout.strip() == "False"


def test_an_option_takes_the_widest_range_of_its_modes_and_each_mode_checks_its_own():
    from semlat.errors import SemlatError
    from semlat.regions.registry import make_settings, options
    from semlat.settings import Range

    by_name = {option.name: option for option in options()}
    assert by_name["n_labels"].allowed == Range(0)  # automatic: 0 leaves regions unlabelled; clustered needs 1
    assert by_name["max_regions"].allowed == Range(0) and by_name["method"].allowed is None
    assert make_settings("mobile-sam", "automatic", n_labels=0).n_labels == 0
    with pytest.raises(SemlatError, match=r"--labels 0 is not in \[1, inf\]"):
        make_settings("mobile-sam", "clustered", n_labels=0)
