"""The rag-car web UI (Streamlit): app.py is the entry point, views/ the pages."""
