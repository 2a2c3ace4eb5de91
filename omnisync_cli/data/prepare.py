"""Real talking videos -> training shards (`omnisync prepare-data`).

    prepare_data("my_videos/", "my_corpus/", PrepareConfig())

Each video goes through the same face stage as `dub` (face.track.MouthTracker: MediaPipe
landmarks, else the fallbacks, smoothed) and the same crop rule (face.region.crop_region),
is cut into clips of `clip_seconds`, and every clip is written with the corpus's
ShardWriter as a scene with ONE rendering: crops, mouth centres in the crop, the video's
own audio over the clip, fps, and its position in the video. A real scene has only one
utterance, so real clips feed the arbitrary-pair branch of Eq. 3 (other clips of the same
person); pseudo-pairs come from the synthetic corpus (train on both folders' union, or mix
them when building the corpus).

The character id is the video's sub-folder inside `video_dir` (all videos of one person
in one folder), or the file name for videos lying directly in it. Two passes per video,
both streaming: the tracker needs the whole track before smoothing it.
"""

from dataclasses import asdict, dataclass, field
from pathlib import Path

import numpy as np

from omnisync_cli.data.shards import ShardWriter
from omnisync_cli.errors import ConfigError, InputError
from omnisync_cli.face.config import FaceConfig
from omnisync_cli.face.region import crop_region
from omnisync_cli.face.track import MouthTracker
from omnisync_cli.media.audio import SAMPLE_RATE, load_audio
from omnisync_cli.media.video import VideoReader

VIDEO_SUFFIXES = (".mp4", ".mov", ".m4v", ".mkv", ".avi", ".webm")
CATEGORY = "real"


@dataclass(frozen=True)
class PrepareConfig:
    clip_seconds: float = 3.0  # length of each clip cut from a video (the synthetic corpus's)
    min_clip_seconds: float = 1.0  # a shorter tail of a video is dropped
    crop_size: int = 96  # stored crop side in px (training resizes to the model's region)
    min_found: float = 0.5  # drop a clip whose mouth landmarks were found in fewer of its frames
    prompt: str = ""  # text prompt stored with every clip ("" = none)
    clips_per_shard: int = 16  # clips per safetensors shard
    face: FaceConfig = field(default_factory=FaceConfig)  # face stage settings, as for `dub`

    def __post_init__(self) -> None:
        if not 0 < self.min_clip_seconds <= self.clip_seconds:
            raise ConfigError("min_clip_seconds must be in (0, clip_seconds]")
        if self.crop_size < 16:
            raise ConfigError("crop_size must be at least 16")
        if not 0 <= self.min_found <= 1:
            raise ConfigError("min_found must be in [0, 1]")


def find_videos(video_dir: Path) -> list[tuple[str, Path]]:
    """(character id, path) of every video under `video_dir`, in a stable order."""
    videos = sorted(p for p in video_dir.rglob("*") if p.suffix.lower() in VIDEO_SUFFIXES and p.is_file())
    out = []
    for path in videos:
        parts = path.relative_to(video_dir).parts
        out.append((f"real-{parts[0] if len(parts) > 1 else path.stem}", path))
    return out


def clip_spans(n_frames: int, fps: float, clip_seconds: float, min_seconds: float) -> list[tuple[int, int]]:
    """[start, stop) frame spans of consecutive clips; a tail under `min_seconds` is dropped."""
    length = max(1, round(clip_seconds * fps))
    spans = [(s, min(s + length, n_frames)) for s in range(0, n_frames, length)]
    return [(a, b) for a, b in spans if b - a >= min_seconds * fps]


