"""The version matrix: the test suite on each supported Python and Django this machine has.

    nox -s tests                      every combination below that this machine can run
    nox -s "tests(python='3.10', django='4.2')"   one of them
    nox -s lint typecheck docs build  the checks CI runs besides the suite

Supported: Django 4.2 and 5.2 on Python 3.10-3.13; Django 6.x on Python 3.12 and newer.
"""

from __future__ import annotations

import nox

# uv where it is installed (scripts/setup puts it beside nox): a leg's environment in seconds
# rather than a minute of pip's CPU; plain venv and pip elsewhere.
nox.options.default_venv_backend = "uv|venv"
nox.options.reuse_existing_virtualenvs = True
nox.options.error_on_missing_interpreters = False

DJANGO = {"4.2": "Django>=4.2,<5.0", "5.2": "Django>=5.2,<6.0", "6": "Django>=6.0,<7.0"}
MATRIX = [
    (python, django)
    for python in ("3.10", "3.11", "3.12", "3.13")
    for django in ("4.2", "5.2", "6")
    if not (django == "6" and python in ("3.10", "3.11"))
]


@nox.session
@nox.parametrize("python,django", MATRIX)
def tests(session: nox.Session, django: str) -> None:
    """Run the test suite on one Python and one Django.

    PostgreSQL's tests, the browser tests, the load and release tests (marked ``once``) and the
    watcher's process tests (``main_leg``) run once, on the main leg of scripts/test: what they
    check does not change with the versions.
    """
    # No byte-compiling: scripts/test keeps bytecode in PYTHONPYCACHEPREFIX, where an
    # installer's is never read (uv does not compile by default; pip is told). Not the
    # test-once extra (Playwright and its browser driver, build, twine): what needs it runs on
    # the main leg only, and installing it twice held the legs back a minute in CI.
    no_compile = [] if session.venv_backend == "uv" else ["--no-compile"]
    session.install(*no_compile, "-e", ".[test]", DJANGO[django])
    once_only = "not postgres and not browser and not once and not main_leg"
    session.run("python", "-m", "pytest", "-m", once_only, *session.posargs)


@nox.session(python=False)
def lint(session: nox.Session) -> None:
    """ruff: lint and format, as configured in pyproject.toml."""
    session.run("ruff", "check", ".")
    session.run("ruff", "format", "--check", ".")


@nox.session(python=False)
def typecheck(session: nox.Session) -> None:
    """mypy (strict) on the package."""
    session.run("mypy")


@nox.session(python=False)
def docs(session: nox.Session) -> None:
    """The documentation site; warnings are errors."""
    session.run("mkdocs", "build", "--strict", "-d", "site", env={"NO_MKDOCS_2_WARNING": "1"})


@nox.session(python=False)
def build(session: nox.Session) -> None:
    """Wheel and sdist, checked by twine."""
    session.run("rm", "-rf", "dist", external=True)
    session.run("python", "-m", "build", "--outdir", "dist")
    session.run("sh", "-c", "twine check --strict dist/*", external=True)
