"""The user's library: a folder of article files plus a `sources.toml` manifest.

On first use the library is seeded with the shipped articles; adding or removing an
article (CLI or app) changes this folder, and ingest makes the store match it.

Writers (`add_files`, `add_document`, `remove`) must hold the store's write lock, as the
Assistant does: the manifest is read, changed and written back, and two unlocked writers
would each drop the other's entries. Every file is replaced atomically (temporary file,
fsync, rename), so readers, who take no lock, see the old version or the new one, never
half of one, and a killed writer leaves at worst a stray `.part` file that no one reads.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import tempfile
import tomllib
from dataclasses import dataclass, field
from pathlib import Path

from store.articles import (
    ENTRY_FIELDS,
    MANIFEST,
    SUPPORTED_SUFFIXES,
    Article,
    ArticleSkipped,
    check_size,
    check_suffix,
    decode_article,
    discover,
    is_web_url,
    load_manifest,
    make_article,
    read_article,
    read_regular,
    source_id_for,
)
from store.errors import ParallaxError
from store.ingest import prepare


@dataclass
class LibraryNotes:
    """What a library read or write has to tell the user, one line each: files left out
    (`skipped`), and files given another id than their name's because it was taken."""

    skipped: list[str] = field(default_factory=list)
    renamed: list[str] = field(default_factory=list)


