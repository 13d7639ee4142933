"""Render a panorama: warp each camera into its layer, compensate exposure, blend, write.

- **Warp**: a layer pixel q samples the camera image where the rig projection puts q + d(q), with
  d the layer's spline displacement from ``stitch.warp_solve`` (``warped_i(q) = layer_i(q +
  d_i(q))``, panorama pixels); the source pixel is computed exactly from the camera model, so
  the projection and the displacement cost one ``cv2.remap`` of the original image.
- **Seams**: each panorama pixel belongs to the layer whose edge is farthest away (a
  distance-transform Voronoi split of every overlap); the multi-band blender
  (``cv2.detail_MultiBandBlender``) then hides the seam over a few pyramid bands.
- **Exposure**: one of OpenCV's ``cv2.detail`` compensators (default block-wise gains).
- **Wrap**: OpenCV blends on a flat canvas, so the panorama is blended on a canvas padded by P
  columns on both sides where every layer is placed at each of its copies ``x0 + k W`` that
  touch the canvas; the content is then periodic and the middle W columns are the panorama, with
  the 0/W seam blended like any other.
- **Output**: equirectangular JPEG/PNG/TIFF with GPano XMP metadata (360 viewers open it),
  written atomically; optionally every warped layer as a full-canvas RGBA PNG (alpha =
  coverage), the layout Hugin's ``nona -m TIFF_m`` gives.
"""

from __future__ import annotations

import dataclasses
import os
import struct
import zlib
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np

from sensors.atomic import atomic_output
from sensors.errors import InputError
from sensors.progress import ProgressCallback, report

from .params import IMAGE_SUFFIXES, StitchParams
from .projection import Layer, coverage_weight, layer_maps, plan_layers, source_pixels
from .rig import Rig

__all__ = [
    "WarpedLayer",
    "RenderResult",
    "warp_layer",
    "warp_layers",
    "blend_layers",
    "render_panorama",
    "write_panorama",
    "write_layers",
    "gpano_xmp",
]


@dataclass(frozen=True, eq=False)
class WarpedLayer:
    """A camera image warped into its layer of the panorama.

    ``image`` (h, w, 3) uint8 and ``valid`` (h, w) bool cover the crop ``layer`` (unwrapped
    frame; see ``stitch.projection``); ``distance_px`` is each pixel's distance to the edge of
    the camera's coverage (used to place seams).
    """

    layer: Layer
    image: np.ndarray
    valid: np.ndarray
    distance_px: np.ndarray


@dataclass(frozen=True, eq=False)
class RenderResult:
    """The blended panorama (H, W, 3) uint8, its coverage (H, W) bool and the warped layers."""

    panorama: np.ndarray
    coverage: np.ndarray
    layers: list[WarpedLayer]


def warp_layer(img: np.ndarray, rig: Rig, layer: Layer,
               displacement: tuple[np.ndarray, np.ndarray] | None = None) -> WarpedLayer:
    """Draw a camera image into its layer, displaced by ``d(q)`` (panorama pixels) if given.

    Parameters
    ----------
    img : (h_img, w_img, 3) uint8
        The camera's image (size must match the rig).
    rig : Rig
    layer : Layer
        The crop to fill (``layer.cam_index`` selects the camera).
    displacement : (dx, dy) of shape ``layer.shape``, optional
        Spline displacement: pixel q shows the scene at q + d(q).
    """
    cam = rig[layer.cam_index]
    w, h = cam.size
    if img.shape[:2] != (h, w):
        raise InputError(f"camera {cam.id}: image is {img.shape[1]}x{img.shape[0]}, the rig "
                         f"says {w}x{h}")
    if displacement is None:
        mx, my, ok = layer_maps(cam, layer)
    else:
        u, v = layer.grid()
        dx, dy = displacement
        if dx.shape != layer.shape or dy.shape != layer.shape:
            raise InputError(f"camera {cam.id}: displacement has shape {dx.shape}, the layer "
                             f"is {layer.shape}")
        if not (np.all(np.isfinite(dx)) and np.all(np.isfinite(dy))):
            raise InputError(f"camera {cam.id}: displacement field has NaN or infinite values")
        mx, my, ok = source_pixels(cam, u + dx, v + dy, layer.pano_width)
    pix = cv2.remap(img, mx, my, cv2.INTER_LINEAR, borderMode=cv2.BORDER_CONSTANT)
    pix[~ok] = 0
    return _from_valid(layer, pix, ok)


