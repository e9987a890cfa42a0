"""Article files and their metadata: what the library holds before cleaning.

A library is a folder of `.txt`, `.md` and `.html` files with an optional `sources.toml`
manifest. Files without a manifest entry still ingest: id from the file stem, title from
the first line, outlet unknown.
"""

from __future__ import annotations

import re
import tomllib
from dataclasses import dataclass
from pathlib import Path

from store.errors import ParallaxError

SUPPORTED_SUFFIXES = (".txt", ".md", ".html", ".htm")
MANIFEST = "sources.toml"
UNKNOWN_OUTLET = "Unknown outlet"
_ID_UNSAFE = re.compile(r"[^a-z0-9]+")


class ArticleSkipped(ParallaxError):
    """A file that cannot be ingested; the message names the file and why."""


@dataclass(frozen=True)
class SourceMeta:
    id: str
    title: str
    outlet: str
    author: str | None = None
    published: str | None = None
    url: str | None = None


@dataclass(frozen=True)
class DecodedArticle:
    text: str
    page: dict[str, str]  # metadata the file itself carries (HTML): fills manifest gaps


@dataclass(frozen=True)
class Article:
    meta: SourceMeta
    text: str
    path: Path | None


def source_id_for(name: str) -> str:
    """A stable id from a file stem or title: lower-case words joined by dashes."""
    return _ID_UNSAFE.sub("-", name.lower()).strip("-") or "article"


def load_manifest(folder: Path) -> dict[str, dict[str, str]]:
    path = folder / MANIFEST
    if not path.is_file():
        return {}
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
        raise ParallaxError(f"{path} is not valid TOML ({exc}): fix or remove it.") from exc
    return {str(entry["id"]): entry for entry in data.get("source", []) if "id" in entry}


def discover(paths: list[Path]) -> tuple[list[Path], list[str]]:
    """Expand folders into article files; report paths that do not exist."""
    files: list[Path] = []
    problems: list[str] = []
    for path in paths:
        if path.is_dir():
            files.extend(
                sorted(p for p in path.iterdir() if p.suffix.lower() in SUPPORTED_SUFFIXES)
            )
        elif path.is_file():
            files.append(path)
        else:
            problems.append(f"{path}: no such file or folder, skipped")
    return files, problems


def read_article(path: Path, entry: dict[str, str] | None, max_bytes: int) -> Article:
    """Read one file as text; raise ArticleSkipped with the reason when it cannot be used."""
    if path.suffix.lower() not in SUPPORTED_SUFFIXES:
        raise ArticleSkipped(
            f"{path}: unsupported file type '{path.suffix}', skipped. "
            "Save the article as .txt, .md or .html."
        )
    size = path.stat().st_size
    if size > max_bytes:
        raise ArticleSkipped(
            f"{path}: {size / 1e6:.1f} MB is over the {max_bytes / 1e6:g} MB limit, skipped. "
            "Split the file or raise PARALLAX_MAX_FILE_MB."
        )
    decoded = decode_article(path.read_bytes(), path.suffix.lower(), str(path))
    return make_article(decoded.text, path.stem, entry, path, decoded.page)


def decode_article(data: bytes, suffix: str, name: str) -> DecodedArticle:
    """Bytes to article text; HTML goes through the page's DOM (`store.html`)."""
    if b"\x00" in data:
        raise ArticleSkipped(f"{name}: binary file, skipped. Save the article as text.")
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise ArticleSkipped(
            f"{name}: not UTF-8 text (byte {exc.start}), skipped. Re-save the file as UTF-8."
        ) from exc
    page: dict[str, str] = {}
    if suffix in (".html", ".htm"):
        from store.html import extract_page  # lazy: only HTML needs trafilatura

        extracted = extract_page(text)
        text, page = extracted.text, extracted.fields()
    if not text.strip():
        raise ArticleSkipped(f"{name}: no text in the file, skipped.")
    return DecodedArticle(text, page)


def make_article(
    text: str,
    stem: str,
    entry: dict[str, str] | None,
    path: Path | None,
    page: dict[str, str] | None = None,
) -> Article:
    """The manifest entry's fields, with the page's own metadata filling the ones it lacks."""
    source_id = source_id_for(stem)
    entry = {**(page or {}), **{key: value for key, value in (entry or {}).items() if value}}
    outlet = entry.get("outlet") or UNKNOWN_OUTLET
    meta = SourceMeta(
        id=source_id,
        title=entry.get("title") or "",
        outlet=outlet,
        author=entry.get("author"),
        published=str(entry["published"]) if entry.get("published") else None,
        url=entry.get("url") if is_web_url(entry.get("url")) else None,
    )
    return Article(meta=meta, text=text, path=path)


def is_web_url(url: str | None) -> bool:
    """Only http(s) links reach the UI: a `javascript:` URL in a manifest is dropped."""
    return bool(url) and url.lower().startswith(("http://", "https://"))


def fallback_title(meta: SourceMeta, cleaned: str) -> str:
    """No title in the manifest: a short first line of the cleaned text, else the id's words."""
    first = next((line.strip() for line in cleaned.splitlines() if line.strip()), "")
    first = first.lstrip("# ").strip()
    if 0 < len(first) <= 150:
        return first
    words = meta.id.removeprefix(source_id_for(meta.outlet) + "-").replace("-", " ")
    return words[:1].upper() + words[1:]
