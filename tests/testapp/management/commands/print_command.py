import sys
import time

from tests.testapp.twin import command_base

#: Bytes that are not UTF-8: a lone continuation byte, a truncated sequence, an overlong form.
INVALID_UTF8 = b"\x80 \xe2\x82 \xc0\xaf \xff\xfe"


class Command(command_base()):
    help = "Print through every path a command has: mixed, a lot of it, binary, or until killed."

    def add_arguments(self, parser):
        parser.add_argument("mode", choices=["mixed", "big", "binary", "wait", "streams"])
        parser.add_argument("--megabytes", type=int, default=50)
        parser.add_argument("--line-bytes", type=int, default=1_000_000)
        parser.add_argument("--via", choices=["self.stdout", "print"], default="print")
        parser.add_argument("--api_key", default=None)
        parser.add_argument("--seconds", type=float, default=30.0)

    def handle(self, *args, **options):
        getattr(self, options["mode"])(options)

    def mixed(self, options):
        self.stdout.write("one: self.stdout.write")
        self.stderr.write("two: self.stderr.write")
        print("three: print()")
        print("four: print(file=sys.stderr)", file=sys.stderr)
        sys.stdout.write("five: no newline, ")
        sys.stdout.flush()
        sys.stderr.write("six: sys.stderr.write\n")
        print("seven", "with", "several", "args", sep="|", end=";\n", flush=True)
        self.stdout.write("eight: ending given", ending="!\n")
        if options["api_key"]:
            print(f"connecting with key {options['api_key']} now")
        self.stdout.write("nine: the last line")

    def big(self, options):
        size = options["line_bytes"]
        line = "x" * (size - 1)  # the newline makes it `size` bytes
        count = options["megabytes"] * 1_000_000 // size
        write = print if options["via"] == "print" else self.stdout.write
        for number in range(count):
            write(line if number != count - 1 else line[7:] + "the end")
        sys.stdout.flush()

    def binary(self, options):
        sys.stdout.write("text before\n")
        sys.stdout.flush()
        sys.stdout.buffer.write(bytes(range(256)))
        sys.stdout.buffer.write(INVALID_UTF8)
        sys.stdout.buffer.flush()
        print("text between")
        sys.stdout.flush()
        sys.stdout.buffer.write(bytearray(b"\x00\x01 bytearray \xfe\n"))
        sys.stdout.buffer.write(memoryview(b"memoryview \xe2\x82\xac\n"))
        sys.stderr.buffer.write(b"stderr bytes \xff\n")
        self.stdout.write("text after")

    def streams(self, options):
        for stream in (sys.stdout, sys.stderr, self.stdout._out, self.stderr._out):
            print(type(stream).__name__, stream is sys.__stdout__ or stream is sys.__stderr__)

    def wait(self, options):
        for number in range(3):
            print(f"before the kill {number}")
        self.stderr.write("ready")  # stderr is line-buffered even to a pipe
        time.sleep(options["seconds"])
        self.stdout.write("never printed")
