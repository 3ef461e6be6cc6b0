"""Where one command's alerts go, who owns it, what to do, and when to tell again: its route.

A command declares it with its expectation (``monitor_channels``, ``monitor_owner``,
``monitor_runbook``, ``monitor_realert_every``, ``monitor_escalate_after``,
``monitor_escalate_to``; the same keys in ``MONITORKIT_SCHEDULES[id]`` and as keywords of
``monitorkit.monitor``); a pattern of ids declares it in ``MONITORKIT_ALERT_ROUTES``::

    MONITORKIT_ALERT_ROUTES = [
        {"match": "billing_*", "channels": ["email"], "owner": "billing team",
         "runbook": "https://wiki.example.com/billing", "realert_every": 3600},
        {"match": "*", "channels": ["webhook"]},
    ]

The first route whose pattern matches the command id (``fnmatch``, case-sensitive) applies,
and the command's own declaration wins over it key by key: a command that declares only its
``owner`` keeps the route's ``channels``. Undeclared everywhere, a command's alerts go to every
channel, as before routes existed.

A channel is named by its key in ``MONITORKIT_ALERTS`` (``webhook-2`` for the second of a list
of webhooks, ``alerts.channels``). A name that no channel has is ignored, and said by
:func:`problems` (``monitorkit.W243``). A recovery is not routed: it goes to the channels that
delivered the problem (``watch.py``), wherever the route points now.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
from collections.abc import Iterable, Mapping, Sequence
from fnmatch import fnmatchcase
from typing import Any, TypeVar

from ..conf import ALERT_ROUTES, Problem, show
from .schedules import KEYS, Expectation

T = TypeVar("T")

#: The keys a route may hold besides ``match``: the same as the commands' own.
ROUTE_KEYS = ("channels", "owner", "runbook", "realert_every", "escalate_after", "escalate_to")
W_ROUTE = "monitorkit.W242"
W_UNKNOWN_CHANNEL = "monitorkit.W243"
_ROUTE_HINT = (
    'Each route is a dict with "match" (a pattern of command ids such as "billing_*") and any '
    f"of {', '.join(repr(k) for k in ROUTE_KEYS)}."
)
_CHANNEL_HINT = (
    "Name channels by their keys in MONITORKIT_ALERTS ('email', 'webhook', 'apprise', a key of "
    "your own); the second and later webhooks of a list are 'webhook-2', 'webhook-3'..."
)


@dataclasses.dataclass(frozen=True)
class Route:
    """Where one command id's alerts go and what they say besides its health."""

    channels: tuple[str, ...] | None = None
    """The channels its alerts go to; ``None``: every channel."""
    owner: str | None = None
    runbook: str | None = None
    realert_every: dt.timedelta | None = None
    escalate_after: dt.timedelta | None = None
    escalate_to: tuple[str, ...] = ()

    def targets(self, configured: Mapping[str, T], escalation: bool = False) -> dict[str, T]:
        """Return the channels of ``configured`` (by name) an alert goes to.

        Its own channels (all when it names none), and for an escalation ``escalate_to`` too;
        names no channel has are left out (:func:`problems` says them).
        """
        wanted = set(configured if self.channels is None else self.channels)
        if escalation:
            wanted.update(self.escalate_to)
        return {name: value for name, value in configured.items() if name in wanted}


@dataclasses.dataclass(frozen=True)
class Declared:
    """One route of ``MONITORKIT_ALERT_ROUTES`` as read: its pattern and its usable keys."""

    pattern: str
    keys: dict[str, Any]
    where: str
    """``MONITORKIT_ALERT_ROUTES[<index>]``, for messages."""


def read_routes() -> tuple[list[Declared], list[Problem]]:
    """Return the usable routes of ``MONITORKIT_ALERT_ROUTES`` in order, and their problems.

    A route that is not a dict with a string ``match`` is left out; a bad or unknown key of a
    route is left out alone (the rest of the route applies).
    """
    found: list[Problem] = []
    if (problem := ALERT_ROUTES.problem()) is not None:
        found.append(problem)
    routes: list[Declared] = []
    for index, entry in enumerate(ALERT_ROUTES.value()):
        where = f"{ALERT_ROUTES.name}[{index}]"
        if not isinstance(entry, Mapping) or not isinstance(entry.get("match"), str):
            msg = f"{where} must be a dict with a 'match' pattern, not {show(entry)}: left out."
            found.append(Problem(W_ROUTE, msg, _ROUTE_HINT))
            continue
        usable: dict[str, Any] = {}
        for key, value in entry.items():
            if key == "match":
                continue
            if key not in ROUTE_KEYS:
                msg = f"{where} has an unknown key {show(key)}: left out."
                found.append(Problem(W_ROUTE, msg, _ROUTE_HINT))
                continue
            rule, _, hint = KEYS[key]
            try:
                usable[key] = rule(value)
            except ValueError as err:
                found.append(Problem(W_ROUTE, f"{where}: {key} {err}; left out.", hint))
        routes.append(Declared(entry["match"], usable, where))
    return routes, found


def route_for(
    command_id: str, expectation: Expectation | None, routes: Sequence[Declared]
) -> Route:
    """Return ``command_id``'s route: the first matching route, its own declaration over it."""
    values: dict[str, Any] = next(
        (dict(r.keys) for r in routes if fnmatchcase(command_id, r.pattern)), {}
    )
    if expectation is not None:
        for key in ROUTE_KEYS:
            declared = getattr(expectation, key)
            if declared is not None:
                values[key] = declared
    values = {key: value for key, value in values.items() if value is not None}
    values["escalate_to"] = tuple(values.get("escalate_to") or ())
    return Route(**values)


def find_problems(
    expectations: Mapping[str, Expectation], channel_names: Iterable[str]
) -> list[Problem]:
    """Return what is wrong with the routes, and every channel name no channel has.

    ``channel_names``: the names of the configured channels (``alerts.channels``).
    """
    routes, found = read_routes()
    known = set(channel_names)
    named: list[tuple[str, str, Sequence[str]]] = [
        (route.where, key, route.keys[key])
        for route in routes
        for key in ("channels", "escalate_to")
        if route.keys.get(key)
    ]
    named += [
        (f"{expectation.source} (command {command_id!r})", key, getattr(expectation, key))
        for command_id, expectation in sorted(expectations.items())
        for key in ("channels", "escalate_to")
        if getattr(expectation, key)
    ]
    for where, key, names in named:
        unknown = [name for name in names if name not in known]
        if unknown:
            msg = (
                f"{where}: {key} names {', '.join(repr(n) for n in unknown)}, which no channel "
                f"of MONITORKIT_ALERTS is (known: {', '.join(sorted(known)) or 'none'}); "
                "ignored."
            )
            found.append(Problem(W_UNKNOWN_CHANNEL, msg, _CHANNEL_HINT))
    return found


def problems() -> list[Problem]:
    """Return what is wrong with ``MONITORKIT_ALERT_ROUTES`` and the channel names of the
    project's declarations (``manage.py check``, ``monitor_watch`` as it starts)."""
    from ..alerts import channels, notifiers_from_settings
    from .schedules import discover

    return find_problems(discover(), channels(notifiers_from_settings()))
