"""The status page, its JSON and the Prometheus metrics: the views (``views``, named by path in
the URLconf and imported by a request), what a page shows (``dashboard``, ``stats``) and
the exposition (``metrics``), each read through the store and judged by ``health``'s judge.
"""
