"""Charts that render with no network: Altair specs drawn to inline SVG by vl-convert.

Altair's default HTML output loads Vega from a CDN, so offline (and in a book built offline) a chart is an empty
box. `show(chart)` instead renders the chart in-process with vl-convert (which bundles Vega and Vega-Lite) and
returns an `InlineSVG`, which a notebook displays as an inline <svg> element and Jupyter Book embeds as it is.
Data must be inline (`alt.Data(values=...)` or a DataFrame): vl-convert is told to fetch nothing. The SVG is static,
so tooltips and selections do nothing. Avoid a data column named `count` in a line chart coloured by it: Vega's
facet writes its own `count` into each group and all but one line vanish.

`InlineSVG` also carries the diagrams of `enaslite.diagrams`.
"""

from __future__ import annotations

import hashlib
import re

from IPython.display import SVG

FIGURE_CLASS = "enaslite-figure"
"""CSS class of the <div> that wraps every inline figure; scripts/screenshot_book.py checks each holds an <svg>."""

_PROLOG = re.compile(r"\A\s*(<\?xml[^>]*\?>\s*)?(<!--.*?-->\s*)*(<!DOCTYPE[^>]*>\s*)?(<!--.*?-->\s*)*", re.S)
_IDS = re.compile(r'\bid="([^"]+)"')


class InlineSVG(SVG):
    """An SVG figure that notebooks show inline: both `image/svg+xml` and `text/html` (a <div> holding the <svg>).

    HTML is what Jupyter Book prefers, so the built page holds the <svg> element itself rather than an <img> of a
    file. Element ids are prefixed with a hash of the drawing, so two figures on one page never share an id (two
    Vega charts both define `clip1`, and the second would clip to the first one's box).

    Args:
        data: the SVG text (an XML prolog or DOCTYPE is dropped).
        title: optional accessible name, written as the wrapper's `aria-label`.
    """

    def __init__(self, data: str, title: str | None = None):
        if not isinstance(data, str) or "<svg" not in data:
            received = type(data).__name__ if not isinstance(data, str) else repr(data[:60])
            raise ValueError(f"argument `data`: expected SVG text containing <svg, received {received}")
        self.title = title
        super().__init__(data=_uniquify_ids(_PROLOG.sub("", data)))

    def _repr_html_(self) -> str:
        label = f' aria-label="{_escape_attr(self.title)}"' if self.title else ""
        return f'<div class="{FIGURE_CLASS}"{label}>{_fit_width(self.data)}</div>'

    @property
    def text(self) -> str:
        """The SVG text as embedded."""
        return self.data

    def save(self, path) -> None:
        """Writes the SVG to `path` (UTF-8)."""
        with open(path, "w", encoding="utf-8") as f:
            f.write(self.data)


def _fit_width(svg: str) -> str:
    """Lets the <svg> shrink to the page's column, keeping its aspect ratio (both Vega and Graphviz write a viewBox)."""
    fit = "max-width:100%;height:auto"
    tag = re.match(r"<svg\b[^>]*>", svg)
    if tag is None:
        return svg
    opening = tag.group(0)
    if re.search(r'\sstyle="', opening):
        opening = re.sub(r'\sstyle="', f' style="{fit};', opening, count=1)
    else:
        opening = opening[:4] + f' style="{fit}"' + opening[4:]
    return opening + svg[tag.end():]


def _escape_attr(text: str) -> str:
    return text.replace("&", "&amp;").replace('"', "&quot;").replace("<", "&lt;")


def _uniquify_ids(svg: str) -> str:
    """Prefixes every id and every reference to it (url(#id), href="#id") with a hash of the drawing."""
    ids = set(_IDS.findall(svg))
    if not ids:
        return svg
    prefix = "f" + hashlib.sha1(svg.encode("utf-8")).hexdigest()[:8] + "-"
    pattern = "|".join(re.escape(i) for i in sorted(ids, key=len, reverse=True))
    svg = re.sub(rf'\bid="({pattern})"', lambda m: f'id="{prefix}{m.group(1)}"', svg)
    svg = re.sub(rf"url\(#({pattern})\)", lambda m: f"url(#{prefix}{m.group(1)})", svg)
    return re.sub(rf'(href=")#({pattern})"', lambda m: f'{m.group(1)}#{prefix}{m.group(2)}"', svg)


def vegalite_version(schema_version: str | None = None) -> str:
    """The Vega-Lite version vl-convert should use for Altair's schema: the same major.minor when vl-convert has it,
    else its newest of the same major."""
    import vl_convert

    if schema_version is None:
        import altair
        schema_version = altair.SCHEMA_VERSION
    major, minor = (int(p) for p in schema_version.lstrip("v").split(".")[:2])
    available = [tuple(int(p) for p in v.split(".")) for v in vl_convert.get_vegalite_versions()]
    same_major = sorted(v for v in available if v[0] == major)
    if not same_major:
        raise RuntimeError(f"vl-convert {vl_convert.__version__} has no Vega-Lite {major}.x for Altair's schema "
                           f"{schema_version}; it offers {vl_convert.get_vegalite_versions()}")
    exact = [v for v in same_major if v == (major, minor)]
    best = exact[0] if exact else same_major[-1]
    return f"{best[0]}.{best[1]}"


def to_svg(chart) -> str:
    """Renders an Altair chart (or a Vega-Lite spec dict) to SVG text, offline: no data URL may be fetched."""
    import vl_convert

    spec = chart if isinstance(chart, dict) else chart.to_dict()
    return vl_convert.vegalite_to_svg(spec, vl_version=vegalite_version(), allowed_base_urls=[])


def show(chart, title: str | None = None) -> InlineSVG:
    """The chart as an `InlineSVG`: the last expression of a notebook cell displays it, with no network."""
    if title is None and not isinstance(chart, dict):
        chart_title = getattr(chart, "title", None)
        title = chart_title if isinstance(chart_title, str) else None
    return InlineSVG(to_svg(chart), title=title)


def space_size_chart(curve):
    """Two panels from `enaslite.tables.space_size_curve()`: log10 of the macro space against layers L, and of the
    micro space against nodes per cell B (the thesis' formula and the count of distinct encodings)."""
    import altair as alt

    y = alt.Y("log10 architectures:Q", title="log10(number of architectures)")
    color = alt.Color("formula:N", title="count", legend=alt.Legend(orient="bottom", direction="vertical"))
    panels = []
    for space, x_title in (("macro", "layers L"), ("micro", "nodes per cell B")):
        data = curve[curve["space"] == space]
        panels.append(alt.Chart(data, title=f"{space} space").mark_line(point=True).encode(
            x=alt.X("size parameter:Q", title=x_title, axis=alt.Axis(tickMinStep=1)), y=y, color=color,
        ).properties(width=260, height=220))
    return alt.hconcat(*panels).resolve_scale(color="independent")
