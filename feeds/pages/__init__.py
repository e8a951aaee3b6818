"""Web pages: the partner portal (:mod:`feeds.pages.portal`) and the operator dashboard
(:mod:`feeds.pages.dashboard`), server-rendered from Jinja2 templates, with their
stylesheet under ``/static/``. No page runs script; every page reads without it.

:func:`feeds.pages.site.install_pages` adds them to the API application.
"""
