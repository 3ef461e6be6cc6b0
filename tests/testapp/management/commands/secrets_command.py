import sys
from urllib.parse import quote

from tests.secret_corpus import LOOKALIKES, SECRETS
from tests.testapp.twin import command_base


class Command(command_base()):
    help = "Print and raise every shape of tests/secret_corpus.py, with secrets in its options."

    def add_arguments(self, parser):
        parser.add_argument("--pwd")
        parser.add_argument("--bearer")
        parser.add_argument("--cookie")
        parser.add_argument("--private-token")
        parser.add_argument("--passes", type=int, default=1)

    def handle(self, *args, **options):
        for line in LOOKALIKES:
            self.stdout.write(line)
        for line, _ in SECRETS.values():
            print(line)
        token = options["private_token"] or ""
        print(f"pwd {options['pwd']} bearer {options['bearer']} cookie {options['cookie']}")
        print(f"token bytes {token.encode()!r} quoted {quote(token)} repr {token!r}")
        sys.stderr.write(f"warning: retrying with {SECRETS['dsn with slash'][0]}\n")
        message = "\n".join([*LOOKALIKES, *(line for line, _ in SECRETS.values())])
        raise RuntimeError(f"{message}\nwith {token!r} and {options['pwd']}")
