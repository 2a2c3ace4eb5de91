"""Build the synthetic talking-character corpus (v2): training shards and a benchmark split.

    build_corpus(out_dir, CorpusConfig(...), progress=None)

Every clip is one scene (a style-randomised character, `styles.py`; framing anywhere in a
portrait, square or wide frame; head motion, background, light, occluders; sometimes other
characters beside it) rendered with `renderings_per_clip` different utterances, many of
them with a pause inside so that silence is learned. Each clip has its own seed derived
from (config seed, split, group, identity, clip), so the corpus is the same whatever the
worker count or order. Training clips go to shards (`shards.py`) as working-region crops;
benchmark clips go to `bench/` as full frames: source.mp4 (utterance 1), target.mp4 (the
ground-truth dub: same scene, utterance 2), speech.wav (utterance 2) and a manifest.

The benchmark is held out three times: its characters come from a separate seed space
(ids "bench-..."), its sentence texts from the hash-reserved set (`is_heldout_text`), and
three of its four groups use style families that training never draws (`styles.HELD_OUT`).
"""

import json
import multiprocessing
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from fractions import Fraction
from pathlib import Path

import cv2
import numpy as np
import soundfile as sf

from ..errors import ConfigError, OutputError
from ..face.region import RegionBox, crop_region
from ..media.writer import VideoWriter
from .recorded import recorded_utterance
from .scene import Framing, make_scene, render_scene, sprite_for
from .shards import ShardWriter
from .speech import SAMPLE_RATE, random_utterance, random_utterance_with_pause
from .styles import GROUPS, draw_style, make_styled_character
from .visemes import ARTICULATION_LEVELS, REST, articulation_prompt, viseme_track

TRAIN, BENCH = "train", "bench"


ASPECTS = ((16, 9), (4, 3), (1, 1), (3, 4), (9, 16))  # width : height of the frames drawn
BENCH_SPEECH = ("espeak", "recorded")


