"""Configuring structlog once, at the command line's edge: human on a terminal, JSON lines otherwise, always to stderr."""

from __future__ import annotations

import logging
import sys
from typing import Literal

import structlog

__all__ = ["configure"]


def configure(fmt: Literal["auto", "human", "json"] = "auto", level: str = "info") -> None:
    """Send structured logs to stderr. Only the CLI calls this; the library only logs."""
    use_json = fmt == "json" or (fmt == "auto" and not sys.stderr.isatty())
    renderer: structlog.typing.Processor
    if use_json:
        processors: list[structlog.typing.Processor] = [
            structlog.processors.TimeStamper(fmt="iso", utc=True),
            structlog.processors.dict_tracebacks,
        ]
        renderer = structlog.processors.JSONRenderer(sort_keys=True)
    else:
        processors = [structlog.processors.TimeStamper(fmt="%H:%M:%S")]
        renderer = structlog.dev.ConsoleRenderer(colors=sys.stderr.isatty())
    structlog.configure(
        processors=[structlog.processors.add_log_level, *processors, renderer],
        wrapper_class=structlog.make_filtering_bound_logger(getattr(logging, level.upper())),
        logger_factory=structlog.PrintLoggerFactory(file=sys.stderr),
        cache_logger_on_first_use=False,
    )
