"""The adversarial suite uses the EAP archive of the route-probe suite (tests/auth)."""

from tests.auth.conftest import eap_archive, eap_client  # noqa: F401
from tests.dja.imaging.conftest import dja_dir, dja_url  # noqa: F401
