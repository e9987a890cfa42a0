"""Article files and their metadata: what the library holds before cleaning.

A library is a folder of `.txt`, `.md` and `.html` files with an optional `sources.toml`
manifest. Files without a manifest entry still ingest: id from the file stem, title from
the first line, outlet unknown. Everything here treats one bad file or manifest entry as
that entry's problem: it is reported in one line and the rest of the library still reads.
"""

from __future__ import annotations

import codecs
import datetime as dt
import os
import re
import stat
import tomllib
import unicodedata
import urllib.parse
from dataclasses import dataclass, field
from pathlib import Path

from store.errors import ParallaxError

SUPPORTED_SUFFIXES = (".txt", ".md", ".html", ".htm")
MANIFEST = "sources.toml"
UNKNOWN_OUTLET = "Unknown outlet"
# Manifest fields shown to readers, then `file`: the name an article was added under, which
# tells a re-added (updated) file from a different one whose name maps to the same id.
META_FIELDS = ("title", "outlet", "author", "published", "url")
ENTRY_FIELDS = (*META_FIELDS, "file")
_ID_UNSAFE = re.compile(r"[\W_]+")
# Byte-order marks, longest first: UTF-32's little-endian mark starts like UTF-16's.
_BOMS = (
    (codecs.BOM_UTF32_LE, "utf-32"),
    (codecs.BOM_UTF32_BE, "utf-32"),
    (codecs.BOM_UTF16_LE, "utf-16"),
    (codecs.BOM_UTF16_BE, "utf-16"),
)


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


@dataclass
class Manifest:
    """The usable entries of a `sources.toml` (every value a string), keyed by id, and one
    line for each entry or field that was left out and why."""

    entries: dict[str, dict[str, str]] = field(default_factory=dict)
    problems: list[str] = field(default_factory=list)

    def get(self, source_id: str) -> dict[str, str] | None:
        return self.entries.get(source_id)


def source_id_for(name: str) -> str:
    """A stable id from a file stem or title: lower-case words joined by dashes.

    Accents are dropped (\u00dcber -> uber) and other scripts kept (\u8a18\u4e8b), so a
    name that is not plain ASCII still has an id of its own rather than an empty one.
    """
    decomposed = unicodedata.normalize("NFKD", name.lower())
    bare = unicodedata.normalize(
        "NFC", "".join(c for c in decomposed if not unicodedata.combining(c))
    )
    return _ID_UNSAFE.sub("-", bare).strip("-") or "article"


def load_manifest(folder: Path) -> Manifest:
    """The folder's manifest, each entry checked on its own (see `Manifest`).

    A file that is not TOML at all is an error: ingesting without it would strip every
    article of its metadata, so the user must fix it first.
    """
    path = folder / MANIFEST
    try:
        if not path.exists():
            return Manifest()
        raw = read_regular(path)
        data = tomllib.loads(raw.decode("utf-8"))
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
        raise ParallaxError(f"{path} is not valid TOML ({exc}): fix or remove it.") from None
    except (ArticleSkipped, OSError) as exc:
        raise ParallaxError(f"Cannot read {path} ({_reason(exc)}): fix or remove it.") from None
    manifest = Manifest()
    sources = data.get("source", [])
    if isinstance(sources, dict):
        manifest.problems.append(
            f"{path}: `[source]` is a single table; write each entry as `[[source]]`. "
            "Read as one entry."
        )
        sources = [sources]
    elif not isinstance(sources, list):
        manifest.problems.append(
            f"{path}: `source` must be a list of `[[source]]` entries; metadata ignored."
        )
        sources = []
    for number, raw_entry in enumerate(sources, start=1):
        entry = _checked_entry(raw_entry, f"{path}, entry {number}", manifest.problems)
        if entry is not None:
            manifest.entries[entry.pop("id")] = entry
    return manifest


def _checked_entry(raw: object, where: str, problems: list[str]) -> dict[str, str] | None:
    """One `[[source]]` as strings; a field of the wrong type is dropped with one line."""
    if not isinstance(raw, dict):
        problems.append(f"{where}: not a table of fields; ignored.")
        return None
    source_id = raw.get("id")
    if not isinstance(source_id, str) or not source_id.strip():
        problems.append(f"{where}: no `id` (the file's name without extension); ignored.")
        return None
    entry = {"id": source_id}
    for key in ENTRY_FIELDS:
        value = raw.get(key)
        if value is None:
            continue
        if key == "published" and isinstance(value, dt.date | dt.datetime):
            value = value.isoformat()
        if not isinstance(value, str):
            kind = {bool: "true/false", int: "a number", float: "a number", list: "a list"}
            got = kind.get(type(value), "a table" if isinstance(value, dict) else "not text")
            problems.append(
                f"{where} ({source_id}): `{key}` must be text in quotes, got {got}; ignored."
            )
            continue
        value = value.strip()
        if key == "url" and value and not is_web_url(value):
            problems.append(f"{where} ({source_id}): `url` is not an http(s) web address; ignored.")
            continue
        if value:
            entry[key] = value
    return entry


