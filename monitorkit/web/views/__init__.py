"""The status page's views: one small module each (overview, command, api, metrics, access).

Django's system checks import the URLconf, and with it these modules, before every management
command of a project that mounts the page: what a view needs to draw it (``dashboard`` with the
schedules and health judge, ``metrics``) is imported inside the view, when a page is drawn.
"""
