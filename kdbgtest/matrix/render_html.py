"""`matrix.html`: one self-contained page (inline CSS, no scripts, no external assets); links are relative.

The page is a Jinja template (templates/matrix.html.j2) rendered with autoescaping on, so kubectl messages,
scenario names and diffs in it stay text. The upgrade report renders its own template with `environment`,
reusing the layout and the matrix sections (templates/matrix_parts.html.j2).
"""

from __future__ import annotations

import functools
from collections.abc import Mapping

import jinja2
from markupsafe import Markup, escape

from kdbgtest.matrix import model, render_md

STYLE = """
body { font: 14px/1.45 system-ui, sans-serif; margin: 2em auto; max-width: 80em; color: #1f2328; }
table { border-collapse: collapse; margin: 1em 0; }
th, td { border: 1px solid #d0d7de; padding: .35em .6em; text-align: left; vertical-align: top; }
th { background: #f6f8fa; }
td.passed { background: #dafbe1; } td.failed, td.error { background: #ffebe9; }
td.skipped { background: #fff8c5; } td.missing { background: #eaeef2; }
.reason { display: block; font-size: 12px; color: #57606a; max-width: 28em; overflow-wrap: anywhere; }
pre { background: #f6f8fa; padding: .5em; overflow-x: auto; }
code { background: #f6f8fa; padding: 0 .25em; border-radius: 3px; }
li { margin: .3em 0; }
"""


def render(matrix: model.Matrix, diffs: Mapping[str, str] | None = None) -> str:
    """The page; `diffs` (diff file -> text) are shown inline, folded, so the page stands alone."""
    template = environment().get_template("matrix.html.j2")
    return template.render(
        title="kdbgtest matrix", style=style(), headline=render_md.headline(matrix), matrix=matrix, diffs=diffs or {}
    )


@functools.cache
def environment(package: str = "kdbgtest.matrix") -> jinja2.Environment:
    """Templates of `package` (its `templates/`), then the matrix report's; autoescaped, strict about names."""
    loaders = [jinja2.PackageLoader(name, "templates") for name in dict.fromkeys([package, "kdbgtest.matrix"])]
    env = jinja2.Environment(
        loader=jinja2.ChoiceLoader(loaders),
        autoescape=True,
        undefined=jinja2.StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
        keep_trailing_newline=True,
    )
    env.filters["bold"] = inline
    env.filters["excerpt"] = render_md.excerpt
    env.globals.update(legend=render_md.LEGEND, icons=render_md.ICONS)
    return env


def style(extra: str = "") -> Markup:
    """The pages' CSS (constants of this code, never data), plus `extra`."""
    return Markup(STYLE + extra)  # only module constants reach here: CSS is not escaped as text


def inline(text: str) -> Markup:
    """The headline's **bold** as <strong>, everything else escaped."""
    parts = escape(text).split("**")
    return Markup("").join(Markup("<strong>{}</strong>").format(p) if i % 2 else p for i, p in enumerate(parts))
