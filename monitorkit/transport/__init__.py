"""monitorkit's HTTP transport: what every client of an HTTP service shares.

``requests`` and urllib3 do the work; this package says how monitorkit uses them, once:

- :mod:`.sessions`: a client's sessions, made on first use with a retrying adapter mounted
  and no ``~/.netrc`` login, closed together, dropped in a forked child; urllib3's log lines
  scrubbed of every live client's secrets; a server's reply text, masked whole, then cut.
- :mod:`.retries`: attempts stopped by the sender's delivery deadline
  (``monitorkit.retry.deadline``): :class:`~.retries.DeadlineRetry`, urllib3's ``Retry``
  paced by a ``RetryPolicy`` with ``Retry-After`` honoured, and
  :class:`~.retries.DeadlineTimeout`, each attempt's timeouts cut to the time left.

The Firebase store's client (``monitorkit.stores.firebase.http``) uses both; the webhook
notifier uses the sessions with urllib3's own counted ``Retry`` (its documented ``retries``).
Importing it imports ``requests``: only the sender's thread, the watcher and ``manage.py
check`` do, never a command's own thread.
"""
