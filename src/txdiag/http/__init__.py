"""Reading payment APIs over HTTP (httpx is imported only when a URL is read)."""

from txdiag.http.options import HttpOptions

__all__ = ["HttpOptions"]
