"""Every dialect answers every headwater error from its table, the most specific entry first."""

from __future__ import annotations

import inspect
from collections.abc import Iterator

import pytest
from starlette.requests import Request
from starlette.responses import Response

from headwater import errors
from headwater.api import chartmogul, integration, partner
from headwater.api.error_tables import Answer, ErrorTable
from headwater.errors import FieldProblem, HeadwaterError


def _instance(kind: type[HeadwaterError]) -> HeadwaterError:
    """One error of each class, made with the arguments its constructor asks for."""
    made: dict[type[HeadwaterError], HeadwaterError] = {
        errors.NotFound: errors.NotFound("DataSource", 1),
        errors.Conflict: errors.Conflict("name", "Has already been taken."),
        errors.ValidationFailed: errors.ValidationFailed(
            [FieldProblem("host", "HostRequired", "host is required")]
        ),
        errors.InvalidJson: errors.InvalidJson("not JSON"),
        errors.RequestTooLarge: errors.RequestTooLarge(4096),
        errors.RateLimited: errors.RateLimited(3),
        errors.TooManyFailures: errors.TooManyFailures(3, "touchpoint"),
        errors.StoreBusy: errors.StoreBusy(),
        errors.ClientGone: errors.ClientGone(),
        errors.FileUnreadable: errors.FileUnreadable("no header"),
    }
    return made.get(kind) or kind("refused")


def _known_errors() -> Iterator[type[HeadwaterError]]:
    for _, kind in inspect.getmembers(errors, inspect.isclass):
        if issubclass(kind, HeadwaterError):
            yield kind


KNOWN = list(_known_errors())
REQUEST = Request({"type": "http", "method": "GET", "path": "/prod/dataSources", "headers": []})


def test_the_known_errors_are_found() -> None:
    assert errors.SourceError in KNOWN and errors.TooManyFailures in KNOWN and len(KNOWN) > 15


@pytest.mark.parametrize("kind", KNOWN, ids=lambda k: k.__name__)
def test_the_partner_dialect_answers_every_known_error(kind: type[HeadwaterError]) -> None:
    response = partner.answer(_instance(kind))
    assert response.status_code >= 400
    assert response.status_code != 500 or issubclass(kind, errors.ConfigurationError)


@pytest.mark.parametrize("kind", KNOWN, ids=lambda k: k.__name__)
def test_the_chartmogul_dialect_answers_every_known_error_from_an_entry_of_its_own(
    kind: type[HeadwaterError],
) -> None:
    assert chartmogul.ERRORS.owner(kind) is not Exception
    response = chartmogul.error_response(_instance(kind))
    assert response.status_code != 500 or issubclass(kind, errors.ConfigurationError)


@pytest.mark.parametrize("kind", KNOWN, ids=lambda k: k.__name__)
def test_the_integration_dialect_answers_every_known_error_from_an_entry_of_its_own(
    kind: type[HeadwaterError],
) -> None:
    assert integration.ERRORS.owner(kind) is not Exception
    response = integration._answer(REQUEST, _instance(kind))
    assert response.status_code in (200, 403, 413, 429, 503)


def test_the_most_specific_entry_wins_whatever_the_order_it_is_written_in() -> None:
    table: ErrorTable[Answer] = ErrorTable(
        {
            errors.HeadwaterError: lambda e: Response("general"),
            errors.RateLimited: lambda e: Response("rate"),
            errors.TooManyFailures: lambda e: Response("failures"),
        }
    )
    answered = table.answer(errors.TooManyFailures(1, "partner"))
    assert answered is not None and answered.body == b"failures"
    assert table.owner(errors.TooManyFailures) is errors.TooManyFailures
    assert table.owner(errors.RateLimited) is errors.RateLimited
    assert table.owner(errors.HostRefused) is errors.HeadwaterError
    assert table.owner(ValueError) is None


def test_an_unknown_error_is_re_raised_by_the_partner_dialect_and_answered_by_the_others() -> None:
    with pytest.raises(KeyError):
        partner.answer(KeyError("x"))
    assert chartmogul.error_response(KeyError("x")).status_code == 500
    assert integration._answer(REQUEST, KeyError("x")).status_code == 200
