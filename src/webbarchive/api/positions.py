"""The project's one position parser (:mod:`webbarchive.positions`) for routers:
the same functions, with a :class:`~webbarchive.positions.PositionError` answered
as a 400 :class:`~webbarchive.api.errors.ApiError` that says what is accepted."""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import TypeVar

from webbarchive import positions
from webbarchive.api.errors import bad_request
from webbarchive.positions import ACCEPTED, Position

T = TypeVar("T")


def _as_400(parse: Callable[..., T]) -> Callable[..., T]:
    @functools.wraps(parse)
    def wrapper(*args, **kwargs) -> T:
        try:
            return parse(*args, **kwargs)
        except positions.PositionError as exc:
            raise bad_request(exc.message, accepted=exc.accepted) from None

    return wrapper


parse_position = _as_400(positions.parse_position)
parse_radius = _as_400(positions.parse_radius)

__all__ = ["ACCEPTED", "Position", "parse_position", "parse_radius"]
