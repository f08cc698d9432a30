"""
Writing a file all at once or not at all: the one way every checkpoint, codes file, wav and report of
the project is written.

    write_atomic(Path("out/report.json"), lambda tmp: tmp.write_text(text))
"""
import os
from pathlib import Path


def write_atomic(path, write):
    """Call write(tmp) to fill a temporary file beside `path`, put its bytes on disk, then rename it over
    `path` (whose folder must exist).

    A run interrupted mid-write leaves the old file, or none, never a truncated one under the real name:
    the rename is atomic on one filesystem, and the fsync before it keeps a power cut from publishing a
    name whose data never reached the disk. The temporary name is hidden and keeps the suffix
    (.x.wav.tmp.wav), so a writer that picks its format by it (soundfile) still can. If write raises, the
    temporary file goes."""
    path = Path(path)
    tmp = path.with_name(f".{path.name}.tmp{path.suffix}")
    try:
        write(tmp)
        with open(tmp, "rb+") as f:
            os.fsync(f.fileno())
        os.replace(tmp, path)
    finally:
        tmp.unlink(missing_ok=True)
