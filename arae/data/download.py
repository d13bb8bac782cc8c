"""Fetching a missing data set with torchvision, or saying clearly why it could not be fetched."""

from __future__ import annotations

import socket
from collections.abc import Callable

from arae.errors import DataError


def _last_line(err: BaseException) -> str:
    lines = [line.strip() for line in str(err).splitlines() if line.strip()]
    return lines[-1] if lines else type(err).__name__


def download_or_explain(hint: str, download: bool, fetch: Callable[[], None], timeout: float = 20) -> None:
    """Run `fetch` (a torchvision download) with a socket timeout, so no run hangs on a dead network.

    `hint` says where the data was looked for and what to set; it is the whole message when downloads
    are off, and the start of it when the download fails.
    """
    if not download:
        raise DataError(hint + ".")
    previous = socket.getdefaulttimeout()
    socket.setdefaulttimeout(timeout)
    try:
        fetch()
    except Exception as err:  # no network, a mirror down, a read-only folder: all the same to the user
        raise DataError(
            f"{hint}, or connect to the internet so torchvision can download it there "
            f"(the download failed: {_last_line(err)})."
        ) from err
    finally:
        socket.setdefaulttimeout(previous)