@dataclass(frozen=True)
class CorpusConfig:
    seed: int = 0                          # everything below is drawn from this
    identities: int = 2000                 # training characters (all from seen style families)
    clips_per_identity: int = 1            # scenes per training character
    renderings_per_clip: int = 2           # utterances per scene (pseudo-pairs among them)
    clip_seconds: float = 4.0              # every clip and waveform has exactly this length
    pause_share: float = 0.5               # share of utterances with a pause inside
    pause_seconds: tuple[float, float] = (0.5, 3.0)  # length of that pause
    fps_choices: tuple[float, ...] = (24.0, 25.0, 30.0)  # each clip draws its frame rate from these
    frame_size: int = 320                  # longest frame side at most, px (shorter for big faces)
    face_fraction: tuple[float, float] = (0.05, 1.0)  # speaker's face width / frame width (log-uniform)
    extras_share: float = 0.15             # share of clips with 1-2 other characters in the frame
    crop_size: int = 96                    # stored working-region crop side, px
    bench_identities_per_group: int = 3    # benchmark characters per style group (seen + 3 held out)
    bench_clips_per_identity: int = 2      # benchmark clips per benchmark character
    clips_per_shard: int = 32              # clips per safetensors shard
    region_jitter: float = 0.015           # crop-box noise before smoothing, face widths (like a detector)
    # A tracker's lasting error: each training clip's crop boxes sit this far (at most, face
    # widths, uniform in a disc) off the mouth, so the model learns to find the mouth in the
    # crop instead of expecting it at the centre. 0: centred crops (the corpora before it).
    region_offset: float = 0.0
    # Share of training clips whose renderings all keep one speaking style (articulation level),
    # as a character keeps its own through a video and every benchmark clip does; the others
    # draw each rendering's level anew (the prompt then tells it). 0: every clip varies it (the
    # corpora before it; their random draws are unchanged).
    keep_style_share: float = 0.0
    # What the benchmark's new speech is: "espeak" (synthesized, like training) or "recorded"
    # (a person: the Asterisk prompts, force-aligned; data.recorded). The sources, characters
    # and framings are the same either way, so the two splits of one seed compare the model on
    # synthesized and recorded speech of the same clips.
    bench_speech: str = "espeak"
    # Share of characters (training and benchmark) whose mouth spans 0.4-0.9 of a procedural
    # head's face width, as a frog's or a hippo's (styles.make_styled_character). 0: the corpora
    # before it (their draws are unchanged).
    wide_mouth_share: float = 0.0
    # The quietest speaking style (articulation level, data.visemes) a rendering draws. 2 for
    # clips built to measure silence: beside clear speech a closed mouth reads as closed, where
    # beside a whisper the opening meter's floor (a closed mouth reads about 0.05) is half of it.
    lowest_level: int = 0
    # Share of characters with slit-pupil eyes (a frog's), the eyes most like a closed mouth.
    slit_eye_share: float = 0.0
    workers: int = 1                       # processes; the output does not depend on it

    def validate(self) -> None:
        if self.identities < 0 or self.bench_identities_per_group < 0:
            raise ConfigError("identity counts must be >= 0")
        if self.clips_per_identity < 1 or self.bench_clips_per_identity < 1:
            raise ConfigError("clips per identity must be >= 1")
        if self.renderings_per_clip < 1:
            raise ConfigError("renderings_per_clip must be >= 1 (2 or more gives pseudo-pairs)")
        if not self.fps_choices or min(self.fps_choices) <= 0:
            raise ConfigError("fps_choices must hold positive frame rates, e.g. 25,30")
        if not 0.5 <= self.clip_seconds <= 600:  # also refuses NaN
            raise ConfigError(f"clip seconds must be between 0.5 and 600, got {self.clip_seconds}")
        if self.frame_size < 64 or self.frame_size % 2 or self.crop_size < 16:
            raise ConfigError("frame_size must be even and >= 64, crop_size >= 16")
        if not 0 < self.face_fraction[0] <= self.face_fraction[1] <= 1:
            raise ConfigError("face_fraction must be (low, high) within (0, 1]")
        if self.workers < 1:
            raise ConfigError("workers must be >= 1")
        if not 0 <= self.region_offset <= 0.3:  # also refuses NaN
            raise ConfigError(f"region offset must be between 0 and 0.3 face widths, got {self.region_offset}")
        for name, share in (("keep-style", self.keep_style_share), ("wide-mouth", self.wide_mouth_share),
                            ("slit-eye", self.slit_eye_share)):
            if not 0 <= share <= 1:  # also refuses NaN
                raise ConfigError(f"{name} share must be between 0 and 1, got {share}")
        if not 0 <= self.lowest_level < len(ARTICULATION_LEVELS):
            raise ConfigError(f"lowest level must be between 0 and {len(ARTICULATION_LEVELS) - 1}, got {self.lowest_level}")
        if not 0 <= self.pause_share <= 1 or not 0 < self.pause_seconds[0] <= self.pause_seconds[1]:
            raise ConfigError("pause share must be between 0 and 1 and pause seconds (low, high) positive")
        if self.bench_speech not in BENCH_SPEECH:
            raise ConfigError(f"bench speech must be one of {', '.join(BENCH_SPEECH)}, got {self.bench_speech!r}")


# Named presets (the CLI can offer them by name).
PRESETS = {
    "tiny": CorpusConfig(identities=2, clip_seconds=1.0, pause_share=0.0, frame_size=96, crop_size=32,
                         face_fraction=(0.3, 0.6), bench_identities_per_group=1, bench_clips_per_identity=1),
    "default": CorpusConfig(),
    # Benchmark clips built to measure silence (no training clips): 6 s, every utterance of
    # clear speech (level 2 and up) holding a pause of 1-2.5 s, the source's and the new
    # speech's pauses apart as chance places them.
    "silence": CorpusConfig(identities=0, clip_seconds=6.0, pause_share=1.0, pause_seconds=(1.0, 2.5),
                            lowest_level=2),
}


@dataclass(frozen=True)
class ClipJob:
    split: str
    group: str                             # styles.GROUPS: "seen" for every training clip
    identity: int
    clip: int
    config: CorpusConfig = field(repr=False)

    @property
    def key(self) -> str:
        return f"{self.split}-{self.group}-{self.identity:05d}-{self.clip:02d}"

    def entropy(self) -> list[int]:
        return [self.config.seed, (TRAIN, BENCH).index(self.split), GROUPS.index(self.group), self.identity,
                self.clip, 2]


