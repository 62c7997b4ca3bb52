"""Streaming video decoding with PyAV: one RGB frame at a time, stream timestamps, rotation.

Memory does not grow with video length. Timestamps come from each frame's presentation time
(variable frame rate safe), shifted so that the first frame is at 0 s. The display-matrix
rotation of phone videos is applied so that faces are upright.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import av
import numpy as np

VIDEO_EXTENSIONS = (".mp4", ".mov", ".avi", ".mkv", ".webm", ".m4v", ".mpg", ".mpeg", ".wmv")


class DecodeError(Exception):
    """The file cannot be opened or decoded as a video."""


@dataclass(frozen=True)
class VideoInfo:
    """What the container declares about its first video stream."""

    width: int
    height: int
    fps: float | None
    declared_frames: int | None
    duration: float | None
    codec: str


def _one_line(exc: BaseException) -> str:
    text = str(exc).strip().splitlines()
    return f"{type(exc).__name__}: {text[0]}" if text else type(exc).__name__


def open_video(path: str | Path) -> tuple[av.container.InputContainer, VideoInfo]:
    """Open ``path`` and describe its first video stream; raise :class:`DecodeError`."""
    p = Path(path)
    if p.stat().st_size == 0:
        raise DecodeError("file is empty (0 bytes)")
    try:
        container = av.open(str(p), mode="r")
    except (av.FFmpegError, OSError, ValueError) as exc:
        raise DecodeError(f"cannot open as video: {_one_line(exc)}") from None
    if not container.streams.video:
        container.close()
        raise DecodeError("no video stream in file")
    stream = container.streams.video[0]
    rate = stream.average_rate or stream.guessed_rate
    duration = None
    if stream.duration is not None and stream.time_base is not None:
        duration = float(stream.duration * stream.time_base)
    elif container.duration is not None:
        duration = container.duration / 1_000_000
    info = VideoInfo(
        width=int(stream.codec_context.width),
        height=int(stream.codec_context.height),
        fps=float(rate) if rate else None,
        declared_frames=int(stream.frames) or None,
        duration=duration,
        codec=stream.codec_context.name,
    )
    return container, info


def upright(rgb: np.ndarray, rotation: int) -> np.ndarray:
    """Apply a display rotation (degrees counter-clockwise, multiples of 90) to a frame."""
    k = int(round(rotation / 90.0)) % 4
    return np.rot90(rgb, k=k) if k else rgb


def iter_frames(
    container: av.container.InputContainer, sample_fps: float | None = None
) -> Iterator[tuple[int, float, np.ndarray | None]]:
    """Yield ``(index, timestamp_s, rgb)`` for every decoded frame, rgb C-contiguous uint8.

    With ``sample_fps`` only about that many frames per second of presentation time get
    their image (the first frame of each 1/``sample_fps`` s interval, so variable frame rate
    is safe); the others are still yielded, with ``rgb`` ``None``, so that indices and the
    decoded count stay those of the stream. Raises :class:`DecodeError` when the stream
    breaks off with a decoding error.
    """
    stream = container.streams.video[0]
    stream.thread_type = "AUTO"
    fallback_step = 1.0 / float(stream.average_rate) if stream.average_rate else 1.0 / 30.0
    t0: float | None = None
    last = -np.inf
    last_slot = -1
    index = 0
    try:
        for frame in container.decode(stream):
            t = frame.time
            if t is None:
                t = (last + fallback_step) if np.isfinite(last) else 0.0
            else:
                t = float(t)
                if t0 is None:
                    t0 = t
                t -= t0
            if t <= last:  # repeated or reordered pts: keep time increasing
                t = last + 1e-3
            last = t
            if sample_fps is not None:
                slot = int(np.floor(t * sample_fps + 1e-6))
                if slot <= last_slot:
                    yield index, t, None
                    index += 1
                    continue
                last_slot = slot
            rgb = frame.to_ndarray(format="rgb24")
            rotation = frame.rotation
            if rotation:
                rgb = upright(rgb, rotation)
            yield index, t, np.ascontiguousarray(rgb)
            index += 1
    except (av.FFmpegError, ValueError) as exc:
        raise DecodeError(f"decoding stopped after {index} frames: {_one_line(exc)}") from None
