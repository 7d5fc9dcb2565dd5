"""Worker processes for the pipeline's pure, CPU-heavy part (``prepare_item``), kept
warm by a fork server that preloads ``ingest.pipeline.warmup``."""

from __future__ import annotations

import functools
import logging
import multiprocessing
import os
import threading
from collections.abc import Sequence
from concurrent.futures import Future, ProcessPoolExecutor
from pathlib import Path

from ingest.config.settings import StorySettings
from ingest.model.items import RawItem
from ingest.pipeline.prepare import Prepared, prepare_item
from storage.failures import as_storage_error

log = logging.getLogger(__name__)


class Preparer:
    """The pure, CPU-heavy part of the pipeline (``prepare_item``: extraction,
    normalisation, language, relevance, signature, frames and phrases) for a poll's pages,
    in worker processes, so it uses every core while the writing thread stores. Each item
    still takes the one path: the writer hands the result to ``Pipeline.ingest``, which would
    otherwise compute the same thing through the same functions.

    Workers are forked from a fork server that imported the pipeline and loaded its models
    once (``ingest.pipeline.warmup``), so a worker starts in milliseconds rather than seconds; the
    fork server itself starts on first use and costs one to two seconds of CPU, so the
    first ``inline_pages`` pages are prepared inline by the writer: idle and ordinary
    polls of a one-shot run never start it. The service keeps one Preparer for its whole
    life (``keep`` polls); a one-shot poll closes it at the end. A worker failure only
    means the writer prepares those items itself.
    """

    def __init__(
        self, workers: int | None = None, inline_pages: int = 100, keep: bool = False
    ) -> None:
        self.workers = workers if workers is not None else (os.cpu_count() or 1)
        self.inline_pages = inline_pages
        self.keep = keep
        self._pages = 0
        self._pool: ProcessPoolExecutor | None = None
        self._lock = threading.Lock()

    def prepare(
        self,
        items: Sequence[RawItem],
        stories: Sequence[StorySettings],
        codebook_dir: Path | None,
    ) -> list[Prepared | None]:
        with self._lock:
            self._pages += sum(item.html is not None for item in items)
            inline = self.workers < 2 or (self._pool is None and self._pages <= self.inline_pages)
        if inline:
            return []  # the writer prepares them
        work = functools.partial(prepare_item, stories=tuple(stories), codebook_dir=codebook_dir)
        try:
            pool = self.start()
            futures = [pool.submit(work, item) if item.html else None for item in items]
        except Exception:  # no processes here (or the pool broke): the writer prepares them
            log.warning("cannot prepare items in worker processes", exc_info=True)
            self._discard()
            return []
        return [_result(future) for future in futures]

    def submit(
        self, item: RawItem, stories: Sequence[StorySettings], codebook_dir: Path | None
    ) -> Future[Prepared] | None:
        """One page for a worker (a crawl hands pages over one at a time); None when the
        caller prepares it itself: no page, no workers, or still within ``inline_pages``."""
        with self._lock:
            self._pages += item.html is not None
            inline = self.workers < 2 or (self._pool is None and self._pages <= self.inline_pages)
        if inline or item.html is None:
            return None
        try:
            return self.start().submit(prepare_item, item, tuple(stories), codebook_dir)
        except Exception:  # no processes here (or the pool broke): the caller prepares it
            log.warning("cannot prepare items in worker processes", exc_info=True)
            self._discard()
            return None

    def start(self) -> ProcessPoolExecutor:
        """The worker pool, started if need be (``prepare`` starts it on demand)."""
        with self._lock:
            if self._pool is None:
                self._pool = ProcessPoolExecutor(
                    self.workers,
                    mp_context=worker_context(),
                    max_tasks_per_child=MAX_TASKS_PER_WORKER,
                )
            return self._pool

    def _discard(self) -> None:
        self._stop(wait=False)  # a broken pool: do not wait for it

    def end_poll(self) -> None:
        """A poll is done: a one-shot Preparer stops its workers, a kept one keeps them."""
        with self._lock:
            self._pages = 0
        if not self.keep:
            self.close()

    def close(self) -> None:
        self._stop(wait=True)

    def _stop(self, *, wait: bool) -> None:
        with self._lock:
            pool, self._pool = self._pool, None
        if pool is not None:
            pool.shutdown(wait=wait, cancel_futures=True)

    def __enter__(self) -> Preparer:
        return self

    def __exit__(self, *_exc: object) -> None:
        self.close()


# A long-running service recycles its workers now and then, so that memory a library
# keeps (caches, fragmentation) cannot grow for months.
MAX_TASKS_PER_WORKER = 5_000


def worker_context() -> multiprocessing.context.BaseContext:
    """Forkserver: forking this process, which runs threads, could copy a held lock; the
    fork server is single-threaded and preloads ``ingest.pipeline.warmup`` (imports and models)."""
    context = multiprocessing.get_context("forkserver")
    context.set_forkserver_preload(["ingest.pipeline.warmup"])
    return context


def _result(future: Future[Prepared] | None) -> Prepared | None:
    if future is None:
        return None
    try:
        return future.result()
    except Exception as exc:  # a crashed worker: the writer prepares the item and reports errors
        if as_storage_error(exc) is not None:
            raise  # a full disk: the poll stops (the writer could not do better)
        log.warning("preparing an item in a worker failed; the writer will", exc_info=True)
        return None
