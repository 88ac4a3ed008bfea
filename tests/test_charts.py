"""Tests for enaslite.charts: Altair charts rendered to inline SVG with no network."""

import re

import altair as alt
import pandas as pd
import pytest

from enaslite import charts, tables

# Namespace names inside any SVG: identifiers, never fetched.
_NAMESPACES = ("http://www.w3.org/2000/svg", "http://www.w3.org/1999/xlink")


def _urls(text: str) -> set:
    return set(re.findall(r"https?://[^\s\"'<>)]+", text)) - set(_NAMESPACES)


def _line_chart():
    return alt.Chart(pd.DataFrame({"x": [1, 2, 3], "y": [3.0, 1.0, 2.0]})).mark_line().encode(x="x:Q", y="y:Q")


def test_show_renders_inline_svg_without_urls():
    """A chart renders to SVG text holding <svg and no http(s) URL (no CDN, no Vega scripts)."""
    figure = charts.show(_line_chart())
    assert "<svg" in figure.text
    assert _urls(figure.text) == set()
    assert "<script" not in figure.text and "vega-embed" not in figure.text


def test_show_offers_html_and_svg_reprs():
    """The figure displays as HTML (a div of the figure class around the <svg>) and as image/svg+xml."""
    figure = charts.show(_line_chart().properties(title="a title"))
    html = figure._repr_html_()
    assert html.startswith(f'<div class="{charts.FIGURE_CLASS}" aria-label="a title"><svg')
    assert html.endswith("</svg></div>")
    assert figure._repr_svg_().startswith("<svg")
    assert '<svg style="max-width:100%;height:auto"' in html  # shrinks to the page's column


def test_fit_width_merges_an_existing_style():
    """An <svg> that has a style keeps it after the fitting rules."""
    html = charts.InlineSVG('<svg style="color:red" viewBox="0 0 1 1"></svg>')._repr_html_()
    assert 'style="max-width:100%;height:auto;color:red"' in html and html.count("style=") == 1


def test_url_data_is_refused():
    """A chart whose data is a URL fails instead of fetching it."""
    chart = alt.Chart("https://example.com/data.csv").mark_point().encode(x="a:Q")
    with pytest.raises(ValueError, match="External data url not allowed"):
        charts.to_svg(chart)


def test_spec_dict_is_accepted():
    """A Vega-Lite spec given as a dict renders as the chart does."""
    assert charts.to_svg(_line_chart().to_dict()) == charts.to_svg(_line_chart())


def test_ids_are_prefixed_with_their_references():
    """Every id and every url(#id) / href="#id" pointing at it gets the same per-drawing prefix."""
    svg = ('<svg><defs><clipPath id="clip1"><rect/></clipPath></defs><g clip-path="url(#clip1)"/>'
           '<use href="#clip1"/><a id="clip10"/></svg>')
    out = charts.InlineSVG(svg).text
    prefix = re.search(r'id="(f[0-9a-f]{8}-)clip1"', out).group(1)
    assert f'url(#{prefix}clip1)' in out and f'href="#{prefix}clip1"' in out and f'id="{prefix}clip10"' in out
    other = charts.InlineSVG(svg.replace("<a", "<b")).text
    assert re.search(r'id="(f[0-9a-f]{8}-)clip1"', other).group(1) != prefix


def test_prolog_is_dropped():
    """An XML declaration and DOCTYPE (as Graphviz writes them) are not embedded in HTML."""
    svg = ('<?xml version="1.0" encoding="UTF-8" standalone="no"?>\n<!DOCTYPE svg PUBLIC "-//W3C//DTD SVG 1.1//EN"\n'
           ' "http://www.w3.org/Graphics/SVG/1.1/DTD/svg11.dtd">\n<!-- made by dot -->\n<svg width="1"></svg>')
    assert charts.InlineSVG(svg).text.startswith("<svg")


def test_non_svg_is_rejected():
    """InlineSVG refuses text without <svg, naming the argument."""
    with pytest.raises(ValueError, match="argument `data`: expected SVG text containing <svg"):
        charts.InlineSVG("<div></div>")


@pytest.mark.parametrize("schema, expected", [("v6.4.1", "6.4"), ("v6.99.0", None), ("v5.8.0", "5.8")])
def test_vegalite_version_matches_altair_schema(schema, expected):
    """vl-convert runs the schema's major.minor when it has it, else its newest release of that major."""
    import vl_convert
    newest6 = max((v for v in vl_convert.get_vegalite_versions() if v.startswith("6.")),
                  key=lambda v: tuple(map(int, v.split("."))))
    assert charts.vegalite_version(schema) == (expected or newest6)


def test_vegalite_version_unknown_major():
    """A schema major vl-convert lacks fails naming both versions."""
    with pytest.raises(RuntimeError, match="no Vega-Lite 99.x"):
        charts.vegalite_version("v99.0.0")


def test_space_size_chart_draws_every_line():
    """The space-size chart draws three lines: macro, and the micro formula and encodings count."""
    svg = charts.show(charts.space_size_chart(tables.space_size_curve())).text
    assert svg.count('aria-roledescription="line mark"') == 3
    assert _urls(svg) == set()
