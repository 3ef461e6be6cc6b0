"""What a stored run looks like to the people who read it: shared by the tests."""

import re

#: ``YYYY-MM-DDTHH:MM:SS.ffffffZ``, in UTC.
TIMESTAMP = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{6}Z$")
#: The fields django-command-monitor's users already read.
SEED_FIELDS = {
    "id",
    "name",
    "params",
    "status",
    "started",
    "latest",
    "finished",
    "message",
    "exception_type",
}
#: The fields monitorkit adds.
NEW_FIELDS = {
    "run_id",
    "seq",
    "host",
    "pid",
    "duration",
    "exit_code",
    "traceback",
    "progress",
    "metadata",
    "output",
    "unmet",
    "release",
    "cost",
}
