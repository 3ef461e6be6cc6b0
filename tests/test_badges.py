"""Status badges: SVG and shields.io JSON per command id and for all, behind a token or public.

Over the real embedded store, written by the reporter (the helpers of ``test_status_page``).
"""

from __future__ import annotations

import io
import re
import xml.etree.ElementTree as ET

import pytest
from django.core.management import CommandError, call_command

from monitorkit.healths import Health, Tone
from monitorkit.web import badge_tokens
from monitorkit.web.badge import COLOURS, of_all, of_command
from tests.test_status_page import failing, history, running

pytestmark = pytest.mark.django_db(transaction=True)

ODD_ID = "<script>alert(1)</script>&\"q'"
SVG_NS = "{http://www.w3.org/2000/svg}"


@pytest.fixture(autouse=True)
def _no_declared_schedule(settings):
    """The test app's scheduled_command declares a schedule; these tests look at runs only."""
    settings.MONITORKIT_SCHEDULES = {"scheduled_command": {"schedule": None}}


def url(command_id: str, kind: str = "svg") -> str:
    token = badge_tokens.token(badge_tokens.command_subject(command_id))
    return f"/monitor/badges/{token}/{command_id}.{kind}"


def all_url(kind: str = "svg") -> str:
    return f"/monitor/badges/{badge_tokens.token(badge_tokens.ALL)}/all.{kind}"


def drawn(response) -> tuple[list[str], list[str]]:
    """Return the SVG's texts and its rectangles' fills (it must parse as XML)."""
    root = ET.fromstring(response.content)
    texts = [t.text or "" for t in root.iter(f"{SVG_NS}text")]
    fills = [r.get("fill") for r in root.iter(f"{SVG_NS}rect") if r.get("fill") != "#fff"]
    return texts, fills


def test_a_command_badge_with_its_token_shows_its_health(client):
    history("nightly_import", [5, 5])
    got = client.get(url("nightly_import"))
    assert got.status_code == 200
    assert got["Content-Type"] == "image/svg+xml"
    assert "no-cache" in got["Cache-Control"]
    assert got["Content-Security-Policy"].startswith("default-src 'none'")
    assert drawn(got) == (["nightly_import", "ok"], ["#555", "#4c1"])
    assert 'aria-label="nightly_import: ok"' in got.content.decode()
    head = client.head(url("nightly_import"))
    assert head.status_code == 200 and head.content == b""
    assert client.post(url("nightly_import")).status_code == 405


def test_a_failing_command_is_red_and_says_nothing_but_its_health(client):
    failing("export", message="secret-host.internal refused")
    got = client.get(url("export"))
    assert drawn(got) == (["export", "failing"], ["#555", "#e05d44"])
    text = got.content.decode()
    assert "secret-host" not in text and "OSError" not in text
    assert client.get(url("export", "json")).json() == {
        "schemaVersion": 1,
        "label": "export",
        "message": "failing",
        "color": "red",
    }


@pytest.mark.parametrize(
    "make,message,colour",
    [
        (lambda: history("job", [1]), "ok", "brightgreen"),
        (lambda: failing("job"), "failing", "red"),
        (lambda: running("job"), "running", "blue"),
    ],
)
def test_shields_json_per_health(client, make, message, colour):
    make()
    got = client.get(url("job", "json"))
    assert got.status_code == 200
    assert got["Content-Type"] == "application/json"
    assert "no-cache" in got["Cache-Control"]
    assert got.json() == {"schemaVersion": 1, "label": "job", "message": message, "color": colour}


@pytest.mark.parametrize("health", list(Health))
def test_every_health_has_its_tone_colour(health):
    found = of_command("job", health)
    assert (found.label, found.message) == ("job", health.value.lower())
    assert (found.colour, found.hex) == COLOURS[health.tone]


def test_the_colours_follow_the_tones():
    assert COLOURS[Tone.GOOD][0] == "brightgreen" and COLOURS[Tone.FAILURE][0] == "red"
    assert COLOURS[Tone.WARNING][0] == "orange" and COLOURS[Tone.INFO][0] == "blue"


