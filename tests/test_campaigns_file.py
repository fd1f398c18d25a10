"""Campaign files: YAML and TOML load into Campaign; errors name the file, the line and the field."""

from __future__ import annotations

import pytest

from genpage.campaigns.files import load_campaign, parse_campaign
from genpage.errors import CampaignError

GOOD = """\
name: Winter Warmers
starts: 2026-12-01
ends: 2026-12-24
brief: Cosy gifts for cold evenings
theme:
  primary_color: "#8a1c1c"
  hero_title: Warm up your winter
featured_categories: [Candles & Lights]
copy_level: segment
audience:
  countries: [United Kingdom]
"""


def test_yaml_campaign_loads(tmp_path):
    path = tmp_path / "winter.yaml"
    path.write_text(GOOD)
    camp = load_campaign(path)
    assert camp.name == "Winter Warmers" and camp.theme.primary_color == "#8a1c1c"
    assert camp.audience.countries == ["United Kingdom"] and camp.copy_level == "segment"


def test_toml_campaign_loads_with_a_table(tmp_path):
    path = tmp_path / "c.toml"
    path.write_text('[campaign]\nname = "Spring"\nboost = 0.5\n[campaign.theme]\nhero_text = "Fresh"\n')
    camp = load_campaign(path)
    assert (camp.name, camp.boost, camp.theme.hero_text) == ("Spring", 0.5, "Fresh")


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        (GOOD.replace('"#8a1c1c"', '"red"'), r"line 6, field 'theme.primary_color'"),
        (GOOD.replace("copy_level: segment", "copy_level: everyone"), r"line 9, field 'copy_level'"),
        (GOOD + "budget: 100\n", r"line 12, field 'budget': Extra inputs are not permitted"),
        (GOOD.replace("ends: 2026-12-24", "ends: 2026-11-24"), r"ends must not be before starts"),
        (GOOD.replace("name: Winter Warmers\n", ""), r"field 'name': Field required"),
    ],
)
def test_errors_name_line_and_field(text, expected):
    with pytest.raises(CampaignError, match=expected) as info:
        parse_campaign(text, source="winter.yaml")
    assert str(info.value).startswith("winter.yaml: ")


def test_broken_yaml_and_missing_file(tmp_path):
    with pytest.raises(CampaignError, match=r"x.yaml: line 2, column 6: not valid YAML: mapping values"):
        parse_campaign("name: a\n  bad: [", source="x.yaml")
    with pytest.raises(CampaignError, match="does not exist"):
        load_campaign(tmp_path / "nope.yaml")
