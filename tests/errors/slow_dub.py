"""`omnisync` with a pass-through editor slowed down and marker lines on stdout, so a test can
send a signal at a known point of a real dub: `EDIT` before each segment's edit, `FINISH`
before the writer flushes and closes the file, `COMPARE` once the dub is in place and before
`--compare`'s side-by-side video is made. Run as `python -m tests.errors.slow_dub ARGS`."""

import sys
import time

from omnisync_cli.cli import app
from omnisync_cli.media.writer import VideoWriter
from omnisync_cli.pipeline import dub
from omnisync_cli.pipeline.editor import PassthroughEditor

real_edit, real_finish, real_compare = PassthroughEditor.edit, VideoWriter._finish, dub.write_comparison


def slow_edit(self, *args):
    print("EDIT", flush=True)
    time.sleep(0.1)
    return real_edit(self, *args)


def slow_finish(self):
    print("FINISH", flush=True)
    time.sleep(2.0)
    real_finish(self)


def slow_compare(*args):
    print("COMPARE", flush=True)
    time.sleep(2.0)
    return real_compare(*args)


PassthroughEditor.edit, VideoWriter._finish, dub.write_comparison = slow_edit, slow_finish, slow_compare
print("START", flush=True)
sys.exit(app())
