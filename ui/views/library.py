"""Library page script (registered by ui/app.py with st.navigation)."""

from ui.library import page

page()
