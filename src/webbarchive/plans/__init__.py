"""Planned and scheduled JWST visits (``calib_level = -1``) and the duplication check.

- :mod:`~webbarchive.plans.templates`: APT templates, visit statuses, duplication radii.
- :mod:`~webbarchive.plans.load`: the documented CSV/JSON form into ``planned_visits``.
- :mod:`~webbarchive.plans.query`: visits near a position (the duplication check).
"""

from webbarchive.plans.errors import PlanError, PlanInputError, PlanNotFound

__all__ = ["PlanError", "PlanInputError", "PlanNotFound"]
