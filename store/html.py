"""An HTML page to article text plus the metadata the page itself carries.

The page's DOM is stronger evidence than its visible text: trafilatura scores DOM blocks by
text and link density and drops `<script>`, `<style>`, navigation, asides, footers and
comment sections before any text rule runs. The text it returns then goes through the same
rules as a text capture (`store.cleaning`). The metadata (title, site name, author, date, canonical URL)
fills what the manifest does not give.

Some pages ship the article only inside a schema.org JSON-LD block (`articleBody`) that
scripts render; when that body is clearly longer than what the DOM yields, it is used instead.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass

import trafilatura
from lxml import html as lxml_html

_JSON_LD = "//script[@type='application/ld+json']/text()"
_LONGER = 1.5  # a JSON-LD body replaces the DOM text only when clearly longer


@dataclass(frozen=True)
class HtmlPage:
    """Main text of a page and the metadata found in it (None when the page has none)."""

    text: str
    title: str | None = None
    outlet: str | None = None  # the site's name
    author: str | None = None
    published: str | None = None  # ISO date, as trafilatura normalises it
    url: str | None = None  # canonical URL

    def fields(self) -> dict[str, str]:
        """The metadata as manifest fields, for filling the ones the manifest lacks."""
        found = {
            "title": self.title,
            "outlet": self.outlet,
            "author": self.author,
            "published": self.published,
            "url": self.url,
        }
        return {key: value for key, value in found.items() if value}


def extract_page(markup: str) -> HtmlPage:
    """Main text and metadata of one HTML page (one parse); text is "" when there is none."""
    doc = trafilatura.bare_extraction(
        markup,
        with_metadata=True,
        include_comments=False,
        include_tables=True,
        include_images=False,
        include_links=False,
    )
    text = (doc.text if doc else None) or ""
    ld_body = _json_ld_body(markup)
    if ld_body and len(ld_body) > _LONGER * len(text):
        text = ld_body
    if doc is None:  # no main text in the DOM: the page's metadata may still be there
        doc = trafilatura.extract_metadata(markup)
    if doc is None:
        return HtmlPage(text)
    url = doc.url if (doc.url or "").startswith(("http://", "https://")) else None
    return HtmlPage(
        text=text,
        title=_field(doc.title),
        outlet=_field(doc.sitename),
        author=_field(doc.author),
        published=_field(doc.date),
        url=_field(url),
    )


def _field(value: str | None) -> str | None:
    return " ".join(value.split()) if value and value.strip() else None


def _json_ld_body(markup: str) -> str | None:
    """The longest schema.org `articleBody` in the page's JSON-LD blocks, as paragraphs."""
    try:
        tree = lxml_html.fromstring(markup)
    except (ValueError, lxml_html.etree.ParserError):
        return None
    bodies: list[str] = []
    for block in tree.xpath(_JSON_LD):
        try:
            data = json.loads(block)
        except ValueError:
            continue
        bodies.extend(_article_bodies(data))
    if not bodies:
        return None
    body = max(bodies, key=len)
    # JSON-LD bodies are plain text, sometimes with markup left in; paragraphs stay lines.
    body = re.sub(r"<[^>]{0,200}>", " ", body)
    return "\n".join(line.strip() for line in body.splitlines() if line.strip())


def _article_bodies(data: object) -> list[str]:
    """Every `articleBody` string in a JSON-LD value, however deeply nested (@graph, lists)."""
    if isinstance(data, list):
        return [body for item in data for body in _article_bodies(item)]
    if not isinstance(data, dict):
        return []
    found = [data["articleBody"]] if isinstance(data.get("articleBody"), str) else []
    return found + [body for value in data.values() for body in _article_bodies(value)]
