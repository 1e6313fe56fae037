"""The docs cannot drift from the code: settings, modules and the partner API's fields."""

from __future__ import annotations

import re
from pathlib import Path

from headwater.settings import Settings

ROOT = Path(__file__).resolve().parents[2]
PACKAGE = ROOT / "src" / "headwater"
# Read from the environment before the settings exist: it says where the other settings are.
NOT_A_FIELD = {"HEADWATER_ENV_FILE"}


def _documented_settings() -> set[str]:
    """Every ``HEADWATER_*`` name in the README's settings table; ``_PER_DAY`` after
    ``HEADWATER_RATE_LIMIT_PER_SECOND`` is ``HEADWATER_RATE_LIMIT_PER_DAY``."""
    table = ROOT.joinpath("README.md").read_text().split("## Configuration", 1)[1].split("\n## ", 1)[0]
    names: set[str] = set()
    for row in table.splitlines():
        if not row.startswith("| `"):
            continue
        cell = row.split("|")[1]
        found = re.findall(r"`(HEADWATER_[A-Z0-9_]+|_[A-Z0-9_]+)`", cell)
        first = found[0]
        names.add(first)
        for suffix in found[1:]:
            if suffix.startswith("HEADWATER_"):
                names.add(suffix)
                continue
            parts = first.split("_")
            names.add("_".join(parts[: len(parts) - suffix.count("_")]) + suffix)
    return names


def test_every_setting_is_in_the_readme_and_every_documented_one_exists() -> None:
    fields = {f"HEADWATER_{name.upper()}" for name in Settings.model_fields}
    documented = _documented_settings()
    assert fields - documented == set(), "settings missing from the README's table"
    assert documented - fields - NOT_A_FIELD == set(), "the README names settings that do not exist"


def test_every_module_the_architecture_names_exists() -> None:
    text = ROOT.joinpath("docs", "architecture.md").read_text()
    named = set(re.findall(r"^\| `([a-z_/]+(?:\.py|/))` \|", text, re.MULTILINE))
    assert named, "the architecture's module table was not found"
    missing = sorted(name for name in named if not (PACKAGE / name).exists())
    assert missing == []


def test_the_partner_datasource_example_shows_exactly_the_fields_answered() -> None:
    from headwater.api import partner

    text = ROOT.joinpath("docs", "partner-api.md").read_text()
    example = re.search(r'"datasource": \{(.*?)\n  \}', text, re.S)
    assert example, "the datasource example was not found"
    shown = set(re.findall(r'"([A-Za-z]+)":', example.group(1))) - {"code", "message", "at"}
    assert shown == set(partner.DATASOURCE_FIELDS)
