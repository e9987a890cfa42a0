"""Articles added by link: the page fetched once, with a time and size limit.

The fetched page is then stored and cleaned like an uploaded `.html` (or `.txt`) file, with
its URL kept as the link to the original. Every way a fetch can fail becomes one line that
names the link and what to do.
"""

from __future__ import annotations

import re
import urllib.error
import urllib.request
from dataclasses import dataclass
from urllib.parse import urlsplit

from store.articles import ArticleSkipped, is_web_url, source_id_for

FETCH_TIMEOUT_S = 20.0
_USER_AGENT = "Parallax/0.1 (article reader; +https://github.com/)"
_TYPES = {"text/html": ".html", "application/xhtml+xml": ".html", "text/plain": ".txt"}


@dataclass(frozen=True)
class Fetched:
    url: str  # after redirects
    data: bytes
    filename: str  # a name for the library: the link's last path segment and the type's suffix


def fetch(url: str, max_bytes: int, timeout: float = FETCH_TIMEOUT_S) -> Fetched:
    """The page at `url`, or ArticleSkipped with the reason (bad link, HTTP error, time-out,
    too large, not a web page)."""
    if not is_web_url(url):
        raise ArticleSkipped(
            f"{url}: not a web address. Give a link that starts with http:// or https://."
        )
    request = urllib.request.Request(url, headers={"User-Agent": _USER_AGENT})
    try:
        with urllib.request.urlopen(request, timeout=timeout) as response:
            kind = response.headers.get_content_type()
            if kind not in _TYPES:
                raise ArticleSkipped(
                    f"{url}: the link gives '{kind}', not a web page or text. Save the "
                    "article as .html or .txt and upload that instead."
                )
            data = response.read(max_bytes + 1)
            final = response.geturl()
    except urllib.error.HTTPError as exc:
        raise ArticleSkipped(
            f"{url}: the site answered HTTP {exc.code} ({exc.reason}). Check the link, or save "
            "the page in your browser and upload the file."
        ) from None
    except TimeoutError:
        raise ArticleSkipped(
            f"{url}: no answer within {timeout:g} s. Try again later, or save the page in "
            "your browser and upload the file."
        ) from None
    except urllib.error.URLError as exc:
        raise ArticleSkipped(
            f"{url}: cannot be fetched ({exc.reason}). Check the link and your connection, or "
            "save the page in your browser and upload the file."
        ) from None
    if len(data) > max_bytes:
        raise ArticleSkipped(
            f"{url}: the page is over the {max_bytes / 1e6:g} MB limit. Save the article's "
            "text and upload it, or raise PARALLAX_MAX_FILE_MB."
        )
    return Fetched(final, data, _filename(final) + _TYPES[kind])


def _filename(url: str) -> str:
    """'https://example.org/world/peace-talks-resume.html' -> 'peace-talks-resume'."""
    parts = urlsplit(url)
    segment = next((s for s in reversed(parts.path.split("/")) if s.strip()), "")
    stem = re.sub(r"\.(?:s?html?|php|aspx?)$", "", segment, flags=re.IGNORECASE)
    return source_id_for(stem) if source_id_for(stem) != "article" else source_id_for(parts.netloc)
