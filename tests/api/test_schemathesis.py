"""A bounded schemathesis pass: the schema tells the truth about what the routes answer.

Schemathesis generates requests from /openapi.json and checks each answer against
it, with a stranger's token (a logged-in user with no program). Deterministic
(derandomized) and bounded: a few cases per operation, well under a minute.

Scope today: the routes whose parameters are hand-parsed and documented through
:mod:`webbarchive.api.openapi_docs` (IVOA services, pixel search, DJA imaging,
bundle.sh). Checked: no 5xx, every status code and content type documented, the
documented headers and JSON bodies conform. Not yet asserted (see the
session's report): ``positive_data_acceptance`` (interdependent parameters such
as ra-with-dec, and ADQL, that a schema cannot express), ``negative_data_rejection``
(the DALI services accept what the schema's enums do not list, by design
of their case-insensitive parsing) and ``unsupported_method`` (the Allow header
of a 405 lists one route's methods when GET and POST are separate routes).
"""

from __future__ import annotations

import pytest

schemathesis = pytest.importorskip("schemathesis")

from hypothesis import HealthCheck, settings  # noqa: E402
from schemathesis.specs.openapi import checks  # noqa: E402

from webbarchive.api.app import create_app  # noqa: E402
from webbarchive.catalog import accounts  # noqa: E402
from webbarchive.config import Settings  # noqa: E402

PATHS = (
    r"^/(tap|scs|sia|ssa|assoc|exposures|assoc_mosaic|thumb"
    r"|spectra/api/v0\.1/search|viz/api/v0\.1/search|api/v0\.1/Download/bundle\.sh)"
)
EXCLUDED = [
    checks.positive_data_acceptance,
    checks.negative_data_rejection,
    checks.unsupported_method,
    checks.allow_header_conformance,
    checks.missing_required_header,
]


def _app_and_token():
    """The app over an empty catalog in a temporary folder, built at collection
    (schemathesis parametrizes from the schema), and a stranger's token."""
    import tempfile

    folder = tempfile.mkdtemp(prefix="webbarchive-schemathesis-")
    app = create_app(Settings.from_env(db_url=f"{folder}/catalog.db"))
    app.state.rate_limiter = None
    accounts.add_user(app.state.engine, "stranger")
    return app, accounts.create_token(app.state.engine, "stranger", "fuzz").token


APP, TOKEN = _app_and_token()
schema = schemathesis.openapi.from_asgi("/openapi.json", APP).include(path_regex=PATHS)


@schema.parametrize()
@settings(
    max_examples=3,
    deadline=None,
    derandomize=True,
    suppress_health_check=list(HealthCheck),
)
def test_answers_match_the_schema(case):
    case.call_and_validate(headers={"Authorization": f"token {TOKEN}"}, excluded_checks=EXCLUDED)
