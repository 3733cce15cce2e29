"""The ``bwestimators`` command."""

import argparse
import sys
from pathlib import Path

from bwestimators import __version__


def _demo(args):
    from bwestimators.datasets import generate_fake_lfp

    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    df = generate_fake_lfp(mouse_response_slope=9, n_trials=30, random_state=args.seed).df
    df.to_csv(out / "lfp_data.csv", index=False)
    print(
        f"Fake LFP power: {len(df)} trials of {df['mouse'].nunique()} mice; "
        f"fit 'Log power' ~ stim with mouse as group. Data written to {out / 'lfp_data.csv'}."
    )
    return 0


def build_parser():
    """The argument parser of the ``bwestimators`` command."""
    parser = argparse.ArgumentParser(
        prog="bwestimators",
        description="Treatment effects in nested experimental data.",
        formatter_class=argparse.ArgumentDefaultsHelpFormatter,
    )
    parser.add_argument("--version", action="version", version=f"bwestimators {__version__}")
    sub = parser.add_subparsers(dest="command", required=True)
    demo = sub.add_parser(
        "demo",
        help="fit the example LFP data with every estimator",
        formatter_class=argparse.ArgumentDefaultsHelpFormatter,
    )
    demo.add_argument("--out", default="bwestimators-demo", help="folder for figures and tables")
    demo.add_argument("--quick", action="store_true", help="fewer draws, for a smoke test")
    demo.add_argument("--seed", type=int, default=0, help="random seed")
    demo.set_defaults(func=_demo)
    return parser


def main(argv=None):
    """Run the command line; return the exit code."""
    args = build_parser().parse_args(argv)
    return args.func(args)


if __name__ == "__main__":
    sys.exit(main())
