"""Command-line settings shared by the example scripts: --quick for small runs, --out for PNGs."""

import argparse
from pathlib import Path


def parse(doc, argv=None):
    """Parse --quick and --out; ``doc`` is the example's docstring (empty in the gallery)."""
    description = doc.strip().splitlines()[0] if doc and doc.strip() else None
    parser = argparse.ArgumentParser(description=description)
    parser.add_argument("--quick", action="store_true", help="few draws and small data")
    parser.add_argument("--out", default=".", help="folder for the PNG files")
    args = parser.parse_args(argv)
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    sampler = (
        {"num_warmup": 200, "num_samples": 200, "num_chains": 2}
        if args.quick
        else {"num_warmup": 500, "num_samples": 1000, "num_chains": 4}
    )
    return args, out, sampler
