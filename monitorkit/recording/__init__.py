"""What records a run beside the command: the run itself (``run``: the only place a record
changes), its heartbeat, progress, output tail and kill signals, the one background thread that
hands records to the stores (``sender``) and the spool under it (``spool``).

Imported on a monitored command's path: nothing here imports what a run does not use.
"""
