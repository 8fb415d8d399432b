"""What our servers share (the annotation editor and backend, the browser demo): a threaded HTTP
server on a local address, served from a thread inside `with`, and which addresses count as loopback."""

from __future__ import annotations

import threading
from http.server import ThreadingHTTPServer

LOOPBACK = ("127.0.0.1", "localhost", "::1")


class LocalServer(ThreadingHTTPServer):
    """A ThreadingHTTPServer whose `url` names a reachable address (0.0.0.0 -> 127.0.0.1) and that
    serves from a daemon thread between `__enter__` and `__exit__`."""

    daemon_threads = True

    @property
    def url(self) -> str:
        host, port = self.server_address[:2]
        return f"http://{'127.0.0.1' if host in ('0.0.0.0', '::') else host}:{port}"

    def __enter__(self):
        threading.Thread(target=self.serve_forever, daemon=True).start()
        return self

    def __exit__(self, *exc) -> None:
        self.shutdown()
        self.server_close()


def until_interrupted() -> None:
    """Block until Ctrl-C (a server serves from its thread meanwhile)."""
    try:
        threading.Event().wait()
    except KeyboardInterrupt:
        pass
