"""Picture-quality metrics of a dub against its ground truth: pure functions on uint8 frames.

Frames are (H, W, 3) uint8 RGB (stacks of them (F, H, W, 3)), as everywhere outside the
model. A clip's PSNR is that of its pooled MSE over all frames, not the mean of per-frame
PSNRs: in the benchmark, frames where source and ground truth show the same closed mouth
(silences) match exactly, and their infinite (or capped) per-frame PSNR would swamp the
mean. SSIM is bounded, so its clip value is the mean over frames.
"""

import math

import cv2
import numpy as np

from omnisync_cli.face.paste import paste_bounds
from omnisync_cli.face.region import RegionBox, crop_region

PEAK = 255.0
# An exact match counts as 100 dB, so that results stay finite (and JSON-able): far above
# any codec (crf 10 gives ~45-48 dB).
PSNR_CAP_DB = 100.0
# Side of the mouth crops the mouth metrics compare: the corpus's crop size, larger than the
# model's 64 px region so that the model's own resampling counts against it.
MOUTH_CROP = 96
# Wang et al. (2004) SSIM constants: 11x11 Gaussian window of sigma 1.5, K1 = 0.01, K2 = 0.03.
SSIM_WINDOW, SSIM_SIGMA, SSIM_K1, SSIM_K2 = 11, 1.5, 0.01, 0.03


def mse(a: np.ndarray, b: np.ndarray) -> float:
    """Mean squared difference over every value of two same-shape arrays."""
    if a.shape != b.shape:
        raise ValueError(f"shapes differ: {a.shape} vs {b.shape}")
    return float(np.mean((a.astype(np.float64) - b.astype(np.float64)) ** 2))


def psnr_from_mse(error: float, peak: float = PEAK) -> float:
    """10 log10(peak^2 / MSE) in dB; infinite for MSE 0."""
    return math.inf if error == 0 else 10.0 * math.log10(peak ** 2 / error)


def psnr(a: np.ndarray, b: np.ndarray, peak: float = PEAK) -> float:
    """Peak signal-to-noise ratio of `a` against `b` in dB (infinite when identical)."""
    return psnr_from_mse(mse(a, b), peak)


def ssim(a: np.ndarray, b: np.ndarray, peak: float = PEAK) -> float:
    """Structural similarity (Wang et al. 2004, Eq. 13) of two images, (H, W) or (H, W, C).

    Local means, variances and covariance under an 11x11 Gaussian window (sigma 1.5), kept
    only where the window lies wholly inside the image (the reference `ssim_index.m`'s
    'valid' filtering), averaged over the image and then over the channels. 1 for
    identical images. Needs H and W of at least 11.
    """
    if a.shape != b.shape:
        raise ValueError(f"shapes differ: {a.shape} vs {b.shape}")
    if min(a.shape[:2]) < SSIM_WINDOW:
        raise ValueError(f"SSIM needs images of at least {SSIM_WINDOW}x{SSIM_WINDOW}, got {a.shape[:2]}")
    x, y = a.astype(np.float64), b.astype(np.float64)
    c1, c2 = (SSIM_K1 * peak) ** 2, (SSIM_K2 * peak) ** 2
    r = SSIM_WINDOW // 2

    def local_mean(img: np.ndarray) -> np.ndarray:
        blurred = cv2.GaussianBlur(img, (SSIM_WINDOW, SSIM_WINDOW), SSIM_SIGMA)
        return blurred[r:-r, r:-r]  # drop the border where the window leaves the image

    mx, my = local_mean(x), local_mean(y)
    vx = local_mean(x * x) - mx * mx
    vy = local_mean(y * y) - my * my
    cov = local_mean(x * y) - mx * my
    index = ((2 * mx * my + c1) * (2 * cov + c2)) / ((mx * mx + my * my + c1) * (vx + vy + c2))
    return float(index.mean())


def clip_psnr(a: np.ndarray, b: np.ndarray, peak: float = PEAK) -> float:
    """PSNR of two frame stacks (F, ...) from their MSE over all frames, capped at PSNR_CAP_DB."""
    return min(psnr(a, b, peak), PSNR_CAP_DB)


def mean_ssim(a: np.ndarray, b: np.ndarray) -> float:
    """Mean over frames of the per-frame SSIM of stacks (F, H, W, C)."""
    return float(np.mean([ssim(x, y) for x, y in zip(a, b)]))


