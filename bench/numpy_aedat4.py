"""numpy peer of evstream's AEDAT 4 decoding (run through bench/python.ts, one JSON argument).

Packets are walked in Python (struct on the 8-byte headers and the EVTS flatbuffer's offsets), each
event payload is viewed with np.frombuffer on the 16-byte Event struct (int64 t, int16 x, int16 y,
bool p, 3 bytes padding) and copied out to t, x, y, p arrays: the fastest idiomatic numpy decoding we
know. LZ4 / ZSTD payloads go through python3-lz4 (liblz4) / zstandard (libzstd).

Modes (spec "mode"):
  decode: bytes already in memory, best of `reps` -> {"ms", "events"}
  info:   read the file from disk and decode it, best of `reps` -> {"ms", "events"}
  frames: info + np.bincount into `window_us` windows of 2 x 64 x 64 counts (nearest-bin resize of the
          sensor) + np.save -> {"ms", "events", "frames"}
"""
import json
import struct
import sys
import time

import numpy as np

EVENT = np.dtype([("t", "<i8"), ("x", "<i2"), ("y", "<i2"), ("p", "u1"), ("pad", "V3")])


def decompressor(compression):
    if compression == "none":
        return None
    if compression.startswith("lz4"):
        import lz4.frame

        return lz4.frame.decompress
    import zstandard

    d = zstandard.ZstdDecompressor()
    return lambda b: d.decompress(b, max_output_size=1 << 26)


def decode(buf, first, end, stream_id, decompress):
    """Walk the packets in buf[first:end]; return a list of (t, x, y, p) per event packet."""
    out = []
    mv = memoryview(buf)
    pos = first
    unpack = struct.unpack_from
    while pos + 8 <= end:
        sid, size = unpack("<ii", buf, pos)
        pos += 8
        if sid == stream_id:
            payload = mv[pos : pos + size]
            if decompress is not None:
                payload = decompress(payload)
            # size-prefixed flatbuffer: [size][root uoffset]["EVTS"]...; root table -> vtable -> field 0
            root = 4 + unpack("<I", payload, 4)[0]
            vtable = root - unpack("<i", payload, root)[0]
            field = unpack("<H", payload, vtable + 4)[0]
            vec = root + field + unpack("<I", payload, root + field)[0]
            n = unpack("<I", payload, vec)[0]
            ev = np.frombuffer(payload, dtype=EVENT, count=n, offset=vec + 4)
            out.append((ev["t"].copy(), ev["x"].astype(np.uint16), ev["y"].astype(np.uint16), ev["p"] != 0))
        pos += size
    return out


def best_of(reps, fn):
    best = float("inf")
    result = None
    for _ in range(reps):
        t0 = time.perf_counter()
        result = fn()
        best = min(best, time.perf_counter() - t0)
    return best * 1000, result


def frames(packets, width, height, window_us, out_path):
    t = np.concatenate([b[0] for b in packets])
    x = np.concatenate([b[1] for b in packets])
    y = np.concatenate([b[2] for b in packets])
    p = np.concatenate([b[3] for b in packets])
    k = (t - t[0]) // window_us
    nwin = int(k[-1]) + 1
    # channel 0 = ON, 1 = OFF; nearest-bin resize of the sensor onto 64 x 64
    idx = ((k * 2 + (1 - p)) * 64 + (y.astype(np.int64) * 64 // height)) * 64 + (x.astype(np.int64) * 64 // width)
    f = np.bincount(idx, minlength=nwin * 2 * 64 * 64).astype(np.float32).reshape(nwin, 2, 64, 64)
    np.save(out_path, f)
    return nwin


def main():
    spec = json.loads(sys.argv[1])
    mode = spec["mode"]
    dec = decompressor(spec["compression"])
    first, end, sid = spec["firstPacket"], spec["end"], spec.get("streamId", 0)
    reps = spec.get("reps", 5)
    if mode == "decode":
        with open(spec["path"], "rb") as f:
            buf = f.read()
        decode(buf, first, end, sid, dec)  # warm-up
        ms, packets = best_of(reps, lambda: decode(buf, first, end, sid, dec))
        print(json.dumps({"ms": ms, "events": sum(len(b[0]) for b in packets)}))
        return

    def run():
        with open(spec["path"], "rb") as f:
            buf = f.read()
        packets = decode(buf, first, end, sid, dec)
        n = sum(len(b[0]) for b in packets)
        if mode == "frames":
            return n, frames(packets, spec["width"], spec["height"], spec["windowUs"], spec["out"])
        return n, 0

    ms, (n, nframes) = best_of(reps, run)
    print(json.dumps({"ms": ms, "events": n, "frames": nframes}))


if __name__ == "__main__":
    main()