def clip_jobs(config: CorpusConfig) -> list[ClipJob]:
    """Every clip of the corpus, training first, in a fixed order."""
    jobs = [ClipJob(TRAIN, "seen", i, c, config) for i in range(config.identities)
            for c in range(config.clips_per_identity)]
    for group in GROUPS:
        jobs.extend(ClipJob(BENCH, group, i, c, config) for i in range(config.bench_identities_per_group)
                    for c in range(config.bench_clips_per_identity))
    return jobs


def character_for(job: ClipJob, extra: int = 0):
    """The character of a job (`extra` > 0: the job's k-th other character); train and bench
    draw from separate seed spaces."""
    split_seed = int(np.random.SeedSequence([job.config.seed, (TRAIN, BENCH).index(job.split), 5])
                     .generate_state(1)[0])
    index = job.identity if extra == 0 else 100_000 * extra + job.identity * 100 + job.clip
    rng = np.random.default_rng([split_seed, GROUPS.index(job.group), index, 3])
    wide_rng = np.random.default_rng([split_seed, GROUPS.index(job.group), index, 4])
    wide = float(wide_rng.uniform(0.4, 0.9)) if wide_rng.random() < job.config.wide_mouth_share else 0.0
    slit = np.random.default_rng([split_seed, GROUPS.index(job.group), index, 6]).random() < job.config.slit_eye_share
    return make_styled_character(draw_style(rng, job.group), index, split_seed, prefix=job.split, wide_mouth=wide,
                                 slit_eyes=bool(slit))


def draw_framing(rng: np.random.Generator, config: CorpusConfig) -> Framing:
    """A frame shape and the speaker's size in it; big faces get smaller frames (cheaper, as sharp)."""
    aw, ah = ASPECTS[int(rng.integers(len(ASPECTS)))]
    lo, hi = np.log(config.face_fraction[0]), np.log(config.face_fraction[1])
    fraction = float(np.exp(rng.uniform(lo, hi)))
    face_px = rng.uniform(48, 140)
    width = min(face_px / fraction, config.frame_size * aw / max(aw, ah))
    width = max(width, 64 * aw / min(aw, ah))
    height = width * ah / aw
    even = lambda v: max(2, int(round(v / 2)) * 2)  # noqa: E731 - H.264 wants even sides
    zoom = float(rng.uniform(-0.3, 0.3)) if rng.random() < 0.2 else 0.0
    return Framing(even(height), even(width), fraction, anywhere=True, zoom=zoom)


def crop_boxes(mouth_xy: np.ndarray, face_width: np.ndarray, fps: float, jitter: float,
               rng: np.random.Generator, offset=(0.0, 0.0)) -> np.ndarray:
    """(F, 3) crop boxes (cx, cy, side) like the dub pipeline's: a noisy track smoothed in time.

    Inference centres the region on a smoothed landmark track, so the mouth is not exactly
    in the middle of the crop; training crops get the same small, smooth offsets, and the
    true mouth position inside the crop is what the shards store. `offset` (2,) moves every
    box by that many face widths: a tracker's lasting error on a style it reads badly.
    """
    noisy = mouth_xy + (rng.standard_normal(mouth_xy.shape) * jitter + np.asarray(offset)) * face_width[:, None]
    track = np.concatenate([noisy, face_width[:, None]], axis=1).astype(np.float64)
    sigma = 0.06 * fps  # ~60 ms, in frames
    half = max(1, int(3 * sigma))
    kernel = np.exp(-0.5 * (np.arange(-half, half + 1) / sigma) ** 2)
    padded = np.pad(track, ((half, half), (0, 0)), mode="edge")
    smooth = np.stack([np.convolve(padded[:, k], kernel / kernel.sum(), mode="valid") for k in range(3)], 1)
    boxes = smooth.copy()
    boxes[:, 2] = [RegionBox.around_mouth(x, y, w).side for x, y, w in smooth]
    return boxes.astype(np.float32)


def disc_offset(rng: np.random.Generator, radius: float) -> np.ndarray:
    """(2,) a point uniform in the disc of `radius` (no draw from rng when radius is 0, so
    corpora made before offsets existed come out the same)."""
    if radius <= 0:
        return np.zeros(2)
    r, angle = radius * np.sqrt(rng.random()), rng.uniform(0, 2 * np.pi)
    return np.array([r * np.cos(angle), r * np.sin(angle)])


