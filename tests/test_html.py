"""HTML articles: the page's DOM and metadata, then the same text rules, into a real store.

The page below is made up for these tests; it has the furniture real news pages carry:
navigation, a share bar, an embedded post, a related-story list, a newsletter box, a comment
section, scripts, styles and a cookie banner.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest

from assistant.service import Assistant
from assistant.settings import Settings
from store.articles import UNKNOWN_OUTLET, read_article
from store.embeddings import HashingEmbedder
from store.html import extract_page

BODY = [
    "The harbour council of Port Elsinore voted on Monday to close the old ferry pier after "
    "engineers found that two of its timber piles had rotted through below the waterline.",
    "Ferries will dock at the freight quay from next week, which adds a ten-minute walk for "
    "passengers, and the council said it would run a free shuttle bus during the morning rush.",
    "Repairs are expected to take most of the summer, according to the council's engineer, "
    "who said the cost would depend on how many more piles the divers find in poor condition.",
    "Local shopkeepers near the pier said they feared losing trade while the works go on, and "
    "asked the council to put up signs pointing visitors to the shops from the new landing.",
]
CHROME = [
    "Home",
    "Weather",
    "Share on Facebook",
    "Copy link",
    "Ferry timetable changes announced for the islands",
    "Sign up for our morning briefing",
    "This comment is a reader's opinion about the pier",
    "trackPageView",
    "font-family",
    "We use cookies to improve your experience",
    "Lighthouse keeper retires after forty years",
    "Boat show returns to the marina in June",
]

PAGE = f"""<!doctype html>
<html lang="en">
<head>
  <meta charset="utf-8">
  <title>Old ferry pier to close for repairs | The Harbour Gazette</title>
  <meta property="og:title" content="Old ferry pier to close for repairs">
  <meta property="og:site_name" content="The Harbour Gazette">
  <meta name="author" content="Mara Lindqvist">
  <meta property="article:published_time" content="2024-05-13T09:30:00+00:00">
  <link rel="canonical" href="https://gazette.example.org/news/2024/05/ferry-pier-closes">
  <style>body {{ font-family: serif; }} .share {{ display: flex; }}</style>
  <script>window.analytics = {{ trackPageView: true }};</script>
</head>
<body>
  <div class="cookie-banner">We use cookies to improve your experience. <button>OK</button></div>
  <header>
    <nav class="main-nav"><ul>
      <li><a href="/">Home</a></li><li><a href="/news">News</a></li>
      <li><a href="/weather">Weather</a></li><li><a href="/sport">Sport</a></li>
    </ul></nav>
  </header>
  <main>
    <article>
      <h1>Old ferry pier to close for repairs</h1>
      <p class="byline">By <a href="/authors/mara">Mara Lindqvist</a>,
        <time datetime="2024-05-13">13 May 2024</time></p>
      <div class="share"><a href="#">Share on Facebook</a> <a href="#">Share on X</a>
        <a href="#">Copy link</a></div>
      <p>{BODY[0]}</p>
      <p>{BODY[1]}</p>
      <blockquote class="twitter-tweet"><p>The pier is closed, use the freight quay.
        pic.twitter.com/Pier123</p>&mdash; Port Elsinore Ferries (@elsinoreferries)
        <a href="https://twitter.com/x/status/1">May 13, 2024</a></blockquote>
      <script async src="https://platform.twitter.com/widgets.js"></script>
      <p>{BODY[2]}</p>
      <aside class="newsletter"><h3>Sign up for our morning briefing</h3>
        <p>Get the news in your inbox every morning.</p></aside>
      <p>{BODY[3]}</p>
    </article>
    <section class="related">
      <h2>Related stories</h2>
      <ul>
        <li><a href="/a">Ferry timetable changes announced for the islands</a></li>
        <li><a href="/b">Lighthouse keeper retires after forty years</a></li>
        <li><a href="/c">Boat show returns to the marina in June</a></li>
      </ul>
    </section>
    <section id="comments" class="comments">
      <h2>3 comments</h2>
      <div class="comment"><p>This comment is a reader's opinion about the pier, and it
        goes on for a while so that it looks like prose to an extractor.</p></div>
    </section>
  </main>
  <footer><p>&copy; 2024 The Harbour Gazette. All rights reserved.</p>
    <a href="/privacy">Privacy policy</a></footer>
