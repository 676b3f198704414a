"""Write the bundled example models (stdlib only): `python examples/make_examples.py`.

Two are clean, three carry a payload. Every payload is harmless: if it ever ran, it
would only create an empty file under the system temp folder
(`<tmp>/dozor-example-PWNED`). dozor never runs it; the README shows how to check.
"""

from __future__ import annotations

import io
import json
import os
import struct
import tempfile
import zipfile
from pathlib import Path

HERE = Path(__file__).parent / "models"
MARKER = os.path.join(tempfile.gettempdir(), "dozor-example-PWNED")


def u(text: str) -> bytes:
    raw = text.encode()
    return b"\x8c" + bytes([len(raw)]) + raw


def torch_zip(data_pkl: bytes, tensors: dict[str, bytes]) -> bytes:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_STORED) as z:
        z.writestr("archive/data.pkl", data_pkl)
        z.writestr("archive/byteorder", b"little")
        for key, raw in tensors.items():
            z.writestr(f"archive/data/{key}", raw)
        z.writestr("archive/version", b"3\n")
    return buf.getvalue()


def state_dict_pickle() -> bytes:
    """OrderedDict(weight=<2x2 float32 tensor>), written the way torch.save writes it."""
    body = b"\x80\x02" + b"ccollections\nOrderedDict\nq\x00)Rq\x01"
    body += b"X\x06\x00\x00\x00weightq\x02"
    body += b"ctorch._utils\n_rebuild_tensor_v2\nq\x03"
    body += b"((X\x07\x00\x00\x00storageq\x04ctorch\nFloatStorage\nq\x05"
    body += b"X\x01\x00\x00\x000q\x06X\x03\x00\x00\x00cpuq\x07K\x04tq\x08Q"
    body += b"K\x00K\x02K\x02\x86q\tK\x02K\x01\x86q\n\x89"
    body += b"ccollections\nOrderedDict\nq\x0b)Rq\x0ctq\rRq\x0es."
    return body


def main() -> None:
    HERE.mkdir(parents=True, exist_ok=True)
    floats = struct.pack("<4f", 0.5, -1.0, 2.0, 0.25)
    (HERE / "clean_state_dict.pt").write_bytes(torch_zip(state_dict_pickle(), {"0": floats}))
    header = json.dumps({"weight": {"dtype": "F32", "shape": [2, 2], "data_offsets": [0, 16]},
                         "__metadata__": {"format": "pt"}}).encode()
    (HERE / "clean.safetensors").write_bytes(struct.pack("<Q", len(header)) + header + floats)

    # 1. a torch checkpoint whose data.pkl calls os.system on load
    evil = b"\x80\x02cos\nsystem\nq\x00X" + struct.pack("<I", len(f"touch {MARKER}"))
    evil += f"touch {MARKER}".encode() + b"q\x01\x85q\x02Rq\x03."
    (HERE / "evil_checkpoint.pt").write_bytes(torch_zip(evil, {"0": floats}))
    # 2. a raw pickle renamed .bin that builds "builtins.exec" from memoised strings
    code = f"open({MARKER!r}, 'w').close()"
    body = b"\x80\x04" + u("builtins") + b"\x94" + u("exec") + b"\x94" + b"0"
    body += b"h\x00h\x01\x93" + u(code) + b"\x85R."
    (HERE / "evil_renamed.bin").write_bytes(body)
    # 3. the payload inside a zip inside a tar-like archive name: a nested zip
    inner = torch_zip(evil, {"0": floats})
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as z:
        z.writestr("release/model.pt", inner)
        z.writestr("release/README.txt", "A model bundle.\n")
    (HERE / "evil_bundle.zip").write_bytes(buf.getvalue())
    print(f"wrote {len(list(HERE.iterdir()))} files to {HERE}")


if __name__ == "__main__":
    main()
