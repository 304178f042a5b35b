#!/usr/bin/env python3
"""Run an `evstream export` step graph in Python onnxruntime, with no evstream code (issue 15's contract).

    python3 scripts/check-export-python.py MODEL.onnx FIXTURE_DIR

FIXTURE_DIR holds input.npy [T, N, C, H, W], output.npy [N, classes, H, W] and spikes.json (the shared
reference fixtures of the authors' PyTorch code). From all-zero states, each step feeds `frame` and every
state input from the previous step's `<name>.next`; after T steps the logits are compared with output.npy
and the summed `spikes` with spikes.json. Prints the max |logit difference| and exits 1 above 1e-3 or on
any spike-total mismatch. Needs numpy and onnxruntime (`pip install onnxruntime`).
"""
import json
import sys

import numpy as np
import onnxruntime as ort


def main(model_path: str, fixture: str) -> int:
    x = np.load(f"{fixture}/input.npy").astype(np.float32)
    want = np.load(f"{fixture}/output.npy").astype(np.float32)
    spikes_want = [s["spikes"] for s in json.load(open(f"{fixture}/spikes.json"))]
    s = ort.InferenceSession(model_path, providers=["CPUExecutionProvider"])
    meta = s.get_modelmeta().custom_metadata_map
    inputs = s.get_inputs()
    assert inputs[0].name == "frame", inputs[0].name
    state_names = [i.name for i in inputs[1:]]
    outputs = [o.name for o in s.get_outputs()]
    for n in state_names:
        assert f"{n}.next" in outputs, f"no {n}.next output"
    states = {i.name: np.zeros(i.shape, np.float32) for i in inputs[1:]}
    totals = np.zeros(len(spikes_want), np.float64)
    logits = None
    for t in range(x.shape[0]):
        res = dict(zip(outputs, s.run(outputs, {"frame": x[t], **states})))
        logits = res["logits"]
        totals += res["spikes"]
        states = {n: res[f"{n}.next"] for n in state_names}
    diff = float(np.max(np.abs(logits - want)))
    ok = diff <= 1e-3 and [int(v) for v in totals] == spikes_want
    print(f"{model_path}: onnxruntime {ort.__version__} (python), arch {json.loads(meta['arch'])}, {x.shape[0]} steps, "
          f"{len(state_names)} states: max |logits - output.npy| = {diff:.3e}, spike totals "
          f"{'equal' if [int(v) for v in totals] == spikes_want else 'DIFFER'} ({int(totals.sum())})")
    return 0 if ok else 1


if __name__ == "__main__":
    if len(sys.argv) != 3:
        print(__doc__)
        sys.exit(2)
    sys.exit(main(sys.argv[1], sys.argv[2]))
