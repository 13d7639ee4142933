"""The ground below a dual-fisheye camera, as its ring calibration sees it.

The two lenses of a 360 camera sit a baseline ``b`` of a few centimetres apart along their
axes (lens 0 at ``+b/2 z``, lens 1 at ``-b/2 z``). A far scene point lies in almost the same
direction from both; a point on the ground, which a handheld or pole-mounted camera has a metre
or two below it all along the lower half of the overlap ring, does not: the two lenses see it up
to ``b / g`` radians apart (``g``: the ground's distance), 0.9 degrees for 2.4 cm at 1.5 m. A
calibration that takes the whole ring to be at infinity explains that difference as well as it
can with the lenses' own parameters: a tilt of the back lens and shifted centres, which are
then wrong by a few tenths of a degree everywhere else on the ring - in the sky, where there is
no texture for the seam warps to put it right.

The calibration therefore adds to each ray the parallax the ground gives it in a scene of
**a plane below the camera and, everywhere else, the far scene at one distance** (a sphere round
the rig centre), beyond the parallax of that far scene itself: a uniform parallax all around the
ring is indistinguishable from a slightly different focal and is absorbed there, which is what
a stitch drawn at infinity needs to match the far scene; the ground's parallax is then seen
from that far scene's, which is why the far distance matters (between the ground's horizon and
the far scene, rays that go down meet the far scene first). Only ratios to the baseline can be
seen, so the plane is held as ``s = b / g`` (radians of parallax straight down), the far scene
as ``r = b / D``, and the plane's unit normal ``n`` (pointing down, in the front lens's frame)
by ``(tx, tz)``: ``n = (tx, 1, tz) / |(tx, 1, tz)|`` (the frame's ``+y``, image down, when the
camera is held upright). Lengths below are in baselines.
"""

from __future__ import annotations

import math

import numpy as np

from sensors.errors import InputError

__all__ = ["GROUND_KEY", "LENS_CENTRES", "down_normal", "ground_entry", "ground_info",
           "ground_parallax", "lens_rays", "read_ground_entry", "scene_directions"]

#: A rig file's entry for the ground a calibration found (docs/formats.md "Dual-fisheye rig").
GROUND_KEY = "dual_fisheye_ground"

#: Optical centres of the front and the back lens, in baselines, in the front lens's frame.
LENS_CENTRES = np.array([[0.0, 0.0, 0.5], [0.0, 0.0, -0.5]])


def down_normal(tx: float, tz: float) -> np.ndarray:
    """The ground's unit normal (pointing down) from its tilt parameters (see the module)."""
    n = np.array([tx, 1.0, tz], dtype=np.float64)
    return n / np.linalg.norm(n)


def scene_directions(centre: np.ndarray, rays: np.ndarray, parallax_rad: float,
                     normal: np.ndarray, far_rad: float = 0.0) -> np.ndarray:
    """Rig-centre directions (N, 3) of the scene points that ``rays`` (N, 3, unit) from
    ``centre`` (3,) meet first: the plane ``n . X = 1 / parallax_rad`` or the sphere
    ``|X| = 1 / far_rad`` round the rig centre (lengths in baselines; 0: not there, i.e. at
    infinity).

    With both 0 the rays come back unchanged.

    Examples
    --------
    >>> import numpy as np
    >>> down = np.array([[0.0, 1.0, 0.0]])
    >>> d = scene_directions(LENS_CENTRES[0], down, 0.016, down_normal(0.0, 0.0))
    >>> bool(abs(np.degrees(np.arctan2(d[0, 2], d[0, 1])) - 0.458) < 0.01)
    True
    """
    rays = np.asarray(rays, dtype=np.float64)
    if parallax_rad <= 0.0 and far_rad <= 0.0:
        return rays
    c = np.asarray(centre, dtype=np.float64)
    # Points scaled by the inverse distance of what they hit, so that a surface at infinity
    # (0) needs no special case: the sphere's r X = r c + u d with |r X| = 1, the plane's
    # s X = s c + v d with v = (1 - s n.c) / (n.d); v tends to infinity, and the direction to
    # the ray's own, as the plane's hit recedes to the horizon (n.d -> 0+).
    cd = rays @ c
    u = -far_rad * cd + np.sqrt((far_rad * cd) ** 2 - far_rad ** 2 * float(c @ c) + 1.0)
    X = far_rad * c[None, :] + u[:, None] * rays
    if parallax_rad > 0.0:
        nd = rays @ normal
        down = nd > 1e-9
        v = np.where(down, (1.0 - parallax_rad * float(c @ normal)) / np.where(down, nd, 1.0),
                     0.0)
        # the plane comes first where its distance v / s is below the sphere's u / r
        first = down & (v * far_rad < u * parallax_rad)
        X = np.where(first[:, None], parallax_rad * c[None, :] + v[:, None] * rays, X)
    return X / np.linalg.norm(X, axis=1, keepdims=True)


