"""Seam report: how well the layers agree in their overlaps, before and after the warps.

- **Correspondence residuals** (panorama px): before = ``|p_j - p_i|`` (the layers as
  projected); after = ``|q_i - q_j|`` where ``q = warp.inverse(p)`` is where the *warped* layer
  shows the matched content. Per pair and overall: N, RMSE, median, p90, p99, worst, for the
  fitting matches and for the held-out split (never seen by the solves, so it measures
  generalisation, not fit).
- **Overlap similarity** of the warped layers (optional): PSNR and SSIM on grey levels over each
  overlap, after matching the second layer's mean to the first's (the renderer compensates
  exposure, so gain differences are not a seam defect).
- **Warps**: mean / max displacement and smallest Jacobian determinant per layer.
"""

from __future__ import annotations

from collections.abc import Sequence

import cv2
import numpy as np

from .flow import PairMatches

__all__ = ["residual_stats", "match_residuals", "overlap_similarity", "seam_report",
           "summary_text"]


def residual_stats(dist_px: np.ndarray) -> dict:
    """N, RMSE, median, p90, p99 and worst of residual distances (px); None values when N = 0."""
    d = np.asarray(dist_px, dtype=np.float64)
    if d.size == 0:
        return {"n": 0, "rmse_px": None, "median_px": None, "p90_px": None, "p99_px": None,
                "worst_px": None}
    p50, p90, p99 = np.percentile(d, [50, 90, 99])
    return {"n": int(d.size), "rmse_px": float(np.sqrt(np.mean(d * d))), "median_px": float(p50),
            "p90_px": float(p90), "p99_px": float(p99), "worst_px": float(d.max())}


def match_residuals(pm: PairMatches, warps_by_index: dict | None = None
                    ) -> tuple[np.ndarray, np.ndarray]:
    """Residual distances (N,) of one pair before and after the warps (after = before if none)."""
    before = np.linalg.norm(pm.p_j - pm.p_i, axis=1)
    if not warps_by_index:
        return before, before.copy()
    wi, wj = warps_by_index.get(pm.i), warps_by_index.get(pm.j)
    qi = pm.p_i if wi is None else wi.inverse(pm.p_i)
    qj = pm.p_j if wj is None else wj.inverse(pm.p_j)
    return before, np.linalg.norm(qj - qi, axis=1)


_SIM_MARGIN_PX = 16  # beyond the reach of the SSIM window (Gaussian, sigma 1.5)


def _ssim(a: np.ndarray, b: np.ndarray, valid: np.ndarray) -> float:
    """Mean SSIM (Gaussian window, sigma 1.5) over valid pixels; grey levels 0..255."""
    c1, c2 = (0.01 * 255) ** 2, (0.03 * 255) ** 2

    def g(x):
        return cv2.GaussianBlur(x, (0, 0), 1.5)

    mu_a, mu_b = g(a), g(b)
    va = g(a * a) - mu_a**2
    vb = g(b * b) - mu_b**2
    cov = g(a * b) - mu_a * mu_b
    s = ((2 * mu_a * mu_b + c1) * (2 * cov + c2)) / ((mu_a**2 + mu_b**2 + c1) * (va + vb + c2))
    # Stay clear of the overlap's edge, where the window sees the zero outside.
    core = cv2.erode(valid.astype(np.uint8), np.ones((7, 7), np.uint8)) > 0
    return float(s[core].mean()) if core.any() else float("nan")


def _crop(wl, x0: int, y0: int, w: int, h: int, W: int):
    lay = wl.layer
    cols = np.mod(x0 + np.arange(w) - lay.x0, W)
    rows = y0 + np.arange(h) - lay.y0
    ok_c = cols < lay.width
    ok_r = (rows >= 0) & (rows < lay.height)
    cc = np.where(ok_c, cols, 0).astype(np.intp)
    rr = np.where(ok_r, rows, 0).astype(np.intp)
    img = wl.image[rr[:, None], cc[None, :]].astype(np.float32)
    grey = img.mean(axis=2) if img.ndim == 3 else img
    valid = wl.valid[rr[:, None], cc[None, :]] & ok_r[:, None] & ok_c[None, :]
    return grey, valid


def _columns_meet(A, B) -> bool:
    """Do two layers' column ranges intersect (modulo W)? A cheap test before cropping."""
    W = A.pano_width
    if A.width >= W or B.width >= W:
        return True
    d = (B.x0 - A.x0) % W
    return d < A.width or (W - d) < B.width