class Library:
    def __init__(self, folder: Path, seed: Path | None, max_bytes: int) -> None:
        self.folder = folder
        self.seed = seed
        self.max_bytes = max_bytes

    def ensure(self) -> None:
        """Create and seed the folder. Seeding happens in a temporary folder renamed into
        place, so a process that starts meanwhile sees no library or a whole one."""
        if self.folder.is_dir():
            return
        try:
            self.folder.parent.mkdir(parents=True, exist_ok=True)
            staging = Path(tempfile.mkdtemp(prefix=f".{self.folder.name}.", dir=self.folder.parent))
            if self.seed and self.seed.is_dir():
                for path in self.seed.iterdir():
                    wanted = path.suffix.lower() in SUPPORTED_SUFFIXES or path.name == MANIFEST
                    if wanted and path.is_file():
                        shutil.copy2(path, staging / path.name)
            try:
                staging.rename(self.folder)
            except OSError:
                shutil.rmtree(staging, ignore_errors=True)
                if not self.folder.is_dir():  # not another process seeding it first
                    raise
        except OSError as exc:
            raise ParallaxError(
                f"Cannot create the library folder {self.folder} ({exc.strerror}): set "
                "PARALLAX_LIBRARY_DIR to a folder you can write."
            ) from None

    def articles(self) -> tuple[list[Article], LibraryNotes]:
        """Every readable article, and a line for each file or manifest entry left out."""
        self.ensure()
        manifest = load_manifest(self.folder)
        entries, notes = self._entries()
        notes.skipped[:0] = manifest.problems
        articles = []
        for path, source_id in entries:
            entry = manifest.get(source_id) or manifest.get(path.stem)
            try:
                articles.append(read_article(path, entry, self.max_bytes, source_id))
            except ArticleSkipped as exc:
                notes.skipped.append(str(exc))
        return articles, notes

    def article(self, source_id: str) -> Article | None:
        """One article, read without touching the rest of the library."""
        path = self.path_of(source_id)
        if path is None:
            return None
        manifest = load_manifest(self.folder)
        entry = manifest.get(source_id) or manifest.get(path.stem)
        return read_article(path, entry, self.max_bytes, source_id)

    def _entries(self) -> tuple[list[tuple[Path, str]], LibraryNotes]:
        """Each article file with its id. Files placed in the folder by hand may share an id
        ("Peace plan.txt", "peace-plan.md"): the one whose name is the id keeps it, the others
        get the id plus a hash of their name, the same on every ingest."""
        notes = LibraryNotes()
        if not self.folder.is_dir():
            return [], notes
        files, notes.skipped = discover([self.folder])
        groups: dict[str, list[Path]] = {}
        for path in files:
            groups.setdefault(source_id_for(path.stem), []).append(path)
        taken = set(groups)
        entries = []
        for source_id, group in groups.items():
            group.sort(key=lambda p: (p.stem != source_id, p.name))
            entries.append((group[0], source_id))
            for path in group[1:]:
                digest = hashlib.sha256(path.name.encode()).hexdigest()
                other = next(
                    f"{source_id}-{digest[:n]}"
                    for n in range(6, len(digest) + 1)
                    if f"{source_id}-{digest[:n]}" not in taken
                )
                taken.add(other)
                entries.append((path, other))
                notes.renamed.append(
                    f"{path}: its id '{source_id}' is {group[0].name}'s, so it is ingested as "
                    f"'{other}'. Rename one of the files to choose their ids."
                )
        return sorted(entries, key=lambda e: e[1]), notes

    def ids(self) -> list[str]:
        return [source_id for _, source_id in self._entries()[0]]

    def path_of(self, source_id: str) -> Path | None:
        return next((p for p, i in self._entries()[0] if i == source_id), None)

    def add_files(self, paths: list[Path]) -> tuple[list[str], LibraryNotes]:
        """Copy readable files (and their manifest entries) in; (ids added, notes).

        A file replaces the library article of the same id only if it was added under the
        same name (an edited file added again); another file whose name maps to a taken id
        gets a free suffixed id instead, and a line says so.
        """
        self.ensure()
        files, skipped = discover(paths)
        notes = LibraryNotes(skipped=skipped)
        added: list[str] = []
        manifests: dict[Path, dict[str, dict[str, str]]] = {}
        inside = {p.resolve(): i for p, i in self._entries()[0]}
        for path in files:
            if (known := inside.get(path.resolve())) is not None:
                added.append(known)
                continue
            try:
                check_suffix(path)
                entry = self._source_entry(path, manifests, notes)
                data = read_regular(path)
                check_size(str(path), len(data), self.max_bytes)
                decoded = decode_article(data, path.suffix.lower(), str(path))
                article = make_article(decoded.text, path.stem, entry, path, decoded.page)
                _check_has_content(article, str(path))
            except (ArticleSkipped, ParallaxError) as exc:
                notes.skipped.append(str(exc))
                continue
            except OSError as exc:
                notes.skipped.append(f"{path}: cannot be read ({exc.strerror}), skipped.")
                continue
            wanted = source_id_for(path.stem)
            source_id, existing = self._free_id(wanted, path.name, added)
            try:
                self._store(source_id, path.suffix.lower(), data, entry, path.name)
            except OSError as exc:
                notes.skipped.append(self._unwritable(str(path), exc))
                continue
            if source_id != wanted and not existing:
                notes.renamed.append(
                    f"{path}: the id '{wanted}' belongs to another article in the library, so "
                    f"this one is added as '{source_id}'."
                )
            added.append(source_id)
        return added, notes

    def _source_entry(
        self, path: Path, manifests: dict[Path, dict[str, dict[str, str]]], notes: LibraryNotes
    ) -> dict[str, str] | None:
        """The file's entry in the manifest beside it; that manifest's problems said once."""
        if path.parent not in manifests:
            manifest = load_manifest(path.parent)
            notes.skipped.extend(manifest.problems)
            manifests[path.parent] = manifest.entries
        entries = manifests[path.parent]
        return entries.get(path.stem) or entries.get(source_id_for(path.stem))

    def add_document(
        self, data: bytes, filename: str, fields: dict[str, str | None]
    ) -> tuple[str, Article]:
        """Store an uploaded or pasted article; validates it the way ingest reads it.

        An upload never replaces an article: if its id is taken it gets a suffixed one (the
        returned id), and the user removes the old article to replace it.
        """
        self.ensure()
        suffix = Path(filename).suffix.lower() or ".txt"
        if suffix not in SUPPORTED_SUFFIXES:
            raise ArticleSkipped(
                f"{filename}: unsupported file type '{suffix}'. Upload .txt, .md or .html."
            )
        check_size(filename, len(data), self.max_bytes)
        url = fields.get("url")
        if url and not is_web_url(url):
            raise ArticleSkipped(
                f"{filename}: the URL '{url}' is not a web address. Use an http:// or https:// "
                "link to the original article, or leave it empty."
            )
        decoded = decode_article(data, suffix, filename)
        text = decoded.text
        stem = fields.get("title") or Path(filename).stem
        entry = decoded.page | {k: v for k, v in fields.items() if k in ENTRY_FIELDS and v}
        source_id, _ = self._free_id(source_id_for(stem), None, [])
        article = make_article(text, source_id, entry, None)
        _check_has_content(article, filename)
        stored_suffix = ".txt" if suffix in (".html", ".htm") else suffix
        try:
            self._store(source_id, stored_suffix, text.encode("utf-8"), entry, None)
        except OSError as exc:
            raise ParallaxError(self._unwritable(filename, exc)) from None
        return source_id, article

    def remove(self, source_id: str) -> bool:
        removed = self._drop_file(source_id)
        manifest = load_manifest(self.folder)
        if manifest.entries.pop(source_id, None) is not None:
            self._write_manifest(manifest.entries)
            removed = True
        return removed

    def _free_id(self, wanted: str, origin: str | None, claimed: list[str]) -> tuple[str, bool]:
        """`wanted`, or `wanted-2`, `wanted-3`…: the first id that is free, or that holds the
        file added under the name `origin` (then adding it again updates it: the flag is
        true). Ids `claimed` by this same call are never reused."""
        entries = self._entries()[0]
        present = {i: p for p, i in entries}
        manifest = load_manifest(self.folder)
        for n in range(1, len(entries) + len(claimed) + 2):
            candidate = wanted if n == 1 else f"{wanted}-{n}"
            if candidate in claimed:
                continue
            existing = present.get(candidate)
            if existing is None:
                return candidate, False
            recorded = (manifest.get(candidate) or {}).get("file") or existing.name
            if origin is not None and recorded == origin:
                return candidate, True
        raise AssertionError("unreachable: more candidates than ids")

    def _store(
        self,
        source_id: str,
        suffix: str,
        data: bytes,
        entry: dict[str, str] | None,
        origin: str | None,
    ) -> None:
        """Write the article's file and manifest entry, replacing any file of that id. With no
        `entry` (a file added without a manifest) the library's entry is kept."""
        name = f"{source_id}{suffix}"
        old = self.path_of(source_id)
        _write_atomic(self.folder / name, data)
        if old is not None and old.name != name:
            old.unlink()
        manifest = load_manifest(self.folder)
        if entry is None:
            entry = manifest.get(source_id) or {}
        entry = {k: v for k, v in entry.items() if k in ENTRY_FIELDS and k != "file"}
        if origin and origin != name:
            entry["file"] = origin
        if entry or source_id in manifest.entries:
            manifest.entries[source_id] = entry
            self._write_manifest(manifest.entries)

    def _unwritable(self, name: str, exc: OSError) -> str:
        return (
            f"{name}: cannot be written to the library {self.folder} ({exc.strerror}), skipped. "
            "Make the folder writable or set PARALLAX_LIBRARY_DIR."
        )

    def _drop_file(self, source_id: str) -> bool:
        path = self.path_of(source_id)
        if path is None:
            return False
        path.unlink()
        return True

    def _write_manifest(self, entries: dict[str, dict[str, str]]) -> None:
        lines = [
            "# Metadata of the articles in this library. `id` is the article's file name",
            "# without extension; `file` is the name it was added under, when that differs.",
            "",
        ]
        for source_id, entry in entries.items():
            lines.append("[[source]]")
            lines.append(f"id = {json.dumps(source_id, ensure_ascii=False)}")
            for key in ENTRY_FIELDS:
                if entry.get(key):
                    lines.append(f"{key} = {json.dumps(str(entry[key]), ensure_ascii=False)}")
            lines.append("")
        text = "\n".join(lines)
        tomllib.loads(text)  # never write a manifest we could not read back
        _write_atomic(self.folder / MANIFEST, text.encode("utf-8"))


def _check_has_content(article: Article, name: str) -> None:
    """Refuse a file that cleaning empties (only navigation or boilerplate): kept in the
    library it would be skipped, and reported, on every ingest."""
    if not prepare(article).chunks:
        raise ArticleSkipped(
            f"{name}: nothing left after removing navigation and boilerplate, so it was not "
            "added. Check that the file holds the article's text."
        )


def _write_atomic(target: Path, data: bytes) -> None:
    """Replace `target` whole: a temporary file beside it, flushed to disk, renamed over it."""
    fd, temporary = tempfile.mkstemp(prefix=f".{target.name}.", suffix=".part", dir=target.parent)
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(temporary, target)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise
    folder = os.open(target.parent, os.O_RDONLY)
    try:
        os.fsync(folder)  # the rename itself survives a crash
    finally:
        os.close(folder)
