"""The integration API's prefix is a path of its own: it is mounted ahead of every other route."""

from __future__ import annotations

import pytest
from pydantic import ValidationError

from headwater.settings import Settings


@pytest.mark.parametrize(
    ("given", "kept"), [("prod", "/prod"), ("/prod/", "/prod"), ("/integration/v2", "/integration/v2")]
)
def test_a_prefix_of_its_own_is_kept_with_one_leading_slash(given: str, kept: str) -> None:
    assert Settings(integration_prefix=given).integration_prefix == kept


@pytest.mark.parametrize(
    "given", ["/", "/api", "/api/v4", "/v1/things", "/oauth2", "/console", "/docs", "/metrics"]
)
def test_a_prefix_over_or_under_a_path_headwater_serves_is_refused_at_start_up(given: str) -> None:
    with pytest.raises(ValidationError, match="which headwater serves itself"):
        Settings(integration_prefix=given)