def discover(paths: list[Path]) -> tuple[list[Path], list[str]]:
    """Expand folders into article files; report paths that do not exist or cannot be read.

    Only regular files count (a symlink to one included): a folder, a named pipe or a
    symlink loop named `x.txt` is reported, never opened, so nothing can hang on it.
    """
    files: list[Path] = []
    problems: list[str] = []
    for path in paths:
        kind = _kind(path)
        if kind == "folder":
            try:
                children = sorted(path.iterdir())
            except OSError as exc:
                problems.append(f"{path}: cannot list the folder ({_reason(exc)}), skipped")
                continue
            for child in children:
                if child.suffix.lower() not in SUPPORTED_SUFFIXES:
                    continue
                if (child_kind := _kind(child)) == "file":
                    files.append(child)
                else:
                    problems.append(f"{child}: {child_kind}, not a file; skipped")
        elif kind == "file":
            files.append(path)
        elif kind == "missing":
            problems.append(f"{path}: no such file or folder, skipped")
        else:
            problems.append(f"{path}: {kind}, not a file; skipped")
    return files, problems


def _kind(path: Path) -> str:
    """'file', 'folder', 'missing', or what else the path is, in words."""
    try:
        mode = path.stat().st_mode
    except FileNotFoundError:
        return "a symbolic link to nothing" if path.is_symlink() else "missing"
    except OSError as exc:
        return f"unreadable ({_reason(exc)})"
    if stat.S_ISREG(mode):
        return "file"
    if stat.S_ISDIR(mode):
        return "folder"
    if stat.S_ISFIFO(mode):
        return "a named pipe"
    return "a device or socket"


def _reason(exc: BaseException) -> str:
    return getattr(exc, "strerror", None) or str(exc)


def read_regular(path: Path) -> bytes:
    """The bytes of a regular file. Opened without blocking and checked after opening, so a
    file swapped for a named pipe after `discover` looked at it cannot hang the reader."""
    fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK)
    with os.fdopen(fd, "rb") as handle:
        if not stat.S_ISREG(os.fstat(fd).st_mode):
            raise ArticleSkipped(f"{path}: not a regular file, skipped.")
        return handle.read()


def check_suffix(path: Path) -> None:
    if path.suffix.lower() not in SUPPORTED_SUFFIXES:
        raise ArticleSkipped(
            f"{path}: unsupported file type '{path.suffix}', skipped. "
            "Save the article as .txt, .md or .html."
        )


def check_size(name: str, size: int, max_bytes: int) -> None:
    if size > max_bytes:
        raise ArticleSkipped(
            f"{name}: {size / 1e6:.1f} MB is over the {max_bytes / 1e6:g} MB limit, skipped. "
            "Split the file or raise PARALLAX_MAX_FILE_MB."
        )


def read_article(
    path: Path, entry: dict[str, str] | None, max_bytes: int, source_id: str | None = None
) -> Article:
    """Read one file as text; raise ArticleSkipped with the reason when it cannot be used.
    `source_id` is the id the library gave the file (its stem's by default)."""
    check_suffix(path)
    try:
        check_size(str(path), path.stat().st_size, max_bytes)
        data = read_regular(path)
    except OSError as exc:
        raise ArticleSkipped(f"{path}: cannot be read ({_reason(exc)}), skipped.") from None
    decoded = decode_article(data, path.suffix.lower(), str(path))
    return make_article(decoded.text, source_id or path.stem, entry, path, decoded.page)


def _decode_text(data: bytes, name: str) -> str:
    """UTF-8 (with or without BOM), or UTF-16/32 announced by a byte-order mark."""
    for bom, encoding in _BOMS:
        if data.startswith(bom):
            try:
                return data.decode(encoding)
            except UnicodeDecodeError as exc:
                raise ArticleSkipped(
                    f"{name}: damaged {encoding.upper()} text (byte {exc.start}), skipped. "
                    "Re-save the file as UTF-8."
                ) from None
    if b"\x00" in data:
        raise ArticleSkipped(f"{name}: binary file, skipped. Save the article as text.")
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise ArticleSkipped(
            f"{name}: not UTF-8 text (byte {exc.start}), skipped. Re-save the file as UTF-8."
        ) from None


def decode_article(data: bytes, suffix: str, name: str) -> DecodedArticle:
    """Bytes to article text; HTML goes through the page's DOM (`store.html`)."""
    text = _decode_text(data, name)
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
        published=entry.get("published"),
        url=entry.get("url") if is_web_url(entry.get("url")) else None,
    )
    return Article(meta=meta, text=text, path=path)


def is_web_url(url: str | None) -> bool:
    """Only whole http(s) links reach the UI: a `javascript:` URL, or one with spaces or
    control characters that could end the link and start markup, is not a web address."""
    if not url or any(c.isspace() or unicodedata.category(c)[0] == "C" for c in url):
        return False
    try:
        parts = urllib.parse.urlsplit(url)
    except ValueError:
        return False
    return parts.scheme.lower() in ("http", "https") and bool(parts.hostname)


def fallback_title(meta: SourceMeta, cleaned: str) -> str:
    """No title in the manifest: a short first line of the cleaned text, else the id's words."""
    first = next((line.strip() for line in cleaned.splitlines() if line.strip()), "")
    first = first.lstrip("# ").strip()
    if 0 < len(first) <= 150:
        return first
    words = meta.id.removeprefix(source_id_for(meta.outlet) + "-").replace("-", " ")
    return words[:1].upper() + words[1:]
