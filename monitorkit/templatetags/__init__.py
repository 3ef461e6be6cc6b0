"""The status page's template tags (``{% load monitorkit_nav %}``)."""
