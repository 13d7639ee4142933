"""The images of a stitch: files in rig order, read and checked, or arrays checked.

Every image reaches the pipeline as a C-contiguous (h, w, 3) uint8 BGR array (OpenCV's layout)
whose size equals its camera's. Files and arrays are held to the same rules: 8-bit or 16-bit
samples (16-bit scaled to 8), grey or BGRA turned into BGR.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from pathlib import Path

import cv2
import numpy as np

from sensors.errors import InputError

from .rig import Rig, RigCamera

__all__ = ["READABLE_SUFFIXES", "resolve_images", "load_images", "check_images"]

#: Image files a folder of captures may hold (matched by camera id).
READABLE_SUFFIXES = (".jpg", ".jpeg", ".png", ".tif", ".tiff", ".bmp", ".webp")


def resolve_images(rig: Rig, images: Sequence[str | os.PathLike]) -> list[Path]:
    """Image paths in rig order: the given files, or a single folder's files named by camera id.

    Raises
    ------
    InputError
        Count mismatch, missing files, or a folder lacking (or doubling) a camera's image.
    """
    paths = [Path(p) for p in images]
    if len(paths) == 1 and paths[0].is_dir():
        folder = paths[0]
        files = [p for p in folder.iterdir()
                 if p.suffix.lower() in READABLE_SUFFIXES and p.is_file()]
        out, missing = [], []
        for cid in rig.ids:
            hits = [p for p in files if p.stem == cid] or [
                p for p in files if p.stem.lower() == cid.lower()]
            if len(hits) > 1:
                raise InputError(f"several images for camera {cid}: "
                                 + ", ".join(sorted(p.name for p in hits)), str(folder))
            if not hits:
                missing.append(cid)
            else:
                out.append(hits[0])
        if missing:
            raise InputError(f"no image named after camera(s) {', '.join(missing)} "
                             f"(expected e.g. {missing[0]}.jpg)", str(folder))
        return out
    _check_count(rig, len(paths), "(give one image per camera in rig order, or one folder)")
    for p in paths:
        if not p.exists():
            raise InputError("image does not exist", str(p))
        if p.is_dir():
            raise InputError("expected an image file, got a folder", str(p))
    return paths


def _check_count(rig: Rig, n: int, hint: str) -> None:
    if n != len(rig):
        raise InputError(f"the rig has {len(rig)} cameras but {n} images were given {hint}",
                         rig.source)


def _to_bgr8(img: np.ndarray, what: str, path: str | None) -> np.ndarray:
    """8-bit BGR of an 8/16-bit grey, BGR or BGRA image (``what`` names it in errors)."""
    if img.dtype == np.uint16:
        img = (img.astype(np.float32) / 257.0 + 0.5).astype(np.uint8)
    elif img.dtype != np.uint8:
        raise InputError(f"{what}unsupported image sample type {img.dtype} (expected uint8 or "
                         "uint16)", path)
    if img.ndim == 2:
        img = cv2.cvtColor(img, cv2.COLOR_GRAY2BGR)
    elif img.ndim == 3 and img.shape[2] == 4:
        img = cv2.cvtColor(img, cv2.COLOR_BGRA2BGR)
    elif img.ndim != 3 or img.shape[2] != 3:
        raise InputError(f"{what}expected an HxWx3 BGR image (or grey HxW, or HxWx4 BGRA), got "
                         f"shape {img.shape}", path)
    return np.ascontiguousarray(img)


def _check_size(cam: RigCamera, img: np.ndarray, what: str, path: str | None) -> None:
    w, h = cam.size
    if img.shape[:2] != (h, w):
        raise InputError(f"{what}image is {img.shape[1]}x{img.shape[0]} but camera {cam.id} in "
                         f"the rig is {w}x{h}", path)


def load_images(rig: Rig, paths: Sequence[Path]) -> list[np.ndarray]:
    """Read images as BGR uint8 and check each against its camera's size."""
    out = []
    for cam, p in zip(rig, paths, strict=True):
        img = cv2.imread(str(p), cv2.IMREAD_UNCHANGED)
        if img is None or img.size == 0:
            raise InputError("cannot read image (not an image, or truncated)", str(p))
        img = _to_bgr8(img, "", str(p))
        _check_size(cam, img, "", str(p))
        out.append(img)
    return out


def check_images(rig: Rig, images: Sequence[np.ndarray]) -> list[np.ndarray]:
    """Check images given as arrays, one per camera in rig order; return them as BGR uint8.

    Arrays already C-contiguous uint8 BGR are passed through without a copy.

    Raises
    ------
    InputError
        A count that is not the rig's, something that is not an array, an unsupported sample
        type or layout, or a size that is not the camera's (naming ``images[k]`` and camera).
    """
    if isinstance(images, np.ndarray) and images.ndim < 3:
        raise InputError(f"expected a list of {len(rig)} images, got one array of shape "
                         f"{images.shape}", rig.source)
    try:
        n = len(images)
    except TypeError:
        raise InputError(f"expected a list of {len(rig)} images, got "
                         f"{type(images).__name__}", rig.source) from None
    _check_count(rig, n, "(one array per camera, in rig order)")
    out = []
    for k, (cam, img) in enumerate(zip(rig, images, strict=True)):
        what = f"images[{k}] (camera {cam.id}): "
        if not isinstance(img, np.ndarray):
            raise InputError(f"{what}expected a numpy array, got {type(img).__name__}")
        img = _to_bgr8(img, what, None)
        _check_size(cam, img, what, None)
        out.append(img)
    return out
