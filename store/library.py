"""The user's library: a folder of article files plus a `sources.toml` manifest.

On first use the library is seeded with the shipped articles; adding or removing an
article (CLI or app) changes this folder, and ingest makes the store match it.
"""

from __future__ import annotations

import json
import shutil
import tomllib
from pathlib import Path

from store.articles import (
    MANIFEST,
    SUPPORTED_SUFFIXES,
    Article,
    ArticleSkipped,
    decode_article,
    discover,
    is_web_url,
    load_manifest,
    make_article,
    read_article,
    source_id_for,
)
from store.errors import ParallaxError

_FIELDS = ("title", "outlet", "author", "published", "url")


class Library:
    def __init__(self, folder: Path, seed: Path | None, max_bytes: int) -> None:
        self.folder = folder
        self.seed = seed
        self.max_bytes = max_bytes

    def ensure(self) -> None:
        if self.folder.is_dir():
            return
        try:
            self.folder.mkdir(parents=True)
            if self.seed and self.seed.is_dir():
                for path in self.seed.iterdir():
                    if path.suffix.lower() in SUPPORTED_SUFFIXES or path.name == MANIFEST:
                        shutil.copy2(path, self.folder / path.name)
        except OSError as exc:
            raise ParallaxError(
                f"Cannot create the library folder {self.folder} ({exc.strerror}): set "
                "PARALLAX_LIBRARY_DIR to a folder you can write."
            ) from None

    def articles(self) -> tuple[list[Article], list[str]]:
        """Every readable article, and a message for each file that was skipped."""
        self.ensure()
        manifest = load_manifest(self.folder)
        files, problems = discover([self.folder])
        articles = []
        for path in files:
            try:
                articles.append(read_article(path, manifest.get(path.stem), self.max_bytes))
            except ArticleSkipped as exc:
                problems.append(str(exc))
        return articles, problems

    def article(self, source_id: str) -> Article | None:
        """One article, read without touching the rest of the library."""
        path = self.path_of(source_id)
        if path is None:
            return None
        return read_article(path, load_manifest(self.folder).get(path.stem), self.max_bytes)

    def _files(self) -> list[Path]:
        return discover([self.folder])[0] if self.folder.is_dir() else []

    def ids(self) -> list[str]:
        return [source_id_for(p.stem) for p in self._files()]

    def path_of(self, source_id: str) -> Path | None:
        return next((p for p in self._files() if source_id_for(p.stem) == source_id), None)

    def add_files(self, paths: list[Path]) -> tuple[list[str], list[str]]:
        """Copy readable files (and their manifest entries) in; (ids added, problems)."""
        self.ensure()
        files, problems = discover(paths)
        added = []
        for path in files:
            if path.resolve().parent == self.folder.resolve():
                added.append(source_id_for(path.stem))
                continue
            try:
                entry = load_manifest(path.parent).get(path.stem)
                read_article(path, entry, self.max_bytes)  # validate before copying
            except (ArticleSkipped, ParallaxError) as exc:
                problems.append(str(exc))
                continue
            source_id = source_id_for(path.stem)
            self._drop_file(source_id)
            shutil.copy2(path, self.folder / f"{source_id}{path.suffix.lower()}")
            if entry:
                self._set_entry(source_id, entry)
            added.append(source_id)
        return added, problems

    def add_document(
        self, data: bytes, filename: str, fields: dict[str, str | None]
    ) -> tuple[str, Article]:
        """Store an uploaded or pasted article; validates it the way ingest reads it."""
        self.ensure()
        suffix = Path(filename).suffix.lower() or ".txt"
        if suffix not in SUPPORTED_SUFFIXES:
            raise ArticleSkipped(
                f"{filename}: unsupported file type '{suffix}'. Upload .txt, .md or .html."
            )
        if len(data) > self.max_bytes:
            raise ArticleSkipped(
                f"{filename}: {len(data) / 1e6:.1f} MB is over the {self.max_bytes / 1e6:g} MB "
                "limit. Split the file or raise PARALLAX_MAX_FILE_MB."
            )
        url = fields.get("url")
        if url and not is_web_url(url):
            raise ArticleSkipped(
                f"{filename}: the URL '{url}' is not a web address. Use an http:// or https:// "
                "link to the original article, or leave it empty."
            )
        decoded = decode_article(data, suffix, filename)
        text = decoded.text
        stem = fields.get("title") or Path(filename).stem
        source_id = source_id_for(stem)
        entry = decoded.page | {k: v for k, v in fields.items() if k in _FIELDS and v}
        self._drop_file(source_id)
        stored_suffix = ".txt" if suffix in (".html", ".htm") else suffix
        (self.folder / f"{source_id}{stored_suffix}").write_text(text, encoding="utf-8")
        self._set_entry(source_id, entry)
        return source_id, make_article(text, source_id, entry, None)

    def remove(self, source_id: str) -> bool:
        removed = self._drop_file(source_id)
        manifest = load_manifest(self.folder)
        if manifest.pop(source_id, None) is not None:
            self._write_manifest(manifest)
            removed = True
        return removed

    def _drop_file(self, source_id: str) -> bool:
        path = self.path_of(source_id)
        if path is None:
            return False
        path.unlink()
        return True

    def _set_entry(self, source_id: str, entry: dict[str, str]) -> None:
        manifest = load_manifest(self.folder)
        manifest[source_id] = {"id": source_id, **{k: entry[k] for k in _FIELDS if entry.get(k)}}
        self._write_manifest(manifest)

    def _write_manifest(self, manifest: dict[str, dict[str, str]]) -> None:
        lines = ["# Metadata of the articles in this library; `id` is the file stem.", ""]
        for source_id, entry in manifest.items():
            lines.append("[[source]]")
            lines.append(f"id = {json.dumps(source_id, ensure_ascii=False)}")
            for key in _FIELDS:
                if entry.get(key):
                    lines.append(f"{key} = {json.dumps(str(entry[key]), ensure_ascii=False)}")
            lines.append("")
        text = "\n".join(lines)
        tomllib.loads(text)  # never write a manifest we could not read back
        (self.folder / MANIFEST).write_text(text, encoding="utf-8")
