"""The library page: every article, its cleaning, and adding or removing articles."""

from __future__ import annotations

import math

import streamlit as st

from assistant import Assistant, ParallaxError, SourceInfo, safe_url
from ui import render, state

FIELDS = ("title", "outlet", "author", "published", "url")


def page() -> None:
    scope = state.scope()
    st.title("Library")
    st.caption(
        "The articles Parallax answers from. Each is cleaned (navigation, appeals and teasers "
        "removed), split into passages and indexed; new articles can be asked about at once."
    )
    if flash := st.session_state.pop("library_flash", None):
        st.success(flash, icon=":material/check_circle:")
    add_form(scope.assistant)
    st.subheader(render.count(len(scope.library), "article"))
    for info in scope.library:
        article(scope.assistant, info)


def add_form(assistant: Assistant) -> None:
    """Upload or paste; on error the form keeps what was typed, on success it starts afresh."""
    generation = st.session_state.setdefault("add_form", 0)
    with (
        st.expander("Add an article", icon=":material/add:", key="add-expander"),
        st.form(f"add-{generation}", border=False),
    ):
        upload = st.file_uploader(
            "Upload a file",
            type=["txt", "md", "html", "htm"],
            max_upload_size=max(1, math.ceil(assistant.settings.max_file_mb)),
        )
        pasted = st.text_area("…or paste the article's text", height=150)
        link = st.text_input("…or give a link to the article", placeholder="https://…")
        left, right = st.columns(2)
        title = left.text_input("Title", placeholder="Taken from the text if empty")
        outlet = right.text_input("Outlet", placeholder="e.g. The Nation")
        author = left.text_input("Author")
        published = right.text_input("Date", placeholder="YYYY-MM-DD")
        url = st.text_input("Link to the original", placeholder="https://…")
        submitted = st.form_submit_button("Add to the library", type="primary")
    if submitted:
        values = (title, outlet, author, published, url)
        fields = {k: v.strip() or None for k, v in zip(FIELDS, values, strict=True)}
        if upload is not None:
            add(assistant, fields, data=upload.getvalue(), filename=upload.name)
        elif pasted.strip() or not link.strip():
            add(assistant, fields, data=pasted.encode(), filename="pasted.txt")
        else:
            add(assistant, fields, link=link.strip())


def add(
    assistant: Assistant,
    fields: dict[str, str | None],
    *,
    data: bytes = b"",
    filename: str = "",
    link: str = "",
) -> None:
    """Add an uploaded or pasted article, or the page at `link`, and index it."""
    if not link and not data.strip():
        st.error("Upload a .txt, .md or .html file, paste the article's text, or give a link.")
        return
    if fields["url"] and not safe_url(fields["url"]):
        st.error(
            "The link to the original must be a web address starting with http:// or "
            "https://, without spaces."
        )
        return
    bar = st.progress(0.0, text="Fetching the page…" if link else "Cleaning and splitting…")

    def progress(done: int, total: int) -> None:
        bar.progress(done / total if total else 1.0, text=f"Indexing passages: {done} of {total}")

    try:
        if link:
            source_id, report = assistant.add_url(link, fields, progress=progress)
        else:
            source_id, report = assistant.add_article(data, filename, fields, progress=progress)
    except ParallaxError as exc:
        bar.empty()
        st.error(render.plain(str(exc)), icon=":material/error:")
        return
    chunks = next((s.chunks for s in assistant.sources() if s.meta.id == source_id), 0)
    message = (
        f"Added **{render.plain(source_id)}** ({render.count(chunks, 'passage')}): "
        "ask about it in the chat now."
    )
    if report.skipped:
        message += " Skipped: " + render.plain("; ".join(report.skipped))
    st.session_state["library_flash"] = message
    st.session_state["add_form"] += 1
    st.rerun()


def article(assistant: Assistant, info: SourceInfo) -> None:
    meta = info.meta
    with st.expander(f"**{render.plain(meta.outlet)}** · {render.plain(meta.title)}"):
        details = [render.plain(x) for x in (meta.author, meta.published) if x]
        details += [render.count(info.chunks, "passage"), f"`{meta.id}`"]
        if original := render.link(meta.url, "original ↗"):
            details.append(original)
        st.markdown(" · ".join(details), unsafe_allow_html=True)
        try:
            prepared = assistant.inspect(meta.id)
        except ParallaxError as exc:
            st.error(render.plain(str(exc)), icon=":material/error:")
            return
        removed = prepared.removed
        if st.toggle(f"Show the {len(removed)} removed blocks and why", key=f"removed:{meta.id}"):
            if removed:
                st.dataframe(
                    [{"Rule": b.rule, "Why": b.why, "Removed text": b.text} for b in removed],
                    hide_index=True,
                )
            else:
                st.caption("Nothing was removed from this article.")
        with st.container(height=320, border=True):
            st.markdown(render.plain(prepared.text), unsafe_allow_html=True)
        with st.popover("Remove", icon=":material/delete:", key=f"remove-pop:{meta.id}"):
            st.markdown("Remove this article from the library and the index?")
            if st.button("Remove it", key=f"remove:{meta.id}", type="primary"):
                remove(assistant, meta.id)


def remove(assistant: Assistant, source_id: str) -> None:
    try:
        assistant.remove_article(source_id)
    except ParallaxError as exc:
        st.error(render.plain(str(exc)), icon=":material/error:")
        return
    st.session_state["library_flash"] = f"Removed **{render.plain(source_id)}**."
    st.rerun()