@pytest.mark.parametrize(
    "path",
    [
        "/monitor/badges/nightly_import.svg",  # no token, badges not public
        "/monitor/badges/0123456789abcdef0123456789abcdef/nightly_import.svg",  # a wrong one
        "/monitor/badges/{export}/nightly_import.svg",  # another id's token
        "/monitor/badges/{all}/nightly_import.svg",  # the token of every command
        "/monitor/badges/{short}/nightly_import.svg",  # the right one, cut
        "/monitor/badges/{upper}/nightly_import.svg",  # the right one, in capitals
        "/monitor/badges/{right}/nightly_import.json/x.svg",  # the right one, another name
        "/monitor/badges/{export}/all.svg",  # a command's token for every command
        "/monitor/badges/all.svg",
        "/monitor/badges/all.json",
    ],
)
def test_a_missing_or_wrong_token_is_not_found(client, path):
    history("nightly_import", [5])
    history("export", [5])
    right = badge_tokens.token(badge_tokens.command_subject("nightly_import"))
    path = path.format(
        export=badge_tokens.token(badge_tokens.command_subject("export")),
        all=badge_tokens.token(badge_tokens.ALL),
        short=right[:-1],
        upper=right.upper(),
        right=right,
    )
    got = client.get(path)
    assert got.status_code == 404
    assert got.content == b"Not found."
    # The same answer as for an id that does not exist: nothing tells which ids do.
    assert client.get("/monitor/badges/0123456789abcdef0123456789abcdef/nope.svg").content == (
        got.content
    )
    assert client.get(url("nightly_import")).status_code == 200  # the right token works


def test_public_badges_are_opt_in(client, settings):
    history("nightly_import", [5])
    failing("export")
    assert client.get("/monitor/badges/nightly_import.svg").status_code == 404
    settings.MONITORKIT_BADGES_PUBLIC = True
    got = client.get("/monitor/badges/nightly_import.svg")
    assert got.status_code == 200
    assert drawn(got)[0] == ["nightly_import", "ok"]
    assert client.get("/monitor/badges/all.json").json()["message"] == "1 failing"
    assert client.get(url("nightly_import")).status_code == 200  # tokens still work
    settings.MONITORKIT_BADGES_PUBLIC = False
    assert client.get("/monitor/badges/nightly_import.svg").status_code == 404


def test_an_odd_command_id_is_escaped(client, settings):
    history(ODD_ID, [1])
    got = client.get(url(ODD_ID))
    assert got.status_code == 200
    text = got.content.decode()
    assert "<script>" not in text
    assert "&lt;script&gt;alert(1)&lt;/script&gt;&amp;&quot;q&#39;" in text
    assert drawn(got)[0] == [ODD_ID, "ok"]  # well-formed XML, the id as its text
    assert client.get(url(ODD_ID, "json")).json()["label"] == ODD_ID
    settings.MONITORKIT_BADGES_PUBLIC = True
    assert drawn(client.get(f"/monitor/badges/{ODD_ID}.svg"))[0] == [ODD_ID, "ok"]


def test_a_long_id_is_cut_and_a_forbidden_character_replaced(client):
    long_id = "x" * 100 + "\x01"
    history(long_id, [1])
    texts, _ = drawn(client.get(url(long_id)))
    assert texts == ["x" * 59 + "\u2026", "ok"]


def test_the_all_commands_badge_shows_the_worst_health(client):
    history("a", [1])
    history("b", [1])
    got = client.get(all_url())
    assert drawn(got) == (["commands", "2 ok"], ["#555", "#4c1"])
    running("c")
    assert client.get(all_url("json")).json()["message"] == "3 ok"  # running is healthy
    failing("d")
    failing("e")
    got = client.get(all_url())
    assert drawn(got) == (["commands", "2 failing"], ["#555", "#e05d44"])
    assert client.get(all_url("json")).json() == {
        "schemaVersion": 1,
        "label": "commands",
        "message": "2 failing",
        "color": "red",
    }


