"""Spherical (360) video metadata in MP4/MOV files, and the projection of a clip.

Two public layouts mark a video track as 360 (Google's Spherical Video RFCs, read by YouTube,
Facebook, VLC and most 360 players):

- **V1**: an XMP-like RDF document in a ``uuid`` box (id ``ffcc8263-f855-4a93-8814-
  587a02521fdd``) inside the video ``trak``, with ``GSpherical:Spherical``, ``Stitched``,
  ``ProjectionType`` (``equirectangular``) and ``StereoMode``.
- **V2**: in the video sample entry (``avc1``, ``hvc1``, ...), an ``st3d`` box (stereo mode:
  0 mono, 1 top-bottom, 2 left-right) and an ``sv3d`` box holding ``svhd`` (metadata source)
  and ``proj`` with ``prhd`` (pose: yaw, pitch, roll in 16.16 degrees) and ``equi`` (crop
  bounds, 0.32 fractions; all 0 = the full sphere).

``write_spherical`` writes both into a finished file (the MP4 muxers of FFmpeg/PyAV write
neither); ``read_spherical`` reads either back. ``PROJECTIONS`` lists the projections a clip
may have; ``detect_projection`` decides a clip's from its metadata, or from a 2:1 frame with a
360 camera's telemetry.

Examples
--------
>>> sorted(PROJECTIONS)
['dual-fisheye', 'equirect', 'flat']
"""

from __future__ import annotations

import os
import re
import struct
from dataclasses import dataclass

from .errors import InputError
from .mp4_boxes import Box, read_moov, update_moov

__all__ = ["PROJECTIONS", "SphericalInfo", "read_spherical", "write_spherical",
           "detect_projection", "check_projection", "SPHERICAL_V1_UUID", "CAMERAS_360"]

#: Projections a clip may have, name -> description (``auto`` decides between them).
PROJECTIONS = {
    "flat": "an ordinary (pinhole or fisheye) camera frame",
    "equirect": "an equirectangular 360 panorama (W = 2H)",
    "dual-fisheye": "a 360 camera's two fisheye lens discs side by side (W = 2H), unstitched",
}
SPHERICAL_V1_UUID = bytes.fromhex("ffcc8263f8554a938814587a02521fdd")
#: Camera names (in a log's ``camera`` field, upper case) that record 360 video.
CAMERAS_360 = ("INSTA360", "GOPRO MAX", "GOPRO FUSION", "THETA", "QOOCAM", "VUZE")
_STEREO = {0: "mono", 1: "top-bottom", 2: "left-right"}
_V1_STEREO = {"mono": "mono", "top-bottom": "top-bottom", "left-right": "left-right"}
_SOFTWARE = "steadyrig"


@dataclass(frozen=True)
class SphericalInfo:
    """What a file's spherical metadata says.

    Parameters
    ----------
    projection : str
        ``equirect`` (or another projection type named by the file, e.g. ``cubemap``).
    stereo : str
        ``mono``, ``top-bottom`` or ``left-right``.
    versions : tuple of int
        Which layouts were found (1, 2).
    pose_deg : (float, float, float)
        V2 pose (yaw, pitch, roll) in degrees; zeros when absent.
    """

    projection: str
    stereo: str = "mono"
    versions: tuple[int, ...] = ()
    pose_deg: tuple[float, float, float] = (0.0, 0.0, 0.0)


def _video_trak(moov: Box, path: str) -> Box:
    for trak in moov.find_all(b"trak"):
        hdlr = trak.find(b"mdia", b"hdlr")
        if hdlr is not None and hdlr.payload[8:12] == b"vide":
            return trak
    raise InputError("no video track", path)


def _sample_entry(trak: Box) -> Box | None:
    stsd = trak.find(b"mdia", b"minf", b"stbl", b"stsd")
    if stsd is None or not stsd.children:
        return None
    entry = stsd.children[0]
    return entry if entry.children is not None else None


def _v1_xml(projection: str, stereo: str) -> bytes:
    return (
        '<?xml version="1.0"?><rdf:SphericalVideo\n'
        'xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#"\n'
        'xmlns:GSpherical="http://ns.google.com/videos/1.0/spherical/">'
        "<GSpherical:Spherical>true</GSpherical:Spherical>"
        "<GSpherical:Stitched>true</GSpherical:Stitched>"
        f"<GSpherical:StitchingSoftware>{_SOFTWARE}</GSpherical:StitchingSoftware>"
        f"<GSpherical:ProjectionType>{projection}</GSpherical:ProjectionType>"
        f"<GSpherical:StereoMode>{_V1_STEREO[stereo]}</GSpherical:StereoMode>"
        "</rdf:SphericalVideo>").encode()


def _v1_tag(xml: str, name: str) -> str | None:
    m = re.search(rf"<GSpherical:{name}>\s*([^<]*?)\s*</GSpherical:{name}>", xml)
    return None if m is None else m.group(1)


