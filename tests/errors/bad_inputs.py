"""A folder of bad (and a few good) inputs for the failure catalogue, each a few kilobytes.

`make_inputs(folder)` writes every file the catalogue names; the good ones (`in.mp4`,
`speech.wav`) are what each bad case changes one thing of.
"""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np

from omnisync_cli.media.writer import VideoWriter
from tests.media.clips import (pattern, tone, truncate, write_audio, write_clip, write_garbage,
                               write_zero_frame_video)

NON_UTF8 = os.fsdecode(b"caf\xe9-latin1.mp4")  # a Latin-1 name: not valid UTF-8


def write_png_clip(path: Path, width: int, height: int) -> None:
    """A lossless PNG-in-MOV clip: any size, odd ones included (H.264 needs even sizes)."""
    write_clip(path, n_frames=3, width=width, height=height, codec="png", pix_fmt="rgb24")


def write_faststart_clip(path: Path, frames: int = 100) -> None:
    """An MP4 with its index in front, as our own writer and most web exports make them."""
    with VideoWriter(path, 64, 48, 25) as writer:
        for i in range(frames):
            writer.write(pattern(i, 64, 48))


def cut_inside_first_picture(path: Path) -> None:
    """Keep a faststart MP4's index and only the first bytes of its media data (a fraction of
    the size depends on how the encoder spread the bits over the pictures)."""
    data = path.read_bytes()
    path.write_bytes(data[:data.index(b"mdat") + 4 + 32])


def make_inputs(folder: Path) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    write_clip(folder / "in.mp4", n_frames=10, width=64, height=48)
    write_audio(folder / "speech.wav", tone(0.6, 16000), 16000)
    (folder / "a folder.mp4").mkdir()
    (folder / "empty.mp4").write_bytes(b"")
    (folder / "empty.wav").write_bytes(b"")
    write_garbage(folder / "garbage.mp4")
    write_garbage(folder / "garbage.wav")
    header = bytearray((folder / "in.mp4").read_bytes())
    header[:64] = bytes(64)  # the ftyp box and the start of the next one zeroed
    (folder / "bad-header.mp4").write_bytes(bytes(header))
    for name in ("trunc.mp4", "trunc.mov"):  # index at the end: cut off with the tail
        write_clip(folder / name, n_frames=30)
        truncate(folder / name, 0.6)
    write_faststart_clip(folder / "trunc-faststart.mp4")
    cut_inside_first_picture(folder / "trunc-faststart.mp4")  # the index and no whole picture
    write_clip(folder / "trunc.mkv", n_frames=30)
    truncate(folder / "trunc.mkv", 0.01)
    write_audio(folder / "long.wav", tone(2.0, 16000), 16000)
    (folder / "trunc.wav").write_bytes((folder / "long.wav").read_bytes()[:20000])
    write_audio(folder / "trunc.flac", tone(2.0, 16000), 16000)
    truncate(folder / "trunc.flac", 0.3)
    write_audio(folder / "trunc.m4a", tone(2.0, 16000), 16000)
    truncate(folder / "trunc.m4a", 0.3)
    write_audio(folder / "no-samples.wav", np.zeros(0, np.float32), 16000)
    write_audio(folder / "silent.wav", np.zeros(16000, np.float32), 16000)
    write_zero_frame_video(folder / "no-frames.mkv")
    (folder / "huge.y4m").write_bytes(b"YUV4MPEG2 W16400 H200 F25:1 Ip A1:1 C420jpeg\nFRAME\n" + bytes(4096))
    write_png_clip(folder / "one-pixel.mov", 1, 1)
    write_png_clip(folder / "tiny.mov", 7, 5)
    (folder / "a file").write_bytes(b"not a folder")
    (folder / NON_UTF8).write_bytes((folder / "garbage.mp4").read_bytes())
    weights = folder / "bad-weights"
    weights.mkdir()
    (weights / "config.json").write_text('{"format": "omnisync-dit"')  # cut off mid-file
    videos = folder / "videos"
    videos.mkdir()
    write_clip(videos / "a.mp4", n_frames=4, width=64, height=48)
    (folder / "no-videos").mkdir()
    (folder / "escape.csv").write_text("video,audio,output\nvideos/a.mp4,speech.wav,../../escaped.mp4\n")
    (folder / "unknown.json").write_text('[{"video": "videos/a.mp4", "speed": 2}]')
    (folder / "c.compare.mp4").write_bytes((folder / "in.mp4").read_bytes())  # where -o c.mp4 --compare writes
    (folder / "notes.txt").write_text("a user's notes, not a plan")
    (folder / "shipped").mkdir()  # a model folder, not a training run's
    (folder / "shipped" / "model.safetensors").write_bytes(b"weights")
    return folder