def test_the_all_badge_counts_problems_worst_first():
    found = of_all([Health.OK, Health.LATE, Health.FAILING, Health.STALE, Health.FAILING])
    assert (found.message, found.colour) == ("2 failing, 1 stale, 1 late", "red")
    found = of_all([Health.OK, Health.LATE, Health.OVERRUNNING])
    assert (found.message, found.colour) == ("1 overrunning, 1 late", "orange")
    found = of_all([Health.OK, Health.RUNNING, Health.NEW])
    assert (found.message, found.colour) == ("2 ok, 1 new", "brightgreen")
    found = of_all([Health.NEW])
    assert (found.message, found.colour) == ("1 new", "blue")
    found = of_all([])
    assert (found.message, found.colour) == ("none", "lightgrey")


def test_a_command_whose_id_is_all_has_its_own_badge(client):
    failing("all")
    history("other", [1])
    command = client.get(url("all", "json")).json()
    assert (command["label"], command["message"]) == ("all", "failing")
    every = client.get(all_url("json")).json()
    assert (every["label"], every["message"]) == ("commands", "1 failing")


def test_an_unknown_id_with_its_token_is_grey(client):
    got = client.get(url("never_ran", "json"))
    assert got.status_code == 200
    assert got.json() == {
        "schemaVersion": 1,
        "label": "never_ran",
        "message": "unknown",
        "color": "lightgrey",
    }


def test_no_store_is_unavailable(client, monkeypatch):
    from monitorkit.web.views import badges

    monkeypatch.setattr(badges, "store", lambda: None)
    got = client.get(url("job", "json"))
    assert got.status_code == 503
    assert got.json()["message"] == "unavailable" and got.json()["color"] == "lightgrey"


def test_a_token_survives_a_secret_key_rotation(client, settings):
    history("job", [1])
    old = url("job")
    settings.SECRET_KEY_FALLBACKS = [settings.SECRET_KEY]
    settings.SECRET_KEY = "a-new-key-" + "k" * 40
    assert url("job") != old
    assert client.get(old).status_code == 200
    assert client.get(url("job")).status_code == 200
    settings.SECRET_KEY_FALLBACKS = []
    assert client.get(old).status_code == 404


def printed(*args: str) -> tuple[str, str]:
    out, err = io.StringIO(), io.StringIO()
    call_command("monitor_badge", *args, stdout=out, stderr=err)
    return out.getvalue(), err.getvalue()


def test_monitor_badge_prints_paths_that_work(client):
    history("nightly_import", [5])
    failing("export")
    out, err = printed("nightly_import", "--all")
    assert "MONITORKIT_BASE_URL" in err
    paths = re.findall(r"^  (svg|json): +(\S+)$", out, re.MULTILINE)
    assert [kind for kind, _ in paths] == ["svg", "json", "svg", "json"]
    assert all(path.startswith("/monitor/badges/") for _, path in paths)
    answers = [client.get(path) for _, path in paths]
    assert [a.status_code for a in answers] == [200, 200, 200, 200]
    assert drawn(answers[0])[0] == ["commands", "1 failing"]
    assert answers[1].json()["message"] == "1 failing"
    assert drawn(answers[2])[0] == ["nightly_import", "ok"]
    assert answers[3].json()["label"] == "nightly_import"
    assert "shields" not in out  # no base URL: nothing shields.io could fetch


def test_monitor_badge_prints_whole_urls_under_the_base_url(client, settings):
    settings.MONITORKIT_BASE_URL = "https://ops.example.com/monitor/"
    history(ODD_ID, [1])
    out, err = printed(ODD_ID)
    assert err == ""
    (svg_url,) = re.findall(r"^  svg: +(\S+)$", out, re.MULTILINE)
    (json_url,) = re.findall(r"^  json: +(\S+)$", out, re.MULTILINE)
    assert svg_url.startswith("https://ops.example.com/monitor/badges/")
    got = client.get(svg_url.removeprefix("https://ops.example.com"))
    assert got.status_code == 200 and drawn(got)[0] == [ODD_ID, "ok"]
    assert client.get(json_url.removeprefix("https://ops.example.com")).json()["label"] == ODD_ID
    assert "  shields:  https://img.shields.io/endpoint?url=https%3A%2F%2Fops.example.com" in out
    assert f"  markdown: ![{ODD_ID}](" in out


def test_monitor_badge_needs_an_id_or_all():
    with pytest.raises(CommandError, match="--all"):
        printed()
