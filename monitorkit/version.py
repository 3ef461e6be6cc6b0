"""monitorkit's version, in a module of its own: the alerts' and the ping's ``User-Agent`` and
the metrics' build info read it here, so none of them imports the package's face
(``monitorkit/__init__.py``, which stands above them: it hands on the command side)."""

__version__ = "0.1.0"
