"""Worker processes that never outlive, outshout or mislead the process that started them.

:func:`run_in_workers` runs a function over items in ``spawn`` worker processes
and yields the results as they come. Compared with a ``ProcessPoolExecutor``:

- Ctrl-C is the parent's business: workers start with ``SIGINT`` blocked, so a
  Ctrl-C sent to the whole process group (what a terminal does) prints no
  traceback from them; the parent stops them.
- A worker stops on ``SIGTERM`` by unwinding (its conversion removes what it
  had staged) and exits quietly, and it stops the same way when its parent dies,
  ``kill -9`` included: each worker watches its parent.
- A worker that dies in the middle of an item (killed, out of memory) fails that
  item only; a new worker takes over the rest.
- Workers that cannot start raise :class:`~mlarray_io.errors.WorkerStartError`
  instead of failing every item: above all a script without the
  ``if __name__ == "__main__":`` guard, which each spawned worker runs again.
"""

from __future__ import annotations

import multiprocessing
import os
import signal
import sys
import threading
from collections import deque
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager, suppress
from dataclasses import dataclass
from multiprocessing.connection import Connection, wait
from multiprocessing.process import BaseProcess
from typing import Any, Generic, TypeVar

from mlarray_io.errors import WorkerStartError

__all__ = ["STOP_SECONDS", "run_in_workers"]

Item = TypeVar("Item")
Result = TypeVar("Result")

STOP_SECONDS = 10.0
"""How long a stopped worker may take to unwind before it is killed."""
_STOPPED = 3
"""Exit status of a worker stopped by SIGTERM or by its parent's death."""
_UNGUARDED = 4
"""Exit status of a worker that found its main script starting workers again."""
_READY = "ready"
_GONE = object()
"""What a worker that ended sends (nothing: its end of file)."""


def _check_not_bootstrapping() -> None:
    """End a worker that, while starting, runs a main script that starts workers.

    A ``spawn`` worker first runs the parent's main script again; without the
    ``if __name__ == "__main__":`` guard, that script calls the conversion
    again. Multiprocessing itself would raise a RuntimeError here, with a
    traceback in every worker; this ends the worker quietly with a status that
    tells the parent why (multiprocessing marks such a process ``_inheriting``).
    """
    if getattr(multiprocessing.current_process(), "_inheriting", False):
        raise SystemExit(_UNGUARDED)


def _stop(signum: int, frame: object) -> None:
    """SIGTERM in a worker: unwind whatever it does (once), then exit quietly."""
    signal.signal(signal.SIGTERM, signal.SIG_IGN)
    raise SystemExit(_STOPPED)


def _watch_parent() -> None:
    """Stop this worker when its parent process ends, however it ends."""
    parent = multiprocessing.parent_process()
    if parent is None:
        return

    def watch() -> None:
        parent.join()
        main = threading.main_thread().ident
        if hasattr(signal, "pthread_kill") and main is not None:
            signal.pthread_kill(main, signal.SIGTERM)  # wakes a blocking read, too
        threading.Event().wait(STOP_SECONDS)
        os._exit(_STOPPED)  # the main thread did not unwind in time

    threading.Thread(target=watch, name="mlarray-io parent watch", daemon=True).start()


def _serve(function: Callable[[Item], Result], connection: Connection) -> None:
    """A worker's life: ask for an item, run ``function`` on it, send back the result.

    It ends when told to, when the parent is gone or has closed its end of the
    pipe (stopping the pool closes it before SIGTERM reaches the worker), or on
    SIGTERM (what was under way unwinds first), with :func:`os._exit`: nothing is
    left to clean up, and the interpreter's own teardown takes a second or more
    with these libraries.
    """
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # ignored since its start; the parent handles it
    signal.signal(signal.SIGTERM, _stop)
    _watch_parent()
    try:
        status = 0 if _send(connection, _READY) else _STOPPED
        while status == 0 and (item := _next(connection)) is not None:
            status = 0 if _send(connection, function(item)) else _STOPPED
    except SystemExit as stopped:
        status = stopped.code if isinstance(stopped.code, int) else _STOPPED
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(status)


def _send(connection: Connection, message: Any) -> bool:
    """Send ``message`` to the parent; False if it closed the pipe (it stops the pool)."""
    try:
        connection.send(message)
    except OSError:
        return False
    return True


def _next(connection: Connection) -> Any:
    """The next item the parent sends; None when it has no more or is gone."""
    try:
        return connection.recv()
    except (EOFError, OSError):
        return None


@contextmanager
def _sigint_ignored() -> Iterator[None]:
    """Ignore Ctrl-C while a worker starts, so that the worker ignores it from birth.

    An ignored signal is the one disposition a process keeps across ``exec``, and
    Python then installs no KeyboardInterrupt handler: a worker still importing
    when Ctrl-C reaches the whole process group stays silent (a blocked signal
    would not do: ``spawn`` clears the mask of the new process). The parent
    handles Ctrl-C again as soon as the process is started; one pressed during
    those milliseconds is dropped. Outside the main thread, where handlers
    cannot be changed, this does nothing.
    """
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    handler = signal.signal(signal.SIGINT, signal.SIG_IGN)
    try:
        yield
    finally:
        signal.signal(signal.SIGINT, signal.SIG_DFL if handler is None else handler)