def _from_valid(layer: Layer, pix: np.ndarray, ok: np.ndarray) -> WarpedLayer:
    padded = np.pad(ok, 1).astype(np.uint8)
    dist = cv2.distanceTransform(padded, cv2.DIST_L2, 5)[1:-1, 1:-1]
    return WarpedLayer(layer, pix, ok, dist)


def warp_layers(rig: Rig, images: Sequence[np.ndarray], W: int, warps=None, margin_px: int = 4,
                progress: ProgressCallback | None = None,
                projected: Sequence | None = None) -> list[WarpedLayer]:
    """Warp every camera into its layer.

    ``warps[k].dense(layer)`` gives camera k's displacement over its layer; ``layer`` is
    ``projected[k]`` (the ``ProjectedLayer`` the warps were solved on; its crop is reused)
    when given, else the planned ``Layer`` (both carry ``x0``, ``y0`` and the crop shape).
    ``progress`` is called with ``Progress("warp", n_done, n_cameras, "camera <id>")``
    (``sensors.progress``) as each camera is done.
    """
    layers = plan_layers(rig, W, margin_px) if projected is None else [p.layer for p in projected]
    out = []
    for k, lay in enumerate(layers):
        disp = None
        if projected is not None and (warps is None or warps[k] is None):
            # Unwarped: the projection already drew this layer (same maps, same remap).
            p = projected[k]
            out.append(_from_valid(lay, p.image, p.mask > 0))
            report(progress, "warp", k + 1, len(layers), f"camera {rig[k].id}")
            continue
        if warps is not None and warps[k] is not None:
            target = lay if projected is None else projected[k]
            if (target.x0, target.y0) != (lay.x0, lay.y0):
                raise InputError(f"camera {rig[k].id}: warp was solved on another layer crop")
            dx, dy = warps[k].dense(target)
            disp = (np.asarray(dx, np.float32), np.asarray(dy, np.float32))
        out.append(warp_layer(images[k], rig, lay, disp))
        report(progress, "warp", k + 1, len(layers), f"camera {rig[k].id}")
    return out


_COMPENSATORS = {
    "gain": lambda p: cv2.detail_GainCompensator(),
    "gain_blocks": lambda p: cv2.detail_BlocksGainCompensator(p.exposure_block_px,
                                                              p.exposure_block_px),
    "channels": lambda p: cv2.detail_ChannelsCompensator(),
    "channels_blocks": lambda p: cv2.detail_BlocksChannelsCompensator(p.exposure_block_px,
                                                                     p.exposure_block_px),
}


# OpenCV's multi-band blender keeps its pyramids in int16 and truncates at every level: fed
# 0..255 values it darkens a photo by ~1 grey level per band (measured: -0.97 mean at 1 band,
# 2.1 mean abs error at 5). Feeding values x32 (max 8160, far inside int16) cuts that to 0.07.
_BLEND_SCALE = 32


def _extend_edges(img: np.ndarray, valid: np.ndarray) -> np.ndarray:
    """Fill pixels outside ``valid`` with the nearest valid pixel's colour.

    The multi-band blender builds each image's Laplacian pyramid over the whole crop, masks
    only the weights, so black beyond a camera's coverage would bleed a dark halo a few
    pyramid levels wide into the panorama; extending the edge colours removes it.
    """
    if valid.all() or not valid.any():
        return img
    _, labels = cv2.distanceTransformWithLabels((~valid).astype(np.uint8), cv2.DIST_L2, 5,
                                                labelType=cv2.DIST_LABEL_PIXEL)
    # Labels number the zero (valid) pixels in scan order; map each label to its pixel.
    flat_valid = np.flatnonzero(valid.ravel())
    lut = np.zeros(int(labels.max()) + 1, np.int64)
    ys, xs = np.divmod(flat_valid, valid.shape[1])
    lut[labels[ys, xs]] = flat_valid
    src = lut[labels]
    out = img.reshape(-1, img.shape[2])[src.ravel()].reshape(img.shape)
    return out


