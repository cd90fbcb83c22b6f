"""The web portal: server-rendered pages for people over the same catalog
queries and the same authorization layer as the APIs.

The routes live in :mod:`webbarchive.api.portal`; this package holds what
they render: the search form and its translation to the CAOM queries
(:mod:`.search`), the local target-name resolver (:mod:`.targets`), the
Jinja2 templates and the small plain JavaScript modules of ``static/``.
Pages work without JavaScript: the query lives in the URL of a GET form.
"""
