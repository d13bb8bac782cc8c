"""Keep freed memory in the process for reuse (glibc's malloc), where an ensemble needs it.

An ensemble's tensors are K times a separate job's: its activations, input gradients and weight gradients
(megabytes to tens of megabytes each) are freed and allocated again at every PGD step. glibc serves
blocks of that size with fresh mmap pages and hands them back to the system when they are freed, so each
allocation faults its pages in again (about 18,000 page faults per ARAE training step of 10 MNIST members,
none in a separate job, whose tensors are small enough for the heap). Raising the mmap and trim thresholds
keeps those blocks in the heap for the next step. This changes no result, only where memory comes from.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import logging

log = logging.getLogger(__name__)

_M_TRIM_THRESHOLD = -1  # malloc.h
_M_MMAP_THRESHOLD = -3
MMAP_THRESHOLD = 32 << 20  # glibc's largest (64-bit): blocks up to this size come from the heap
TRIM_THRESHOLD = 1 << 30  # free heap kept at the top before it is given back to the system


def keep_freed_memory() -> bool:
    """Set glibc's thresholds for this process; False where there is no glibc (macOS, musl, Windows)."""
    name = ctypes.util.find_library("c")
    try:
        libc = ctypes.CDLL(name)
        mallopt = libc.mallopt
    except (OSError, AttributeError, TypeError):
        return False
    mallopt.argtypes, mallopt.restype = [ctypes.c_int, ctypes.c_int], ctypes.c_int
    done = mallopt(_M_MMAP_THRESHOLD, MMAP_THRESHOLD) == 1 and mallopt(_M_TRIM_THRESHOLD, TRIM_THRESHOLD) == 1
    if not done:
        log.debug("mallopt refused the ensemble's thresholds; memory is allocated as glibc chooses")
    return done