def _exposure_compensator(params: StitchParams, crops):
    """The exposure compensator fed with every crop at half resolution.

    Gains are smooth (one per image, or per ``exposure_block_px`` block), so half resolution
    and half-size blocks give the same gain grid at a quarter of the work; the block
    compensators resize their gain maps to the full-resolution image they are applied to.
    """
    p = params
    if params.exposure in ("gain_blocks", "channels_blocks"):
        p = dataclasses.replace(params, exposure_block_px=max(1, params.exposure_block_px // 2))
    comp = _COMPENSATORS[params.exposure](p)
    corners, images, masks = [], [], []
    for _k, (cx, cy), img, valid, _seam in crops:
        h, w = valid.shape
        size = (max(1, w // 2), max(1, h // 2))
        corners.append((cx // 2, cy // 2))
        images.append(cv2.resize(img, size, interpolation=cv2.INTER_AREA))
        m = cv2.resize(valid.astype(np.uint8), size, interpolation=cv2.INTER_NEAREST)
        masks.append(m * 255)
    comp.feed(corners=corners, images=images, masks=masks)
    return comp


def _placements(layers: Sequence[WarpedLayer], W: int, pad: int):
    """(layer index, canvas x) of every copy of every layer that touches [-pad, W + pad)."""
    out = []
    for k, wl in enumerate(layers):
        x0 = int(np.mod(wl.layer.x0, W))
        for s in (-W, 0, W):
            x = x0 + s
            if x < W + pad and x + wl.layer.width > -pad:
                out.append((k, x))
    return out


def blend_layers(layers: Sequence[WarpedLayer], W: int, params: StitchParams | None = None
                 ) -> tuple[np.ndarray, np.ndarray]:
    """Exposure-compensate and blend warped layers into an equirectangular panorama.

    Returns
    -------
    panorama : (W/2, W, 3) uint8
    coverage : (W/2, W) bool — pixels some camera sees (black elsewhere).
    """
    params = StitchParams() if params is None else params
    H = W // 2
    if not layers:
        raise InputError("nothing to blend: no layers")
    bands = params.blend_bands
    pad = max(16, 4 << bands) if bands else 16
    x_lo, cw = -pad, W + 2 * pad
    places = _placements(layers, W, pad)

    # Seams: owner of each canvas pixel = the layer whose coverage edge is farthest.
    best = np.full((H, cw), -1.0, np.float32)
    owner = np.full((H, cw), -1, np.int32)
    for k, x in places:
        wl = layers[k]
        lay = wl.layer
        c0, c1 = max(x, x_lo), min(x + lay.width, x_lo + cw)
        sl = (slice(lay.y0, lay.y0 + lay.height), slice(c0 - x_lo, c1 - x_lo))
        d = np.where(wl.valid, wl.distance_px, -1.0)[:, c0 - x:c1 - x]
        better = d > best[sl]
        best[sl][better] = d[better]
        owner[sl][better] = k

    # Each copy, cropped to the canvas, with its full coverage (exposure) and seam mask (blend).
    crops = []
    for k, x in places:
        wl = layers[k]
        lay = wl.layer
        c0, c1 = max(x, x_lo), min(x + lay.width, x_lo + cw)
        valid = wl.valid[:, c0 - x:c1 - x]
        img = np.ascontiguousarray(wl.image[:, c0 - x:c1 - x])
        seam = (owner[lay.y0:lay.y0 + lay.height, c0 - x_lo:c1 - x_lo] == k) & valid
        crops.append((k, (c0, lay.y0), img, valid, seam))

    comp = None
    if params.exposure != "none":
        # (cv2's NoExposureCompensator.feed crashes in the Python binding; "none" skips it.)
        comp = _exposure_compensator(params, crops)

    if bands > 0:
        blender = cv2.detail_MultiBandBlender(0, bands)
    else:
        blender = cv2.detail.Blender_createDefault(cv2.detail.Blender_NO)
    blender.prepare((x_lo, 0, cw, H))
    for idx, (_k, corner, img, _valid, seam) in enumerate(crops):
        if not seam.any():
            continue
        m8 = seam.astype(np.uint8) * 255
        if comp is not None:
            img = np.asarray(comp.apply(idx, corner, img.copy(), m8))
        img = _extend_edges(img, _valid)
        blender.feed(img.astype(np.int16) * _BLEND_SCALE, m8, corner)
    res, res_mask = blender.blend(None, None)
    res = np.asarray(res)[:, pad:pad + W].astype(np.float32) / _BLEND_SCALE
    pano = np.clip(np.rint(res), 0, 255).astype(np.uint8)
    coverage = np.asarray(res_mask)[:, pad:pad + W] > 0
    pano[~coverage] = 0
    return pano, coverage


def render_panorama(rig: Rig, images: Sequence[np.ndarray], params: StitchParams | None = None,
                    warps=None, progress: ProgressCallback | None = None
                    ) -> RenderResult:
    """Warp (optionally with spline displacements), compensate and blend a rig's images.

    ``progress`` is called once per camera warped (see :func:`warp_layers`).
    """
    params = StitchParams() if params is None else params
    if len(images) != len(rig):
        raise InputError(f"rig has {len(rig)} cameras but {len(images)} images were given",
                         rig.source)
    W = params.width_px
    layers = warp_layers(rig, images, W, warps, params.margin_px, progress)
    pano, cov = blend_layers(layers, W, params)
    return RenderResult(pano, cov, layers)


def gpano_xmp(width: int, height: int, full_width: int | None = None,
              software: str = "steadyrig") -> bytes:
    """An XMP packet with Google Photo Sphere (GPano) tags for a full equirectangular image."""
    fw = int(full_width or width)
    fh = fw // 2
    top = (fh - height) // 2
    left = (fw - width) // 2
    fields = {
        "ProjectionType": "equirectangular",
        "UsePanoramaViewer": "True",
        "FullPanoWidthPixels": fw,
        "FullPanoHeightPixels": fh,
        "CroppedAreaImageWidthPixels": int(width),
        "CroppedAreaImageHeightPixels": int(height),
        "CroppedAreaLeftPixels": left,
        "CroppedAreaTopPixels": top,
        "PoseHeadingDegrees": "180.0",
        "StitchingSoftware": software,
    }
    body = "\n".join(f"   <GPano:{k}>{v}</GPano:{k}>" for k, v in fields.items())
    xml = (
        '<?xpacket begin="\ufeff" id="W5M0MpCehiHzreSzNTczkc9d"?>\n'
        '<x:xmpmeta xmlns:x="adobe:ns:meta/">\n'
        ' <rdf:RDF xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#">\n'
        '  <rdf:Description rdf:about=""\n'
        '    xmlns:GPano="http://ns.google.com/photos/1.0/panorama/">\n'
        f"{body}\n"
        "  </rdf:Description>\n"
        " </rdf:RDF>\n"
        "</x:xmpmeta>\n"
        '<?xpacket end="w"?>'
    )
    return xml.encode("utf-8")


_XMP_JPEG_NS = b"http://ns.adobe.com/xap/1.0/\x00"


def _jpeg_with_xmp(data: bytes, xmp: bytes) -> bytes:
    # APP1 XMP segment right after SOI and any APP0 (JFIF) segment, where readers look for it.
    if data[:2] != b"\xff\xd8":
        raise InputError("encoder did not produce a JPEG")
    payload = _XMP_JPEG_NS + xmp
    if len(payload) + 2 > 0xFFFF:
        raise InputError("XMP packet too large for one JPEG segment")
    seg = b"\xff\xe1" + struct.pack(">H", len(payload) + 2) + payload
    pos = 2
    if data[2:4] == b"\xff\xe0":
        pos = 4 + struct.unpack(">H", data[4:6])[0]
    return data[:pos] + seg + data[pos:]


def _png_with_xmp(data: bytes, xmp: bytes) -> bytes:
    # iTXt chunk with keyword XML:com.adobe.xmp, uncompressed, right after IHDR.
    if data[:8] != b"\x89PNG\r\n\x1a\n":
        raise InputError("encoder did not produce a PNG")
    body = b"XML:com.adobe.xmp\x00\x00\x00\x00\x00" + xmp
    chunk = (struct.pack(">I", len(body)) + b"iTXt" + body
             + struct.pack(">I", zlib.crc32(b"iTXt" + body) & 0xFFFFFFFF))
    ihdr_end = 8 + 8 + struct.unpack(">I", data[8:12])[0] + 4
    return data[:ihdr_end] + chunk + data[ihdr_end:]


def write_panorama(path: str | os.PathLike, pano: np.ndarray, quality: int = 95) -> None:
    """Write an equirectangular panorama (BGR uint8) with GPano XMP, atomically.

    The type follows the suffix: ``.jpg``/``.jpeg`` (APP1 XMP), ``.png`` (iTXt XMP) or
    ``.tif``/``.tiff`` (XMP tag 700, written with Pillow).
    """
    p = Path(path)
    suffix = p.suffix.lower()
    if suffix not in IMAGE_SUFFIXES:
        raise InputError(f"unsupported panorama type {suffix or '(none)'}; use one of "
                         + ", ".join(IMAGE_SUFFIXES), str(p))
    pano = np.ascontiguousarray(pano)
    if pano.ndim != 3 or pano.shape[2] != 3 or pano.dtype != np.uint8:
        raise InputError(f"panorama must be (H, W, 3) uint8, got {pano.shape} {pano.dtype}",
                         str(p))
    h, w = pano.shape[:2]
    xmp = gpano_xmp(w, h, full_width=w)
    with atomic_output(p) as tmp:
        if suffix in (".jpg", ".jpeg"):
            ok, buf = cv2.imencode(".jpg", pano, [cv2.IMWRITE_JPEG_QUALITY, int(quality)])
            if not ok:
                raise InputError("JPEG encoding failed", str(p))
            Path(tmp).write_bytes(_jpeg_with_xmp(buf.tobytes(), xmp))
        elif suffix == ".png":
            ok, buf = cv2.imencode(".png", pano)
            if not ok:
                raise InputError("PNG encoding failed", str(p))
            Path(tmp).write_bytes(_png_with_xmp(buf.tobytes(), xmp))
        else:
            from PIL import Image, TiffImagePlugin

            ifd = TiffImagePlugin.ImageFileDirectory_v2()
            ifd[700] = xmp
            ifd.tagtype[700] = 1  # BYTE, as the TIFF/XMP spec stores the packet
            Image.fromarray(pano[..., ::-1]).save(tmp, format="TIFF", tiffinfo=ifd,
                                                  compression="tiff_lzw")


def write_layers(folder: str | os.PathLike, layers: Sequence[WarpedLayer], rig: Rig) -> list[Path]:
    """Write each warped layer as a full-canvas RGBA PNG (alpha = coverage), ``layer_<id>.png``.

    Like Hugin's ``nona -m TIFF_m``: every file is the whole W x W/2 panorama, transparent where
    the camera contributes nothing, so the layers composite in any editor.
    """
    out_dir = Path(folder)
    out_dir.mkdir(parents=True, exist_ok=True)
    paths = []
    for wl in layers:
        lay = wl.layer
        W, H = lay.pano_width, lay.pano_width // 2
        canvas = np.zeros((H, W, 4), np.uint8)
        cols = np.mod(lay.x0 + np.arange(lay.width), W)
        rows = slice(lay.y0, lay.y0 + lay.height)
        canvas[rows, cols, :3] = wl.image
        canvas[rows, cols, 3] = wl.valid.astype(np.uint8) * 255
        p = out_dir / f"layer_{rig[lay.cam_index].id}.png"
        with atomic_output(p) as tmp:
            if not cv2.imwrite(str(tmp), canvas):
                raise InputError("could not write layer image", str(p))
        paths.append(p)
    return paths


def layer_weights(layers: Sequence[WarpedLayer], feather_px: float) -> list[np.ndarray]:
    """Feathered coverage weights of warped layers (see ``projection.coverage_weight``)."""
    return [coverage_weight(wl.valid, feather_px) for wl in layers]