def prepare_video(path: Path, key: str, character: str, writer: ShardWriter, config: PrepareConfig) -> int:
    """Track, crop, cut and write one video; returns the number of clips written."""
    with VideoReader(path) as reader:
        if not reader.info.has_audio:
            raise InputError(f"{path}: has no audio track; training needs the speech of each video")
        fps = float(reader.info.fps)
        with MouthTracker(config.face, fps) as tracker:
            for frame in reader.iter_frames():
                tracker.observe(frame.image)
            track = tracker.finish()
        audio = load_audio(path)
        spans = clip_spans(len(track), fps, config.clip_seconds, config.min_clip_seconds)
        found = track.found.astype(np.float32)
        keep = [(a, b) for a, b in spans
                if track.source != "landmarks" or found[a:b].mean() >= config.min_found]
        written, crops, times = 0, [], []
        span_iter = iter(keep)
        span = next(span_iter, None)
        for frame in reader.iter_frames():
            if span is None:
                break
            if frame.index < span[0]:
                continue
            crops.append(crop_region(frame.image, track.box(frame.index), config.crop_size))
            times.append(frame.time_s)
            if frame.index == span[1] - 1:
                _write_clip(writer, path, f"{key}-{span[0]:07d}", character, span, np.stack(crops),
                            np.asarray(times), track, audio, fps, config)
                written += 1
                crops, times = [], []
                span = next(span_iter, None)
    return written


def _write_clip(writer: ShardWriter, path: Path, key: str, character: str, span: tuple[int, int],
                crops: np.ndarray, times: np.ndarray, track, audio: np.ndarray, fps: float,
                config: PrepareConfig) -> None:
    a, b = span
    f = b - a
    # The clip's waveform starts at its first frame's time, so frame j sits at j / fps.
    start = int(round(times[0] * SAMPLE_RATE))
    wave = np.zeros(int(round(f / fps * SAMPLE_RATE)), np.float32)
    piece = audio[start:start + len(wave)]
    wave[:len(piece)] = piece
    boxes = np.stack([track.cx[a:b], track.cy[a:b], track.side[a:b]], axis=1)
    meta = {
        "character_id": character, "category": CATEGORY, "kind": "real", "fps": fps,
        "crop_size": config.crop_size, "frame_size": list(track.frame_size), "sample_rate": SAMPLE_RATE,
        "video": str(path), "segment": [a, b], "start_s": float(times[0]),
        "mouth_source": track.source, "mouth_found": float(track.found[a:b].mean()),
        "utterances": [{"text": "", "prompt": config.prompt}],
    }
    writer.add(key, meta, crops[None], track.mouth_in_box(slice(a, b)), wave[None], boxes=boxes)


def prepare_data(video_dir: str | Path, out_dir: str | Path, config: PrepareConfig = PrepareConfig(),
                 progress=None) -> dict:
    """Turn every video under `video_dir` into training shards in `out_dir` (which must not
    hold a corpus yet); returns the corpus index (counts, shards). `progress(done, total,
    name)` is called after each video."""
    video_dir = Path(video_dir)
    if not video_dir.is_dir():
        raise InputError(f"{video_dir} is not a folder; give the folder holding your talking videos")
    videos = find_videos(video_dir)
    if not videos:
        raise InputError(f"{video_dir} holds no video ({', '.join(VIDEO_SUFFIXES)}); add some or "
                         "point at another folder")
    created = not Path(out_dir).exists()
    writer = ShardWriter(out_dir, config.clips_per_shard, config={
        "source": "prepare-data", "video_dir": str(video_dir),
        **{k: v for k, v in asdict(config).items() if k != "face"}})
    per_video, skipped = {}, {}
    for done, (character, path) in enumerate(videos, 1):
        name = str(path.relative_to(video_dir))
        try:  # one unreadable or silent video is reported, not fatal to the others
            per_video[name] = prepare_video(path, f"{character}-{done - 1:04d}", character, writer, config)
        except InputError as exc:
            skipped[name] = str(exc)
        if progress is not None:
            progress(done, len(videos), path.name)
    if writer.counts["clips"] == 0:
        reasons = "; ".join(skipped.values()) or (f"every video was shorter than {config.min_clip_seconds} s "
                                                  "or had no face in most frames")
        if created and not any(Path(out_dir).iterdir()):
            Path(out_dir).rmdir()  # no corpus: no folder left behind either
        raise InputError(f"no usable clip in {video_dir}: {reasons}")
    return writer.close(extra={"videos": per_video, "skipped": skipped})
