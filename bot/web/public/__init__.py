"""Acasă's public web: the web chat (``/chat``, its one-line widget and its API) and the help centre
(``/help``, the service directory, the sitemap). Server-rendered, no cookies, nothing loaded from
other sites."""
