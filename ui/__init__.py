"""Parallax's Streamlit app: `streamlit run ui/app.py`. Talks to `assistant` only."""