def overlap_similarity(warped_layers: Sequence, min_area_px: int = 256) -> list[dict]:
    """PSNR (dB) and SSIM of every overlapping pair of warped layers (``render.WarpedLayer``).

    The second layer's grey levels are scaled to the first's mean over the overlap first.
    """
    out = []
    for a in range(len(warped_layers)):
        for b in range(a + 1, len(warped_layers)):
            la, lb = warped_layers[a], warped_layers[b]
            W = la.layer.pano_width
            if not _columns_meet(la.layer, lb.layer):
                continue
            base = la if la.layer.width <= lb.layer.width else lb
            other = lb if base is la else la
            y0 = max(la.layer.y0, lb.layer.y0)
            y1 = min(la.layer.y0 + la.layer.height, lb.layer.y0 + lb.layer.height)
            if y1 <= y0:
                continue
            # Only the columns both layers hold (plus a margin wider than the SSIM window, so
            # the figures are those of the whole base crop: outside the overlap both are 0).
            t = np.arange(base.layer.width)
            shared = np.flatnonzero(np.mod(base.layer.x0 + t - other.layer.x0, W)
                                    < other.layer.width)
            if not shared.size:
                continue
            t0 = max(0, int(shared[0]) - _SIM_MARGIN_PX)
            t1 = min(base.layer.width, int(shared[-1]) + 1 + _SIM_MARGIN_PX)
            x0 = base.layer.x0 + t0
            ga, va = _crop(la, x0, y0, t1 - t0, y1 - y0, W)
            gb, vb = _crop(lb, x0, y0, t1 - t0, y1 - y0, W)
            both = va & vb
            n = int(both.sum())
            if n < min_area_px:
                continue
            gb = gb * (ga[both].mean() / max(gb[both].mean(), 1e-6))
            mse = float(np.mean((ga[both] - gb[both]) ** 2))
            psnr = float("inf") if mse == 0 else 10 * np.log10(255.0**2 / mse)
            out.append({"i": la.layer.cam_index, "j": lb.layer.cam_index, "area_px": n,
                        "psnr_db": psnr, "ssim": _ssim(np.where(both, ga, 0),
                                                       np.where(both, gb, 0), both)})
    return out


def seam_report(matches: Sequence[PairMatches], warps: Sequence | None = None,
                warped_layers: Sequence | None = None) -> dict:
    """The seam summary of a stitch (JSON-ready; ``text`` is a printable version).

    Parameters
    ----------
    matches : sequence of PairMatches
        Overlap correspondences of the projected (unwarped) layers.
    warps : sequence of SplineWarp, optional
        The solved warps (by ``.index``); without them "after" equals "before".
    warped_layers : sequence of render.WarpedLayer, optional
        For overlap PSNR/SSIM of the rendered layers.

    Returns
    -------
    dict with ``pairs`` (per pair: camera indices and residual stats before/after for the
    ``fit`` and ``heldout`` splits), ``overall`` (the same pooled), ``warps`` (per layer
    displacement and Jacobian figures), ``similarity`` (per overlap PSNR/SSIM, when layers were
    given) and ``text``.
    """
    by_index = {w.index: w for w in (warps or []) if w is not None}
    pairs, pooled = [], {(s, t): [] for s in ("fit", "heldout") for t in ("before", "after")}
    for pm in matches:
        before, after = match_residuals(pm, by_index)
        ho = np.asarray(pm.heldout, dtype=bool)
        entry = {"i": pm.i, "j": pm.j}
        for split, sel in (("fit", ~ho), ("heldout", ho)):
            entry[split] = {"before": residual_stats(before[sel]),
                            "after": residual_stats(after[sel])}
            pooled[split, "before"].append(before[sel])
            pooled[split, "after"].append(after[sel])
        pairs.append(entry)
    overall = {split: {when: residual_stats(np.concatenate(pooled[split, when])
                                            if pooled[split, when] else np.zeros(0))
                       for when in ("before", "after")} for split in ("fit", "heldout")}
    warp_rows = [{"index": w.index, "mean_displacement_px": w.mean_displacement_px,
                  "max_displacement_px": w.max_displacement_px,
                  "min_jacobian_det": w.min_jacobian_det}
                 for w in (warps or []) if w is not None]
    report = {"pairs": pairs, "overall": overall, "warps": warp_rows,
              "similarity": overlap_similarity(warped_layers) if warped_layers else None}
    report["text"] = summary_text(report)
    return report


def _fmt(s: dict) -> str:
    if not s["n"]:
        return "n=0"
    return (f"n={s['n']} median {s['median_px']:.3f} p90 {s['p90_px']:.3f} "
            f"p99 {s['p99_px']:.3f} worst {s['worst_px']:.2f} rmse {s['rmse_px']:.3f} px")


def summary_text(report: dict) -> str:
    """A few printable lines summarising a :func:`seam_report`."""
    o = report["overall"]
    lines = [f"held-out before: {_fmt(o['heldout']['before'])}",
             f"held-out after:  {_fmt(o['heldout']['after'])}",
             f"fit after:       {_fmt(o['fit']['after'])}"]
    if report["warps"]:
        lines.append("warps: max displacement {:.2f} px, smallest Jacobian det {:.3f}".format(
            max(w["max_displacement_px"] for w in report["warps"]),
            min(w["min_jacobian_det"] for w in report["warps"])))
    if report.get("similarity"):
        ps = [s["psnr_db"] for s in report["similarity"]]
        ss = [s["ssim"] for s in report["similarity"]]
        lines.append(f"overlaps: PSNR mean {np.mean(ps):.2f} dB, SSIM mean {np.mean(ss):.4f}")
    return "\n".join(lines)
