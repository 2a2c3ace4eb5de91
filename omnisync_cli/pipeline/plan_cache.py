"""A video's analysis kept in a file (`dub --plan FILE`), so that a re-dub of the same video
with other speech skips the tracking pass.

The file is an .npz: the mouth track's per-frame arrays and the frame times, plus one JSON
string with the rest (video probe, warnings, timings) and the key it is valid for: the
video's path, size and modification time, and the face settings that shaped the track.
A file that does not match the key (another video, an edited one, other face flags, an
older format) or cannot be read is simply not used; the caller analyses again and
overwrites it. Timings are not kept: a reused analysis reports the time to read it.
"""

import dataclasses
import io
import json
import os
import tempfile
import time
import zipfile
from fractions import Fraction
from pathlib import Path

import numpy as np

from omnisync_cli.errors import OutputError
from omnisync_cli.face.config import FaceConfig
from omnisync_cli.face.mouth_track import MouthTrack
from omnisync_cli.media.video import VideoInfo
from omnisync_cli.files import output_mode
from omnisync_cli.media.writer import why_write_failed

FORMAT = 5  # 2: VideoInfo.pixel_aspect; 3: the track's shot cuts; 4: the tracker's localiser checks (stop 43);
# 5: the rate a video plays at (pipeline.timeline.playback_rate: variable-rate and one-frame videos, stop 45)
TRACK_ARRAYS = ("cx", "cy", "side", "mouth_x", "mouth_y", "found")


def cache_key(video: Path, face: FaceConfig) -> dict:
    """What a saved analysis is valid for."""
    stat = Path(video).stat()
    face_settings = {k: (str(v) if isinstance(v, Path) else v) for k, v in dataclasses.asdict(face).items()}
    return {"format": FORMAT, "video": str(Path(video).resolve()), "bytes": stat.st_size,
            "mtime_ns": stat.st_mtime_ns, "face": json.loads(json.dumps(face_settings))}


def save_analysis(analysis, face: FaceConfig, path: Path, key: dict | None = None) -> None:
    """Write `analysis` (a pipeline.analysis.VideoAnalysis) to `path`, atomically (a temporary file
    renamed into place, so a killed run leaves no half-written plan). `key`: the video's
    `cache_key` taken before it was analysed (default: now), so that a plan of a video edited
    while it was tracked is not taken for the edited version's (a user tour)."""
    path = Path(path)
    track, info = analysis.track, analysis.info
    meta = {
        "key": cache_key(analysis.video, face) if key is None else key,
        "info": {**dataclasses.asdict(info), "fps": str(info.fps), "pixel_aspect": str(info.pixel_aspect)},
        "track": {"fps": track.fps, "frame_size": list(track.frame_size), "source": track.source,
                  "speaker_by_speech": track.speaker_by_speech, "landmarks_overruled": track.landmarks_overruled,
                  "localiser_frames": track.localiser_frames},
        "warnings": list(analysis.warnings),
    }
    arrays = {name: getattr(track, name) for name in TRACK_ARRAYS}
    arrays["cuts"] = track.cuts
    if track.edit is not None:
        arrays["edit"] = track.edit
    partial = None
    try:
        fd, name = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".partial")
        partial = Path(name)
        os.fchmod(fd, output_mode(path))
        # made in memory first (a few floats a frame): a zip file whose write failed half-way
        # would complain again from its finaliser
        packed = io.BytesIO()
        np.savez(packed, frame_times=analysis.frame_times, meta=np.array(json.dumps(meta)), **arrays)
        with os.fdopen(fd, "wb") as file:
            file.write(packed.getbuffer())
        if (path.exists() or path.is_symlink()) and not is_plan_file(path):
            # checked before the tracking pass, but a file of the user's may have appeared since
            partial.unlink()
            raise OutputError(f"{path}: a file that is not an omnisync plan appeared there while the video was "
                              "tracked; it was kept and no plan was saved")
        os.replace(partial, path)
    except OSError as error:
        if partial is not None:
            partial.unlink(missing_ok=True)
        raise OutputError(f"{path}: cannot write the plan: {why_write_failed(error, path.parent)}") from None


def sound_track_arrays(arrays: dict, edit: np.ndarray | None, frame_times: np.ndarray) -> bool:
    """Whether a saved track is whole: one finite entry per frame in every array, a positive
    region side (a damaged or hand-edited file is analysed again, not dubbed from)."""
    n = len(frame_times)
    if n == 0 or any(len(a) != n for a in (*arrays.values(), *([] if edit is None else [edit]))):
        return False
    numbers = [np.asarray(arrays[name], np.float64) for name in ("cx", "cy", "side", "mouth_x", "mouth_y")]
    return bool(all(np.isfinite(a).all() for a in [*numbers, np.asarray(frame_times, np.float64)])
                and (numbers[2] > 0).all())


def is_plan_file(path: Path) -> bool:
    """Whether `path` is a file `save_analysis` wrote (of any video or version): only such a
    file is ever replaced by a new plan."""
    try:
        with np.load(path, allow_pickle=False) as data:
            return "meta" in data.files and "key" in json.loads(str(data["meta"]))
    except (OSError, EOFError, ValueError, KeyError, TypeError, AttributeError, zipfile.BadZipFile):
        return False


def load_analysis(path: Path, video: Path, face: FaceConfig) -> dict | None:
    """The saved analysis of `video` as VideoAnalysis keyword arguments, or None when `path`
    is missing, unreadable, or was made for another video, file version or face setting."""
    path = Path(path)
    if not path.is_file():
        return None
    started = time.perf_counter()
    try:
        with np.load(path, allow_pickle=False) as data:
            meta = json.loads(str(data["meta"]))
            if meta.get("key") != cache_key(video, face):
                return None
            arrays = {name: data[name] for name in TRACK_ARRAYS}
            cuts = np.asarray(data["cuts"], dtype=int)
            edit = data["edit"] if "edit" in data.files else None
            frame_times = data["frame_times"]
        info = VideoInfo(**{**meta["info"], "fps": Fraction(meta["info"]["fps"]),
                            "pixel_aspect": Fraction(meta["info"]["pixel_aspect"])})
        t = meta["track"]
        if not sound_track_arrays(arrays, edit, frame_times) or np.any((cuts < 1) | (cuts >= len(frame_times))):
            return None
        track = MouthTrack(fps=t["fps"], frame_size=tuple(t["frame_size"]), source=t["source"],
                           speaker_by_speech=t["speaker_by_speech"], landmarks_overruled=t["landmarks_overruled"],
                           localiser_frames=t["localiser_frames"], edit=edit, cuts=cuts, **arrays)
    except (OSError, EOFError, ValueError, KeyError, TypeError, zipfile.BadZipFile):
        return None
    return {"video": Path(video), "info": info, "track": track, "frame_times": frame_times,
            "warnings": tuple(meta["warnings"]), "seconds": {"plan": round(time.perf_counter() - started, 3)}}
