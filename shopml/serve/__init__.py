"""The seller's listing page and JSON API (``shopml serve``): FastAPI over the IPL pipeline.

:func:`shopml.serve.app.create_app` builds the app; :mod:`shopml.serve.storage` keeps
published listings in a SQLAlchemy database (SQLite by default, PostgreSQL by URL) with their
photos content-addressed on disk. Import FastAPI only through these submodules so that
``import shopml.serve`` stays cheap.
"""
