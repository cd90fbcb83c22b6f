"""PostgreSQL catalogs keep their pixel store under $WEBBARCHIVE_PIXELS: a
temporary folder for the tests of this package."""

import pytest


@pytest.fixture(scope="session", autouse=True)
def pixels_env(tmp_path_factory):
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("WEBBARCHIVE_PIXELS", str(tmp_path_factory.mktemp("pg-pixels")))
        yield
