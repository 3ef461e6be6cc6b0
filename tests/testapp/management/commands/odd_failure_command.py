from tests.testapp.twin import command_base

# An exception class whose dotted name is far longer than the 255 characters a column holds.
LongNamedError = type("Long" + "N" * 296, (Exception,), {})


class Command(command_base()):
    help = "Fail with what PostgreSQL refuses as is: a NUL character, a 300-character type name."

    def handle(self, *args, **options):
        self.stdout.write("before the failure")
        raise LongNamedError("a NUL \x00 in the message")
