"""omnisync bench with the tracking of before stop 49 registered as a variant, "looks-every-2nd":
MediaPipe's landmarks every 0.08 s (every 2nd frame at 25 fps) instead of the default 0.11 s, so
before and after are dubbed and scored in one run (experiment only). The bench shares one
analysis per clip among its variants; this variant's dubs use a second analysis of the clip made
with the old interval. Its marker is `overlap_frames=1`, the shipped model's own overlap (the same
dub as the default's otherwise)."""
import sys
from dataclasses import replace
from pathlib import Path

from omnisync_cli.cli import app
from omnisync_cli.bench import runner as R
from omnisync_cli.bench import variants as V
from omnisync_cli.model.editor import SamplerConfig
from omnisync_cli.pipeline.analysis import analyse
from omnisync_cli.pipeline.options import DubOptions

plain_render = R.render
_before: dict[Path, object] = {}


def render(analysis, audio, output, editor, options, *args, **kwargs):
    if options.overlap_frames == 1:  # the variant's marker
        if analysis.video not in _before:
            face = replace(options.face, landmarks_every_s=0.08)
            _before[analysis.video] = analyse(analysis.video, DubOptions(face=face))
        analysis = _before[analysis.video]
    return plain_render(analysis, audio, output, editor, options, *args, **kwargs)


R.render = render
V.VARIANTS["looks-every-2nd"] = V.Variant("looks-every-2nd", "the defaults, tracked with MediaPipe every 2nd frame "
                                          "(before stop 49)", SamplerConfig(), overlap_frames=1)
app(sys.argv[1:])
