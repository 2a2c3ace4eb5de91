"""Opening media files for reading, with every FFmpeg failure turned into a one-line error."""

from __future__ import annotations

from pathlib import Path

import av

from omnisync_cli.errors import InputError


def open_input(path: str | Path) -> av.container.InputContainer:
    """Open any media file with PyAV, turning every failure into a one-line `InputError`."""
    path = Path(path)
    if not path.exists():
        raise InputError(f"{path}: file not found; check the path")
    if path.is_dir():
        raise InputError(f"{path}: is a directory; give a media file")
    try:
        # Tags are not needed for a dub: undecodable bytes in them (a damaged or oddly
        # encoded title) must not make the file unreadable.
        # The absolute path: FFmpeg reads a relative name with a colon ("10:30 take.mp4") as a
        # protocol ("10:") and the file as unreadable.
        return av.open(str(path.absolute()), mode="r", metadata_errors="replace")
    except av.error.FFmpegError as exc:
        reason = exc.strerror or type(exc).__name__
        raise InputError(
            f"{path}: cannot be read as media ({reason}); the file is damaged, truncated or not "
            "audio/video; re-export it"
        ) from exc


def pictures(container: av.container.InputContainer) -> list:
    """The file's real video streams: not cover art (an attached picture in an audio file)."""
    return [s for s in container.streams.video if not s.disposition & av.stream.Disposition.attached_pic]


def played_video(container: av.container.InputContainer):
    """The video stream a player shows: of `pictures`, the one marked default, else the first
    (None where there is none), as media.audio.played_track picks the sound (a user tour: an MKV
    whose first video track was a test card, the speaker's marked default, was dubbed as the card)."""
    found = pictures(container)
    return next((s for s in found if s.disposition & av.stream.Disposition.default), found[0] if found else None)
