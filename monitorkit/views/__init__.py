"""The status page's views: one small module each (overview, command, api, metrics, access)."""
