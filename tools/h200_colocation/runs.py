"""Reading the sweeps' records back (the fit, the checks, the report): each mix's record
(<mix>_b<batch>.json, written by sweep.py) is kept gzip-compressed under docs/results
(<mix>_b<batch>.json.gz), where the uncompressed ones made the working tree too large to send to
the device (the device tool takes 64 MiB). Both forms are read alike."""
import glob
import gzip
import json
import os


def stored(path):
    """`path`, or its compressed copy `path` + ".gz", whichever is there; None when neither is."""
    for candidate in (path, path + ".gz"):
        if os.path.exists(candidate):
            return candidate
    return None


def read_json(path):
    """The JSON document at `path`, or at `path` + ".gz" when only the compressed copy is there
    (a path ending in .gz is read compressed)."""
    found = stored(path) or path  # neither: open() says the file is missing
    with (gzip.open if found.endswith(".gz") else open)(found, "rt") as f:
        return json.load(f)


def run_files(folder, pattern="mix*_b*.json"):
    """The files in `folder` matching `pattern`, compressed or not, sorted by name (each once: the
    uncompressed one where both are there)."""
    found = {p[:-3]: p for p in glob.glob(os.path.join(folder, pattern + ".gz"))}
    found.update({p: p for p in glob.glob(os.path.join(folder, pattern))})
    return [found[k] for k in sorted(found)]
