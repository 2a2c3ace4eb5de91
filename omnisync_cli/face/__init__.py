"""Mouth centre and working-region track (MediaPipe landmarks, fallbacks, smoothing), crop and paste.

MediaPipe is imported only when a landmarker is opened; everything here works without it.
"""

from omnisync_cli.face.config import FaceConfig, parse_mouth, parse_region
from omnisync_cli.face.landmarks import FaceObservation, open_landmarker, pick_face
from omnisync_cli.face.paste import paste_bounds, paste_region
from omnisync_cli.face.region import REGION_SCALE, RegionBox, crop_region
from omnisync_cli.face.mouth_track import MouthTrack
from omnisync_cli.face.track import MouthTracker

__all__ = [
    "FaceConfig", "FaceObservation", "MouthTrack", "MouthTracker", "REGION_SCALE", "RegionBox",
    "crop_region", "open_landmarker", "parse_mouth", "parse_region", "paste_bounds", "paste_region",
    "pick_face",
]
