"""Repeatability of the output encoder: encode one clip's decoded frames several times with the
stabilizer's encoder settings and count the distinct bitstreams, per encoder thread count.

The stabilizer's warped frames are bit-identical from run to run; what the encoder makes of
them need not be. Run as ``python -m bench.encode_repeat VIDEO [--threads 0 1 2 3 4]``; thread
count 0 is libavcodec's automatic choice (libx264: 1.5 x cores).
"""

from __future__ import annotations

import argparse
import hashlib
import io
from fractions import Fraction

import av

from stabilize.encoder import encoder_options


def encode_digest(frames: list[av.VideoFrame], size: tuple[int, int], rate: Fraction,
                  threads: int, crf: int = 18, preset: str = "medium") -> str:
    """SHA-1 of the H.264 packets of ``frames`` encoded with ``threads`` frame threads."""
    w, h = size
    buf = io.BytesIO()
    with av.open(buf, "w", format="mp4") as out:
        s = out.add_stream("libx264", rate=rate,
                           options=encoder_options("h264", crf, preset, w, h))
        s.width, s.height, s.pix_fmt = w, h, "yuv420p"
        s.codec_context.thread_type = "AUTO"  # as stabilize.transcode opens it
        if threads:
            s.codec_context.thread_count = threads
        digest = hashlib.sha1()
        for i, fr in enumerate(frames):
            fr.pts, fr.time_base = i, 1 / rate
            for pkt in s.encode(fr):
                digest.update(bytes(pkt))
        for pkt in s.encode(None):
            digest.update(bytes(pkt))
    return digest.hexdigest()


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("video")
    ap.add_argument("--threads", type=int, nargs="+", default=[0, 1, 2, 3, 4])
    ap.add_argument("--repeats", type=int, default=4)
    args = ap.parse_args()
    with av.open(args.video) as c:
        st = c.streams.video[0]
        rate = st.average_rate or Fraction(30)
        frames = [f.reformat(format="yuv420p") for f in c.decode(st)]
        size = (st.width, st.height)
    for n in args.threads:
        digests = [encode_digest(frames, size, rate, n) for _ in range(args.repeats)]
        print(f"threads={n}: {len(set(digests))} distinct bitstream(s) in {args.repeats} encodes")


if __name__ == "__main__":
    main()