def mouth_boxes(mouth_xy: np.ndarray, face_width: np.ndarray) -> list[RegionBox]:
    """The ground-truth working region of every frame: `RegionBox.around_mouth` of the
    manifest's mouth centre (F, 2) and face width (F,), in frame pixels."""
    return [RegionBox.around_mouth(x, y, w) for (x, y), w in zip(np.asarray(mouth_xy), np.asarray(face_width))]


def crop_mouths(frames: np.ndarray, boxes: list[RegionBox], size: int = MOUTH_CROP) -> np.ndarray:
    """(F, size, size, 3) crops of each frame's box (the pipeline's own resampling rule)."""
    return np.stack([crop_region(frame, box, size) for frame, box in zip(frames, boxes)])


def editable_rect(box: RegionBox, width: int, height: int) -> tuple[int, int, int, int]:
    """(x0, y0, x1, y1), end-exclusive: every pixel a dub may change for a frame with `box`.

    `paste_bounds`, widened outward to even coordinates: the 4:2:0 chroma samples that
    `media.yuv.add_rgb_change` moves cover whole 2 x 2 blocks. Pixels outside it reach the encoder as
    decoded; all they may lose is the re-encode.
    """
    x0, y0, x1, y1 = paste_bounds(box, width, height)
    if x1 <= x0 or y1 <= y0:
        return 0, 0, 0, 0
    return (max(0, x0 // 2 * 2), max(0, y0 // 2 * 2),
            min(width, -(-x1 // 2) * 2), min(height, -(-y1 // 2) * 2))


def outside_mask(box: RegionBox, width: int, height: int) -> np.ndarray:
    """(H, W) bool: True for the pixels outside `editable_rect(box)`."""
    mask = np.ones((height, width), dtype=bool)
    x0, y0, x1, y1 = editable_rect(box, width, height)
    mask[y0:y1, x0:x1] = False
    return mask


def outside_change(output: np.ndarray, source: np.ndarray,
                   boxes: list[RegionBox]) -> tuple[float, float]:
    """Change a dub made outside its working region: (mean abs difference in 8-bit levels,
    PSNR in dB capped at PSNR_CAP_DB) over the pixels of every frame outside that frame's
    `editable_rect`, output (F, H, W, 3) against the source frames it was made from.

    The edit must not reach these pixels, so the only change allowed is the re-encode's:
    ~0 levels and ~45 dB or more at the writer's default quality. A working region that
    covers every frame whole (a close-up) leaves no pixel outside: (nan, nan), nothing to check.
    """
    height, width = source.shape[1:3]
    diffs = []
    for out_frame, src_frame, box in zip(output, source, boxes):
        mask = outside_mask(box, width, height)
        diffs.append(out_frame[mask].astype(np.float64) - src_frame[mask].astype(np.float64))
    d = np.concatenate(diffs)
    if d.size == 0:
        return math.nan, math.nan
    return float(np.abs(d).mean()), min(psnr_from_mse(float(np.mean(d ** 2))), PSNR_CAP_DB)


def temporal_activity(crops: np.ndarray) -> float:
    """Mean abs frame-to-frame difference of a crop stack (F, S, S, 3), in 8-bit levels."""
    if len(crops) < 2:
        return 0.0
    c = crops.astype(np.float64)
    return float(np.abs(c[1:] - c[:-1]).mean())


def flicker_ratio(output_crops: np.ndarray, target_crops: np.ndarray) -> float:
    """Temporal activity of the output's mouth crops over that of the ground truth's.

    Both crops follow the same ground-truth box, so head motion and real articulation are
    in both; what the output adds on top (segments sampled from independent noise, texture
    that shimmers from frame to frame) raises it above 1, a frozen mouth lowers it below.
    1 is the ground truth's own liveliness. A ratio, unlike a difference, reads the same for
    a whispering and a shouting clip.
    """
    reference = temporal_activity(target_crops)
    return temporal_activity(output_crops) / reference if reference > 0 else math.inf


def temporal_error(output_crops: np.ndarray, target_crops: np.ndarray) -> float:
    """Mean abs difference between the output's and the ground truth's frame-to-frame
    changes of the mouth crops, in 8-bit levels: 0 when the output moves exactly as the
    ground truth does. Complements `flicker_ratio`, which cannot tell motion in the wrong
    place or at the wrong time from the right motion of the same amount."""
    if len(output_crops) < 2:
        return 0.0
    o, t = output_crops.astype(np.float64), target_crops.astype(np.float64)
    return float(np.abs((o[1:] - o[:-1]) - (t[1:] - t[:-1])).mean())


def mouth_change(crops: np.ndarray, source_crops: np.ndarray) -> np.ndarray:
    """(F,) mean abs difference of each frame's mouth crop from the source's, 8-bit levels."""
    return np.abs(crops.astype(np.float64) - source_crops.astype(np.float64)).mean(axis=(1, 2, 3))


def change_correlation(output_crops: np.ndarray, target_crops: np.ndarray,
                       source_crops: np.ndarray) -> float:
    """Pearson r over frames between how much the output's mouth differs from the source's
    and how much the ground truth's does: 1 when the dub changes the mouth exactly in the
    frames where the new speech needs another mouth, ~0 for a dub that ignores the speech
    (the no-op changes nothing but codec noise). 0 when either series is constant."""
    out = mouth_change(output_crops, source_crops)
    truth = mouth_change(target_crops, source_crops)
    if len(out) < 2 or out.std() == 0 or truth.std() == 0:
        return 0.0
    return float(np.corrcoef(out, truth)[0, 1])


def edit_cosine(output_crops: np.ndarray, target_crops: np.ndarray, source_crops: np.ndarray) -> float:
    """Cosine, over every pixel of a clip's mouth crops, between the output's change from the
    source and the ground truth's: 1 = the edit is the change the new speech needs (at any
    strength), ~0 = unrelated to it (blur, a smeared mouth), < 0 = the wrong way. An edit with
    cosine r, scaled by the best factor, gains at most `best_scaled_gain(r)` dB of mouth PSNR
    over the no-op. 0 when either change is zero."""
    out = (output_crops.astype(np.float64) - source_crops).ravel()
    truth = (target_crops.astype(np.float64) - source_crops).ravel()
    norm = math.sqrt(float(out @ out) * float(truth @ truth))
    return float(out @ truth) / norm if norm > 0 else 0.0


def best_scaled_gain(cosine: float) -> float:
    """dB of mouth PSNR over the no-op that source + a x edit reaches at the best a, for an edit
    whose cosine with the needed change is `cosine`: -10 log10(1 - r^2), 0 for r <= 0 (the
    residual of projecting the needed change onto the edit). A +2 dB dub needs r >= 0.61."""
    r = max(0.0, min(cosine, 1.0))
    return math.inf if r == 1.0 else -10.0 * math.log10(1.0 - r * r)


# Per-pixel change vs the source below this many 8-bit levels is the re-encode, not an edit.
EDIT_NOISE = 6.0


def mouth_rects(mouth_xy: np.ndarray, mouth_size: np.ndarray) -> np.ndarray:
    """(F, 4) x0, y0, x1, y1 of the true mouth boxes from centres (F, 2) and sizes (F, 2)."""
    half = np.asarray(mouth_size, np.float64) / 2
    return np.concatenate([mouth_xy - half, mouth_xy + half], axis=1)


def grown_rect(rect, grow: float, width: int, height: int) -> tuple[int, int, int, int]:
    """Integer (x0, y0, x1, y1), end-exclusive, of `rect` grown by `grow` x its size (half on
    each side) and clipped to a width x height frame."""
    x0, y0, x1, y1 = rect
    gx, gy = grow * (x1 - x0) / 2, grow * (y1 - y0) / 2
    return (max(0, int(np.floor(x0 - gx))), max(0, int(np.floor(y0 - gy))),
            min(width, int(np.ceil(x1 + gx))), min(height, int(np.ceil(y1 + gy))))


def edit_share(output: np.ndarray, source: np.ndarray, rects: np.ndarray, grow: float = 0.5) -> float | None:
    """Share of the edit inside each frame's rect grown by `grow` x its size (None: no edit).

    The edit is the per-pixel change vs the source above EDIT_NOISE levels (max over the
    colour channels), weighted by how far above it is.
    """
    inside = total = 0.0
    for frame, src, rect in zip(output, source, rects):
        change = np.abs(frame.astype(np.int16) - src.astype(np.int16)).max(axis=2).astype(np.float32)
        weight = np.clip(change - EDIT_NOISE, 0, None)
        ix0, iy0, ix1, iy1 = grown_rect(rect, grow, weight.shape[1], weight.shape[0])
        total += float(weight.sum())
        if ix1 > ix0 and iy1 > iy0:
            inside += float(weight[iy0:iy1, ix0:ix1].sum())
    # Fewer edited levels than one clearly changed 4x4 patch per frame: nothing was edited.
    return None if total < 16 * 10.0 * len(rects) else inside / total
