"""Build the documentation: python docs/build.py [--out DIR]

- the guide pages (docs/*.md, docs/guide/*.md) are rendered to HTML with the Markdown renderer
  that ships with pdoc;
- the API reference is generated from the docstrings by pdoc (numpydoc style) into
  <out>/api/.

Needs the built package (python setup.py build_ext --inplace) and the ``docs`` extra
(pip install 'autograd_c[docs]', i.e. pdoc).  Works offline.
"""
import argparse
import html
import inspect
import importlib
import os
import pathlib
import sys

HERE = pathlib.Path(__file__).resolve().parent
ROOT = HERE.parent

PAGE = """<!doctype html><html><head><meta charset="utf-8"><title>{title}</title>
<style>body{{max-width:52em;margin:2em auto;font-family:sans-serif;line-height:1.5;padding:0 1em}}
pre{{background:#f5f5f5;padding:.6em;overflow-x:auto}}code{{background:#f5f5f5}}
img{{max-width:100%}}</style></head><body>
<p><a href="{up}index.html">autograd_c docs</a> | <a href="{up}api/autograd_c.html">API reference</a></p>
{body}</body></html>"""


# the public packages and their public submodules (the others only implement what the package
# exports: nn.layers, nn.losses, optim.optimizers, models.mlp, ...)
PACKAGES = {"autograd_c.nn": ["functional", "init"], "autograd_c.nn.functional": [],
            "autograd_c.optim": ["lr_scheduler"], "autograd_c.models": []}


def list_exports(mod, subpackages):
    """Give a package that declares no ``__all__`` one for this build: its public names.

    pdoc documents a module's own definitions, and the names it imports only when ``__all__``
    lists them; a package that re-exports its classes from submodules (``nn``, ``optim``) would
    otherwise get an empty page.  With ``__all__`` set, pdoc documents only the submodules it
    lists, so the public ones are added.
    """
    if not hasattr(mod, "__all__"):
        mod.__all__ = sorted([n for n, v in vars(mod).items()
                              if not n.startswith("_") and not inspect.ismodule(v)] + subpackages)


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--out", default=str(HERE / "_build"))
    args = ap.parse_args()
    out = pathlib.Path(args.out)
    sys.path.insert(0, str(ROOT))
    try:
        import pdoc
        import markdown2
    except ImportError:
        sys.exit("docs/build.py needs pdoc: pip install 'autograd_c[docs]'")
    import autograd_c  # noqa: F401  (fails early if the extension is not built)

    # API reference
    for name, subpackages in PACKAGES.items():
        list_exports(importlib.import_module(name), subpackages)
    pdoc.render.configure(docformat="numpy", show_source=False)
    pdoc.pdoc("autograd_c", output_directory=out / "api")

    # guide pages
    pages = sorted(HERE.glob("*.md")) + sorted((HERE / "guide").glob("*.md"))
    for md in pages:
        rel = md.relative_to(HERE).with_suffix(".html")
        dest = out / rel
        dest.parent.mkdir(parents=True, exist_ok=True)
        text = md.read_text(encoding="utf-8").replace(".md)", ".html)")
        body = markdown2.markdown(text, extras=["fenced-code-blocks", "tables", "code-friendly"])
        title = html.escape(text.splitlines()[0].lstrip("# ")) if text else rel.stem
        up = "../" * (len(rel.parts) - 1)
        dest.write_text(PAGE.format(title=title, body=body, up=up), encoding="utf-8")
    print(f"docs: {len(pages)} guide pages and the API reference in {out}")
    print(f"open {out / 'index.html'}")


if __name__ == "__main__":
    main()
