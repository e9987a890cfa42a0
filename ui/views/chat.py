"""Chat page script (registered by ui/app.py with st.navigation)."""

from ui.chat import page

page()