@dataclass
class _Worker(Generic[Item]):
    process: BaseProcess
    connection: Connection
    item: Item | None = None
    ready: bool = False


def _death(process: BaseProcess) -> str:
    """How a worker process ended, in words (it is killed if it has not)."""
    process.join(STOP_SECONDS)
    if process.is_alive():
        process.kill()
        process.join()
    code = process.exitcode
    if code is not None and code < 0:
        with suppress(ValueError):
            return f"a worker process was killed by {signal.Signals(-code).name}"
    return f"a worker process exited with status {code}"


def _start_failure(process: BaseProcess) -> WorkerStartError:
    """The error for a worker that ended before it could take an item."""
    how = _death(process)
    if process.exitcode == _UNGUARDED:
        script = getattr(sys.modules["__main__"], "__file__", None) or "the main script"
        return WorkerStartError(
            f"worker processes cannot start: {script} has no "
            "'if __name__ == \"__main__\":' guard, so every worker (started with the spawn "
            "method) runs it again; move the conversion into such a block, or pass workers=1"
        )
    return WorkerStartError(f"worker processes cannot start: {how} before taking any work")


class _Pool(Generic[Item, Result]):
    """The workers, each serving one connection of the parent, and the items left.

    Args:
        function: What the workers run.
        items: What they run it on.
        died: The result for an item whose worker died while running it.
    """

    def __init__(
        self,
        function: Callable[[Item], Result],
        items: Sequence[Item],
        died: Callable[[Item, str], Result],
    ) -> None:
        self._function = function
        self._died = died
        self._context = multiprocessing.get_context("spawn")
        self._pending = deque(items)
        self._workers: dict[Connection, _Worker[Item]] = {}
        self._processes: list[BaseProcess] = []

    def start(self, count: int) -> None:
        """Start ``count`` workers, fewer if there are fewer items."""
        for _ in range(min(count, len(self._pending))):
            self._start_worker()

    def results(self) -> Iterator[Result]:
        """Hand out the items and yield the results, as they come, until none is left."""
        while self._workers:
            workers = list(self._workers.values())
            ready = wait([w.connection for w in workers] + [w.process.sentinel for w in workers])
            for worker in workers:
                if worker.connection in ready or worker.process.sentinel in ready:
                    yield from self._answer(worker)

    def _start_worker(self) -> None:
        ours, theirs = self._context.Pipe()
        process = self._context.Process(
            target=_serve, args=(self._function, theirs), name="mlarray-io worker", daemon=True
        )
        with _sigint_ignored():
            process.start()
        theirs.close()
        self._processes.append(process)
        self._workers[ours] = _Worker(process, ours)

    def _answer(self, worker: _Worker[Item]) -> Iterator[Result]:
        """Take what ``worker`` sent (a result, or that it is ready), send the next item."""
        message: Any
        try:  # nothing to read from an ended process: gone, whoever holds its pipe
            message = worker.connection.recv() if worker.connection.poll() else _GONE
        except EOFError:
            message = _GONE
        if message is _GONE:
            yield from self._buried(worker)
            return
        if worker.ready:
            yield message
        worker.ready = True
        worker.item = self._pending.popleft() if self._pending else None
        try:
            worker.connection.send(worker.item)
        except OSError:  # it died meanwhile; its end of file comes next
            if worker.item is not None:
                self._pending.appendleft(worker.item)
                worker.item = None
            return
        if worker.item is None:
            self._retire(worker)

    def _buried(self, worker: _Worker[Item]) -> Iterator[Result]:
        """A worker ended: fail its item, start another (none if it never started)."""
        self._retire(worker)
        if not worker.ready:
            raise _start_failure(worker.process)
        if worker.item is not None:
            yield self._died(worker.item, _death(worker.process))
        if self._pending:
            self._start_worker()

    def _retire(self, worker: _Worker[Item]) -> None:
        del self._workers[worker.connection]
        worker.connection.close()

    def stop(self) -> None:
        """End the workers: SIGTERM to those at work (conversions unwind), SIGKILL if they hang."""
        for worker in list(self._workers.values()):
            self._retire(worker)
            if worker.process.is_alive():
                worker.process.terminate()
        for process in self._processes:
            process.join(STOP_SECONDS)
            if process.is_alive():
                process.kill()
                process.join()


def run_in_workers(
    function: Callable[[Item], Result],
    items: Sequence[Item],
    count: int,
    *,
    died: Callable[[Item, str], Result],
) -> Iterator[Result]:
    """Run ``function`` on each item in ``count`` worker processes; yield results as they come.

    Args:
        function: What to run; importable by name, its items and results picklable.
            It should not raise (a raise ends its worker, as a crash does).
        items: What to run it on.
        count: How many workers at most.
        died: The result for an item whose worker died while running it, from the
            item and how the worker ended.

    Raises:
        WorkerStartError: If a worker ends before taking any item.
    """
    _check_not_bootstrapping()
    pool = _Pool(function, items, died)
    try:
        pool.start(count)
        yield from pool.results()
    finally:
        pool.stop()
