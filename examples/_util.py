"""Shared plumbing for the examples: --out / --small flags and optional matplotlib.

Each example writes its figure (PNG) into ``--out`` (default: next to the script) when
matplotlib is installed, and always prints its conclusions.  ``--small`` or the environment
variable ``AUTOGRAD_C_EXAMPLE_SMALL=1`` selects reduced sizes (used by the tests).
"""
import argparse
import importlib.util
import os
import sys

if importlib.util.find_spec("autograd_c") is None:  # running from a source checkout
    sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


def parse_args(description, figure=True):
    """--small (and --out DIR when the script draws a figure); --help prints the usage and exits
    before any work starts."""
    p = argparse.ArgumentParser(description=description)
    if figure:
        p.add_argument("--out", default=os.path.dirname(os.path.abspath(__file__)),
                       help="folder for the PNG figure (default: the examples folder)")
    p.add_argument("--small", action="store_true",
                   help="reduced sizes (also AUTOGRAD_C_EXAMPLE_SMALL=1)")
    args = p.parse_args()
    args.small = args.small or os.environ.get("AUTOGRAD_C_EXAMPLE_SMALL", "") not in ("", "0")
    return args


def figure(nrows=1, ncols=1, size=(6, 4)):
    """(fig, axes) on the non-GUI Agg canvas, or (None, None) without matplotlib."""
    try:
        from matplotlib.figure import Figure
        from matplotlib.backends.backend_agg import FigureCanvasAgg
    except ImportError:
        return None, None
    fig = Figure(figsize=(size[0] * ncols, size[1] * nrows))
    FigureCanvasAgg(fig)
    axes = fig.subplots(nrows, ncols, squeeze=False)
    return fig, axes


def save(fig, args, name):
    if fig is None:
        print("figure: skipped (matplotlib not installed; pip install 'autograd_c[plot]')")
        return None
    os.makedirs(args.out, exist_ok=True)
    path = os.path.join(args.out, name)
    fig.tight_layout()
    fig.savefig(path, dpi=90)
    print(f"figure: {path}")
    return path
