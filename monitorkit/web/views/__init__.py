"""The status page's views: one small module each (overview, command, api, metrics, access).

Django's system checks import the URLconf before every management command of a project that
mounts the page; the URLconf names these views by path (``lazy.LazyView``), so a module here is
imported by the first request that reaches it. What a view needs to draw it (``dashboard`` with
the schedules and health judge, ``metrics``) is imported inside the view, when a page is drawn.
"""