def _utterance(rng: np.random.Generator, cfg: CorpusConfig, heldout: bool):
    if cfg.pause_share > 0 and rng.random() < cfg.pause_share and cfg.clip_seconds >= 2 * cfg.pause_seconds[0]:
        pause = (cfg.pause_seconds[0], min(cfg.pause_seconds[1], 0.75 * cfg.clip_seconds))
        return random_utterance_with_pause(rng, cfg.clip_seconds, pause, heldout)
    return random_utterance(rng, cfg.clip_seconds, heldout)


def make_clip(job: ClipJob, whole_frames: bool = False) -> dict:
    """Render one clip's renderings; returns arrays and metadata (see `shards.py` for fields).
    A benchmark clip (or any clip with `whole_frames`) keeps its whole rendered frames instead
    of the training crops: a training clip benchmarked as it was trained on."""
    cfg = job.config
    cv2.setNumThreads(1)  # parallelism is across clips
    character = character_for(job)
    rng = np.random.default_rng(job.entropy())
    fps = float(cfg.fps_choices[int(rng.integers(len(cfg.fps_choices)))])
    n_frames = int(round(cfg.clip_seconds * fps))
    framing = draw_framing(rng, cfg)
    bench = job.split == BENCH
    extras = []
    if rng.random() < cfg.extras_share:  # other characters: silent, or mumbling something else
        times = np.arange(n_frames) / fps
        for k in range(int(rng.integers(1, 3))):
            other = character_for(job, extra=k + 1)
            shapes = np.tile(REST, (n_frames, 1)) if rng.random() < 0.5 else \
                viseme_track(random_utterance(rng, cfg.clip_seconds, bench).phonemes, times, rng.uniform(0.6, 1.0))
            extras.append((other, shapes))
    scene = make_scene(character, int(rng.integers(1 << 62)), fps, n_frames, 0, framing, tuple(extras))
    sprite = sprite_for(character)
    renderings = 2 if bench else cfg.renderings_per_clip
    # A benchmark dub keeps the source's speaking style; training renderings vary it, but for
    # `keep_style_share` of the clips (drawn only where it is set: older corpora stay the same).
    keep_style = bench or (cfg.keep_style_share > 0 and rng.random() < cfg.keep_style_share)
    clips, utterances = [], []
    level = None
    for index in range(renderings):
        utt = _utterance(rng, cfg, heldout=bench)  # drawn either way: the source stays the espeak split's
        if bench and index == 1 and cfg.bench_speech == "recorded":
            utt = recorded_utterance(np.random.default_rng([*job.entropy(), 97]), cfg.clip_seconds)
        lvl, amp, prompt = articulation_prompt(rng, level if keep_style else None, cfg.lowest_level)
        level = lvl
        clips.append(render_scene(scene, viseme_track(utt.phonemes, scene.frame_times, amp), sprite))
        utterances.append(dict(text=utt.text, voice=utt.voice, language=utt.language, rate=utt.rate,
                               pitch=utt.pitch, prompt=prompt, level=lvl, amplitude=round(amp, 4),
                               phonemes=[[p, round(s, 4), round(e, 4)] for p, s, e in utt.phonemes],
                               waveform=utt.waveform))
    meta = dict(character_id=character.char_id, category=character.category, kind=character.kind,
                group=job.group, fps=fps, frame_size=[framing.width, framing.height], crop_size=cfg.crop_size,
                sample_rate=SAMPLE_RATE, seconds=cfg.clip_seconds)
    first = clips[0]
    if bench or whole_frames:
        return dict(job=job, meta=meta, utterances=utterances, clips=clips, character=character)
    boxes = crop_boxes(first.mouth_xy, first.face_width, fps, cfg.region_jitter, rng,
                       disc_offset(rng, cfg.region_offset))
    crops = np.stack([np.stack([crop_region(frame, RegionBox(*box), cfg.crop_size)
                                for frame, box in zip(c.frames, boxes)]) for c in clips])
    mouth = (first.mouth_xy - (boxes[:, :2] - boxes[:, 2:3] / 2)) / boxes[:, 2:3]
    return dict(job=job, meta=meta, utterances=utterances, crops=crops, mouth=mouth.astype(np.float32),
                audio=np.stack([u["waveform"] for u in utterances]),
                visemes=np.stack([c.mouth_shapes for c in clips]), boxes=boxes)


