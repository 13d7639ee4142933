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

The calibration therefore compares not the rays but the directions, from the rig centre, of
the points they meet in a scene of **a plane below the camera, the rest at infinity** (whatever
is far enough for the lenses to agree; a uniform parallax of a scene at one distance all
around the ring is indistinguishable from a slightly different focal and is absorbed there).
Only the ratio of the baseline to the plane's distance can be seen, so the plane is held as
``s = b / g`` (radians of parallax straight down) and its unit normal ``n`` (pointing down, in
the front lens's frame), from ``(tx, tz)``: ``n = (tx, 1, tz) / |(tx, 1, tz)|`` (the frame's
``+y``, image down, when the camera is held upright). Lengths below are in baselines.
"""

from __future__ import annotations

import numpy as np

__all__ = ["LENS_CENTRES", "down_normal", "ground_info", "scene_directions"]

#: Optical centres of the front and the back lens, in baselines, in the front lens's frame.
LENS_CENTRES = np.array([[0.0, 0.0, 0.5], [0.0, 0.0, -0.5]])


def down_normal(tx: float, tz: float) -> np.ndarray:
    """The ground's unit normal (pointing down) from its tilt parameters (see the module)."""
    n = np.array([tx, 1.0, tz], dtype=np.float64)
    return n / np.linalg.norm(n)


def scene_directions(centre: np.ndarray, rays: np.ndarray, parallax_rad: float,
                     normal: np.ndarray) -> np.ndarray:
    """Rig-centre directions (N, 3) of the scene points that ``rays`` (N, 3, unit) from
    ``centre`` (3,) meet: the plane ``n . X = 1 / parallax_rad`` where they go down to it, the
    ray's own direction (infinity) elsewhere.

    With ``parallax_rad = 0`` (no plane) the rays come back unchanged.

    Examples
    --------
    >>> import numpy as np
    >>> down = np.array([[0.0, 1.0, 0.0]])
    >>> d = scene_directions(LENS_CENTRES[0], down, 0.016, down_normal(0.0, 0.0))
    >>> bool(abs(np.degrees(np.arctan2(d[0, 2], d[0, 1])) - 0.458) < 0.01)
    True
    """
    rays = np.asarray(rays, dtype=np.float64)
    if parallax_rad <= 0.0:
        return rays
    c = np.asarray(centre, dtype=np.float64)
    nd = rays @ normal
    # X = c + t d with n.X = g; scaled by s = 1/g: s X = s c + (1 - s n.c) / (n.d) d, which
    # tends to the ray's own direction as the hit recedes to the horizon (n.d -> 0+).
    down = nd > 1e-9
    t = np.where(down, (1.0 - parallax_rad * float(c @ normal)) / np.where(down, nd, 1.0), 0.0)
    X = np.where(down[:, None], parallax_rad * c[None, :] + t[:, None] * rays, rays)
    return X / np.linalg.norm(X, axis=1, keepdims=True)


def ground_info(ground) -> dict | None:
    """A solved ground ``(s, tx, tz)`` as a report: parallax straight down (degrees; 2.4 cm
    seen from 1.5 m is about 0.9) and the unit normal pointing down, front lens frame."""
    if ground is None:
        return None
    s, tx, tz = (float(v) for v in ground)
    return {"parallax_deg": float(np.degrees(s)),
            "down": [round(float(v), 4) for v in down_normal(tx, tz)]}
