"""The shared grammar of the settings that tune a list of named defaults
(``WEBBARCHIVE_POOLS``, ``WEBBARCHIVE_RATE_LIMITS``): empty keeps the defaults,
``off`` drops them all, ``name=off`` drops one, ``name=<spec>`` replaces one."""

from __future__ import annotations

from collections.abc import Callable
from typing import TypeVar

Named = TypeVar("Named")


def apply_overrides(
    env: str,
    value: str,
    defaults: tuple[Named, ...],
    noun: str,
    parse: Callable[[Named, str], Named],
) -> tuple[Named, ...]:
    """``defaults`` (items with a ``name``) after ``value``, in their own order.
    ``parse(default, spec)`` returns the replacement, or raises ValueError whose
    text completes "ENV: 'item' ..." (what the item should have been)."""
    value = value.strip()
    if not value:
        return defaults
    if value.lower() == "off":
        return ()
    by_name = {item.name: item for item in defaults}
    for item in value.split(","):
        name, _, spec = item.strip().partition("=")
        if name not in by_name:
            raise ValueError(f"{env}: unknown {noun} {name!r}; known: {', '.join(by_name)}")
        if spec.strip().lower() == "off":
            by_name.pop(name)
            continue
        try:
            by_name[name] = parse(by_name[name], spec)
        except ValueError as exc:
            raise ValueError(f"{env}: {item!r} {exc}") from None
    return tuple(by_name[d.name] for d in defaults if d.name in by_name)
