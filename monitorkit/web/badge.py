"""What a badge says: a label, a message and a colour, from healths only.

A badge is public by nature (a README, a wiki): it shows its label (a command id, or
``commands``) and health words, never a message, a time, a host or anything else a run stored.
The colour follows the health's tone (``healths.Tone``), as the page's badges do.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable

from ..healths import Health, Tone

#: The label of the badge of every command.
ALL_LABEL = "commands"
#: A badge's colour by tone: shields.io's named colour (its JSON) and the same colour in hex.
COLOURS = {
    Tone.GOOD: ("brightgreen", "#4c1"),
    Tone.INFO: ("blue", "#007ec6"),
    Tone.WARNING: ("orange", "#fe7d37"),
    Tone.FAILURE: ("red", "#e05d44"),
}
#: The colour of a badge with no health to show (nothing is known, the store is down).
UNKNOWN_COLOUR = ("lightgrey", "#9f9f9f")


class Badge:
    """One badge's words and colour (``colour`` is shields' name, ``hex`` the same in SVG)."""

    __slots__ = ("colour", "hex", "label", "message")

    def __init__(self, label: str, message: str, colours: tuple[str, str]) -> None:
        self.label = label
        self.message = message
        self.colour, self.hex = colours

    def __repr__(self) -> str:
        return f"Badge({self.label!r}, {self.message!r}, {self.colour!r})"


def word(health: Health) -> str:
    """Return how a badge names a health: ``ok``, ``failing``, ``overrunning``."""
    return str(health.value).lower()


def of_command(command_id: str, health: Health | None) -> Badge:
    """Return one command id's badge: ``nightly_import | ok``; ``unknown`` when nothing is known."""
    if health is None:
        return Badge(command_id, "unknown", UNKNOWN_COLOUR)
    return Badge(command_id, word(health), COLOURS[health.tone])


def of_all(healths: Iterable[Health]) -> Badge:
    """Return the badge of every command: its problems, worst first, or how many are well.

    With a problem: ``2 failing, 1 late``, in the colour of the worst (``urgency``). Without:
    ``12 ok`` (OK and RUNNING, the healthy healths, count as ok), green, then the others by
    name (``12 ok, 1 new``); only new ones: the colour of theirs.
    """
    counted = Counter(healths)
    if not counted:
        return Badge(ALL_LABEL, "none", UNKNOWN_COLOUR)
    by_urgency = sorted(counted, key=lambda health: health.urgency)
    problems = [health for health in by_urgency if health.problem]
    if problems:
        message = ", ".join(f"{counted[health]} {word(health)}" for health in problems)
        return Badge(ALL_LABEL, message, COLOURS[problems[0].tone])
    healthy = sum(n for health, n in counted.items() if health.healthy)
    others = [health for health in by_urgency if not health.healthy]
    parts = [f"{healthy} ok"] if healthy else []
    parts += [f"{counted[health]} {word(health)}" for health in others]
    tone = Tone.GOOD if healthy else others[0].tone
    return Badge(ALL_LABEL, ", ".join(parts), COLOURS[tone])


def unavailable(label: str) -> Badge:
    """Return the badge shown while the store cannot be read (why is not shown: it is public)."""
    return Badge(label, "unavailable", UNKNOWN_COLOUR)