def write_mp4(path: str | Path, frames: np.ndarray, fps: float, audio: np.ndarray | None = None,
              crf: int = 12) -> None:
    """H.264 (+ AAC at 16 kHz) mp4 from (F, H, W, 3) uint8 RGB; crf 12 keeps ground truth near-lossless."""
    height, width = frames.shape[1:3]
    with VideoWriter(path, width, height, Fraction(fps).limit_denominator(1001), audio, crf=crf) as writer:
        for frame in frames:
            writer.write(frame)


def write_bench_clip(out_dir: Path, result: dict) -> dict:
    job, meta, utts, (src, tgt) = result["job"], result["meta"], result["utterances"], result["clips"]
    folder = out_dir / "bench" / job.key
    folder.mkdir(parents=True, exist_ok=True)
    write_mp4(folder / "source.mp4", src.frames, meta["fps"], utts[0]["waveform"])
    write_mp4(folder / "target.mp4", tgt.frames, meta["fps"], utts[1]["waveform"])
    sf.write(folder / "speech.wav", utts[1]["waveform"], SAMPLE_RATE, subtype="FLOAT")
    strip = [{k: v for k, v in u.items() if k != "waveform"} for u in utts]
    scale = src.face_width / result["character"].face_width  # frame px per canvas px
    mouth_w, mouth_h = result["character"].mouth_size
    others = {} if src.others is None else dict(others=np.round(src.others, 3).tolist())
    return dict(id=job.key, dir=job.key, source="source.mp4", target="target.mp4", speech="speech.wav",
                **meta, frames=int(src.frames.shape[0]), source_utterance=strip[0], target_utterance=strip[1],
                prompt=strip[1]["prompt"],
                mouth_xy=np.round(src.mouth_xy, 3).tolist(), face_width=np.round(src.face_width, 3).tolist(),
                mouth_size=np.round(np.stack([scale * mouth_w, scale * mouth_h], 1), 3).tolist(), **others)


def _run(job: ClipJob) -> dict:
    return make_clip(job)


def build_corpus(out_dir: str | Path, config: CorpusConfig = CorpusConfig(),
                 progress: Callable[[int, int], None] | None = None) -> dict:
    """Build training shards and the benchmark split into `out_dir`; returns the index dict.

    `progress(done, total)` is called after each clip. The folder must not hold a corpus yet.
    """
    config.validate()
    out_dir = Path(out_dir)
    if (out_dir / "index.json").exists():
        raise OutputError(f"{out_dir} already holds a corpus; pick an empty folder or delete it")
    jobs = clip_jobs(config)
    writer = ShardWriter(out_dir, config.clips_per_shard, config=asdict(config))
    bench_entries = []

    def consume(results):
        for done, result in enumerate(results, 1):
            if result["job"].split == BENCH:
                bench_entries.append(write_bench_clip(out_dir, result))
            else:
                utts = [{k: v for k, v in u.items() if k != "waveform"} for u in result["utterances"]]
                writer.add(result["job"].key, dict(result["meta"], utterances=utts), result["crops"],
                           result["mouth"], result["audio"], result["visemes"], result["boxes"])
            if progress is not None:
                progress(done, len(jobs))

    if config.workers == 1:
        consume(map(_run, jobs))
    else:
        # spawn: workers must not inherit a parent's threads (torch, OpenMP) through fork
        with multiprocessing.get_context("spawn").Pool(config.workers) as pool:
            consume(pool.imap(_run, jobs, chunksize=1))
    if bench_entries:
        manifest = {"format": "omnisync-bench", "version": 2, "seed": config.seed,
                    "sample_rate": SAMPLE_RATE, "clips": bench_entries}
        (out_dir / "bench" / "manifest.json").write_text(json.dumps(manifest, ensure_ascii=False))
    return writer.close(extra={"bench_clips": len(bench_entries),
                               "bench_manifest": "bench/manifest.json" if bench_entries else None})
