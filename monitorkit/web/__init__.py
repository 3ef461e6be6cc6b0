"""The status page, its JSON and the Prometheus metrics: the views (``views``, imported with
the URLconf, so they import nothing heavy), what a page shows (``dashboard``, ``stats``) and
the exposition (``metrics``), each read through the store and judged by ``health``'s judge.
"""
