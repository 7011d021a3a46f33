"""A bot for ``test_run_signals.py``: it starts a helper that outlives it unless its process
group is stopped, writes both pids to the file it is given, then either exits at once
(``leave``) or waits, noting each SIGTERM in the file and going on (``stay``)."""

import os
import signal
import subprocess
import sys
from pathlib import Path

mode, told = sys.argv[1], Path(sys.argv[2])
helper = subprocess.Popen([sys.executable, "-c", "import signal; signal.pause()"])


def noted(*_: object) -> None:
    with told.open("a") as file:
        file.write("SIGTERM\n")


if mode == "stay":
    signal.signal(signal.SIGTERM, noted)
told.write_text(f"{helper.pid} {os.getpid()}\n")
if mode == "stay":
    while True:
        signal.pause()
