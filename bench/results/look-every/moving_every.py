"""bench/moving_faces.py with the landmark looks' interval set by the environment variable
LOOK_EVERY_S (seconds; `FaceConfig.landmarks_every_s`), for comparing intervals on the same clips:

    LOOK_EVERY_S=0.08 python bench/results/look-every/moving_every.py --clips-dir DIR --write F
"""
import dataclasses
import os
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))  # bench/

import moving_faces  # noqa: E402  (bench/moving_faces.py)
from omnisync_cli.pipeline import analysis  # noqa: E402
from omnisync_cli.pipeline.options import DubOptions  # noqa: E402

EVERY_S = float(os.environ["LOOK_EVERY_S"])
plain_analyse = analysis.analyse


def analyse(video, options=DubOptions(), *args, **kwargs):
    face = dataclasses.replace(options.face, landmarks_every_s=EVERY_S)
    return plain_analyse(video, dataclasses.replace(options, face=face), *args, **kwargs)


moving_faces.analyse = analyse
sys.argv[0] = "moving_faces.py"
moving_faces.main()