</body>
</html>
"""


def test_extract_page_returns_text_and_the_page_metadata() -> None:
    page = extract_page(PAGE)
    assert page.title == "Old ferry pier to close for repairs"
    assert page.author == "Mara Lindqvist"
    assert page.published == "2024-05-13"
    assert page.url == "https://gazette.example.org/news/2024/05/ferry-pier-closes"
    assert page.outlet == "The Harbour Gazette"
    for paragraph in BODY:
        assert paragraph in page.text


def test_manifest_fields_win_over_the_page_and_fill_from_it(tmp_path: Path) -> None:
    path = tmp_path / "pier.html"
    path.write_text(PAGE, encoding="utf-8")
    entry = {"id": "pier", "title": "Pier closes (manifest title)", "outlet": ""}
    meta = read_article(path, entry, 10**6).meta
    assert meta.title == "Pier closes (manifest title)"
    assert meta.outlet == "The Harbour Gazette"  # empty in the manifest: the page fills it
    assert meta.author == "Mara Lindqvist"
    assert meta.published == "2024-05-13"


def test_json_ld_article_body_replaces_a_script_rendered_page() -> None:
    body = " ".join(BODY)
    markup = (
        "<html><head><title>Pier</title>"
        '<script type="application/ld+json">{"@context": "https://schema.org", "@graph": '
        f'[{{"@type": "NewsArticle", "headline": "Pier", "articleBody": "{body}"}}]}}'
        "</script></head><body><div id='app'><p>Loading the story…</p></div></body></html>"
    )
    page = extract_page(markup)
    assert page.text == body
    assert page.title == "Pier"


def test_page_without_metadata_has_none() -> None:
    page = extract_page(f"<html><body><p>{BODY[0]}</p><p>{BODY[1]}</p></body></html>")
    assert (page.title, page.author, page.published, page.url) == (None, None, None, None)


@pytest.fixture
def html_assistant(make_settings: Callable[..., Settings], tmp_path: Path) -> Assistant:
    folder = tmp_path / "pages"
    folder.mkdir()
    (folder / "ferry-pier.html").write_text(PAGE, encoding="utf-8")
    return Assistant(make_settings(articles_dir=folder), HashingEmbedder())


def test_html_article_ingests_with_page_metadata_and_no_chrome(
    html_assistant: Assistant,
) -> None:
    report = html_assistant.ingest()
    assert report.added == ["ferry-pier"] and report.skipped == []
    (info,) = html_assistant.sources()
    assert info.meta.title == "Old ferry pier to close for repairs"
    assert info.meta.author == "Mara Lindqvist"
    assert info.meta.published == "2024-05-13"
    assert info.meta.url == "https://gazette.example.org/news/2024/05/ferry-pier-closes"
    assert info.meta.outlet != UNKNOWN_OUTLET
    stored = " ".join(chunk.text for chunk in html_assistant.chunks("ferry-pier"))
    for paragraph in BODY:
        assert paragraph in stored
    for chrome in CHROME:
        assert chrome not in stored, chrome
    assert "pic.twitter.com" not in stored
    assert "{" not in stored  # no script or style text


def test_uploaded_html_keeps_the_page_metadata(html_assistant: Assistant) -> None:
    source_id, report = html_assistant.add_article(PAGE.encode(), "upload.html", {})
    assert report.skipped == []
    meta = next(s.meta for s in html_assistant.sources() if s.meta.id == source_id)
    assert meta.author == "Mara Lindqvist"
    assert meta.url == "https://gazette.example.org/news/2024/05/ferry-pier-closes"