def ground_parallax(centre: np.ndarray, rays: np.ndarray, ground) -> np.ndarray:
    """What the ground adds (N, 3) to the directions of ``rays`` from ``centre`` beyond the
    far scene's own parallax, for a ground ``(s, tx, tz, r)`` (see the module docstring)."""
    s, tx, tz, r = (float(v) for v in ground)
    n = down_normal(tx, tz)
    return (scene_directions(centre, rays, s, n, r)
            - scene_directions(centre, rays, 0.0, n, r))


def lens_rays(lens: int, rig_dirs: np.ndarray, ground, iterations: int = 3) -> np.ndarray:
    """Rays (N, 3) of lens ``lens`` (rig frame, as the calibration draws them) that see the
    scene point the rig centre sees along ``rig_dirs`` (N, 3, unit): the inverse of adding
    :func:`ground_parallax`, by fixed-point iteration (the parallax is a degree at most and
    varies slowly, so each round gains a factor of about a hundred).

    Examples
    --------
    >>> import numpy as np
    >>> g = (0.016, 0.0, 0.0, 0.006)
    >>> u = np.array([[0.0, 0.8, 0.6]])
    >>> v = lens_rays(0, u, g)
    >>> bool(np.allclose(v + ground_parallax(LENS_CENTRES[0], v, g), u, atol=1e-9))
    True
    """
    u = np.asarray(rig_dirs, dtype=np.float64)
    if ground is None or float(ground[0]) <= 0.0:
        return u
    v = u
    for _ in range(iterations):
        v = u - ground_parallax(LENS_CENTRES[lens], v, ground)
    return v / np.linalg.norm(v, axis=1, keepdims=True)


def ground_info(ground) -> dict | None:
    """A solved ground ``(s, tx, tz, r)`` as a report: parallax straight down and of the far
    scene (degrees; 2.4 cm seen from 1.5 m is about 0.9) and the unit normal pointing down,
    front lens frame."""
    if ground is None:
        return None
    s, tx, tz, r = (float(v) for v in ground)
    return {"parallax_deg": float(np.degrees(s)), "far_parallax_deg": float(np.degrees(r)),
            "down": [round(float(v), 4) for v in down_normal(tx, tz)]}


def ground_entry(ground) -> dict:
    """The rig file's top-level entries for a ground ``(s, tx, tz, r)`` (none for None)."""
    if ground is None:
        return {}
    s, tx, tz, r = (float(v) for v in ground)
    return {GROUND_KEY: {"parallax_rad": s, "tilt": [tx, tz], "far_parallax_rad": r}}


def read_ground_entry(doc, source: str | None = None
                      ) -> tuple[float, float, float, float] | None:
    """The ground ``(s, tx, tz, r)`` of a parsed rig file (None when it has none).

    Raises
    ------
    InputError
        A malformed entry.
    """
    g = doc.get(GROUND_KEY) if isinstance(doc, dict) else None
    if g is None:
        return None
    try:
        vals = (float(g["parallax_rad"]), float(g["tilt"][0]), float(g["tilt"][1]),
                float(g["far_parallax_rad"]))
    except (TypeError, KeyError, IndexError, ValueError):
        raise InputError(f"'{GROUND_KEY}' must hold parallax_rad, tilt [tx, tz] and "
                         "far_parallax_rad", source) from None
    if not all(math.isfinite(v) for v in vals) or not 0 <= vals[0] < 1 or not 0 <= vals[3] < 1:
        raise InputError(f"'{GROUND_KEY}' holds values out of range", source)
    return vals
