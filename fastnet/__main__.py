import sys

from fastnet.cli import command

sys.exit(command())
