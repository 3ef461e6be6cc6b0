"""The Firebase store: runs and the watcher's health in a Realtime Database.

Its faces: :class:`FirebaseReporter` writes and reads runs (``runs.py``);
``FirebaseHealthStore`` keeps health and alerts (``health.py``, made by
``FirebaseReporter.health_store``). Both reach the database through one ``FirebaseTree``
(``tree.py``: the key's root and the client), which the REST client (``http.py``: paths, ETags,
replies, errors; its retries and sessions are ``monitorkit.transport``'s) and the credentials
(``auth.py``) serve, on the sender's or the watcher's thread only.
"""

from .runs import FirebaseReporter

__all__ = ["FirebaseReporter"]