def read_spherical(path: str | os.PathLike) -> SphericalInfo | None:
    """The spherical metadata of a file's video track (V1 or V2), or None when it has none.

    Raises ``InputError`` for a file that is not MP4/MOV.
    """
    p = str(path)
    trak = _video_trak(read_moov(p), p)
    versions: list[int] = []
    projection, stereo, pose = None, "mono", (0.0, 0.0, 0.0)
    entry = _sample_entry(trak)
    if entry is not None and entry.find(b"sv3d") is not None:
        versions.append(2)
        proj = entry.find(b"sv3d", b"proj")
        if proj is not None and proj.find(b"equi") is not None:
            projection = "equirect"
        elif proj is not None and proj.find(b"cbmp") is not None:
            projection = "cubemap"
        elif proj is not None and proj.find(b"mshp") is not None:
            projection = "mesh"
        prhd = None if proj is None else proj.find(b"prhd")
        if prhd is not None and len(prhd.payload) >= 16:
            y, pt, r = struct.unpack_from(">iii", prhd.payload, 4)
            pose = (y / 65536.0, pt / 65536.0, r / 65536.0)
        st3d = entry.find(b"st3d")
        if st3d is not None and len(st3d.payload) >= 5:
            stereo = _STEREO.get(st3d.payload[4], "mono")
    for box in trak.children or ():
        if box.type == b"uuid" and box.usertype == SPHERICAL_V1_UUID:
            xml = box.payload.decode("utf-8", "replace")
            if (_v1_tag(xml, "Spherical") or "").lower() != "true":
                continue
            versions.append(1)
            kind = (_v1_tag(xml, "ProjectionType") or "equirectangular").lower()
            projection = projection or ("equirect" if kind == "equirectangular" else kind)
            stereo = _v1_tag(xml, "StereoMode") or stereo
    if not versions:
        return None
    return SphericalInfo(projection or "equirect", stereo, tuple(sorted(versions)), pose)


def write_spherical(path: str | os.PathLike, projection: str = "equirect",
                    stereo: str = "mono", versions: tuple[int, ...] = (1, 2)) -> None:
    """Mark a file's video track as 360 video, in place: V1 ``uuid`` and/or V2 ``sv3d`` +
    ``st3d`` (replacing any the track had). Only ``equirect`` is written."""
    p = str(path)
    if projection != "equirect":
        raise InputError(f"cannot write spherical metadata for projection {projection!r}")
    if stereo not in _V1_STEREO:
        raise InputError(f"unknown stereo mode {stereo!r}; valid: " + ", ".join(_V1_STEREO))
    moov = read_moov(p)
    trak = _video_trak(moov, p)
    trak.children = [b for b in trak.children or ()
                     if not (b.type == b"uuid" and b.usertype == SPHERICAL_V1_UUID)]
    if 1 in versions:
        trak.children.append(Box(b"uuid", _v1_xml("equirectangular", stereo),
                                 usertype=SPHERICAL_V1_UUID))
    if 2 in versions:
        entry = _sample_entry(trak)
        if entry is None:
            raise InputError("the video track's sample entry cannot hold spherical boxes", p)
        assert entry.children is not None
        full = b"\x00\x00\x00\x00"  # version 0, flags 0
        mode = {v: k for k, v in _STEREO.items()}[stereo]
        sv3d = Box(b"sv3d", children=[
            Box(b"svhd", full + _SOFTWARE.encode() + b"\x00"),
            Box(b"proj", children=[
                Box(b"prhd", full + struct.pack(">iii", 0, 0, 0)),
                Box(b"equi", full + struct.pack(">IIII", 0, 0, 0, 0)),
            ]),
        ])
        kept = [b for b in entry.children if b.type not in (b"st3d", b"sv3d")]
        entry.children = kept + [Box(b"st3d", full + bytes([mode])), sv3d]
    update_moov(p, moov)


def check_projection(projection: str) -> str:
    """``projection`` if it is ``auto`` or in ``PROJECTIONS``, else ``InputError``."""
    if projection != "auto" and projection not in PROJECTIONS:
        raise InputError(f"unknown projection {projection!r}; valid: auto, "
                         + ", ".join(PROJECTIONS))
    return projection


def detect_projection(path: str | os.PathLike, size: tuple[int, int],
                      camera: str | None = None) -> tuple[str, str]:
    """A clip's projection and why: its spherical metadata, else a 2:1 frame recorded by a 360
    camera (``camera``: the log's camera name), else ``flat``.

    Returns
    -------
    (str, str)
        The projection (a key of ``PROJECTIONS``) and the reason, for the notes.
    """
    info = None
    try:
        info = read_spherical(path)
    except InputError:
        pass  # not an MP4/MOV box tree (e.g. another container): no metadata to go by
    if info is not None:
        if info.projection != "equirect" or info.stereo != "mono":
            raise InputError(f"spherical video ({info.projection}, {info.stereo}) is not "
                             "supported yet; only monoscopic equirectangular", str(path))
        return "equirect", f"spherical metadata (V{'+V'.join(map(str, info.versions))})"
    w, h = int(size[0]), int(size[1])
    name = (camera or "").upper()
    if w == 2 * h and any(c in name for c in CAMERAS_360):
        return "equirect", f"a 2:1 frame from a 360 camera ({camera})"
    return "flat", "no spherical metadata"
