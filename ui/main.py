"""Page setup shared by every page: config, styles, the shared assistant and the sidebar."""

from __future__ import annotations

import streamlit as st

from assistant import ParallaxError
from ui import render, state
from ui.sidebar import render_sidebar


def main() -> None:
    st.set_page_config(page_title="Parallax", page_icon="🔭", layout="centered")
    st.html(render.CSS)
    try:
        base = state.base_assistant()
    except ParallaxError as exc:  # SettingsError too: the same one line the CLI prints
        st.error(render.plain(str(exc)), icon=":material/error:")
        st.stop()
    state.restore(base)
    state.set_scope(render_sidebar(base))
    # Not ui/pages/: a folder of that name switches Streamlit (and AppTest) to the old
    # pages-directory mode, which skips this entry script on reruns.
    pages = [
        st.Page("views/chat.py", title="Chat", icon=":material/forum:", default=True),
        st.Page("views/library.py", title="Library", icon=":material/library_books:"),
    ]
    st.navigation(pages).run()
