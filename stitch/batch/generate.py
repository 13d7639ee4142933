"""Generated batches: rosettes with exact truth and a manifest to stitch them (tests, benches)."""

from __future__ import annotations

import json
import os
from pathlib import Path

from sensors.atomic import atomic_output
from sensors.errors import InputError

from ..params import StitchParams
from .manifest import params_from

__all__ = ["generate_batch"]


def generate_batch(out_dir: str | os.PathLike, n_jobs: int, *, n_cameras: int = 8,
                   width: int = 960, height: int = 720, hfov_deg: float = 80.0, seed: int = 0,
                   image_format: str = "png", **stitch_options) -> Path:
    """Write ``n_jobs`` generated rosettes and a JSONL manifest stitching each of them.

    Rosette ``k`` is :func:`stitch.synthetic.generate_rosette` with seed ``seed + k`` in
    ``<out_dir>/captures/job{k:02d}/``; its panorama goes to ``<out_dir>/panoramas/job{k:02d}.jpg``.
    Paths in the manifest are relative to ``out_dir``.

    Parameters
    ----------
    out_dir : path
        Folder to write into (created).
    n_jobs : int
        Number of rosettes / manifest lines (>= 1).
    n_cameras, width, height, hfov_deg, image_format
        Passed to :func:`stitch.synthetic.generate_rosette`.
    seed : int
        Seed of the first rosette.
    **stitch_options
        StitchParams fields written on every line (e.g. ``width_px=768``).

    Returns
    -------
    Path
        ``<out_dir>/manifest.jsonl``.
    """
    from ..synthetic import generate_rosette

    if n_jobs < 1:
        raise InputError(f"n_jobs must be >= 1, got {n_jobs}")
    params_from(stitch_options, StitchParams(), "generate_batch")  # fail before rendering
    out = Path(out_dir)
    lines = []
    for k in range(n_jobs):
        name = f"job{k:02d}"
        cap = out / "captures" / name
        generate_rosette(cap, n_cameras=n_cameras, width=width, height=height,
                         hfov_deg=hfov_deg, seed=seed + k, image_format=image_format)
        lines.append({"id": name, "rig": f"captures/{name}/camera_rig.json",
                      "images_dir": f"captures/{name}", "output": f"panoramas/{name}.jpg",
                      **stitch_options})
    manifest = out / "manifest.jsonl"
    with atomic_output(manifest) as tmp:
        Path(tmp).write_text("".join(json.dumps(line) + "\n" for line in lines))
    return manifest
