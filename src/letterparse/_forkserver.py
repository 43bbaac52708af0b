"""The workers' process server, started as early as a command can.

``extract`` and ``batch`` start it first thing (``letterparse.__main__``), so that it
loads the pipeline and the model while the command imports the batch machinery, Typer
and the CLI.  This module imports nothing of ours and nothing heavy: with the batch
module (~60 ms to import) imported first, a one-file ``extract`` took 32 ms longer
(median of the differences of 40 interleaved pairs; faster this way in 27 of them)."""

from __future__ import annotations


def preload(themes: bool, batch: bool) -> list[str]:
    """The modules a worker loads before its first file: the pipeline and the PDF
    library, and with themes the model (:mod:`letterparse._warm`); a batch's workers
    also what pays off over many files (:mod:`letterparse._warm_batch`)."""
    if not themes:
        return ["letterparse.pipeline", "pypdfium2"]
    return ["letterparse._warm", "letterparse._warm_batch"] if batch else ["letterparse._warm"]


def prestart(themes: bool, batch: bool) -> None:
    """Start the forkserver that batch and ``extract`` workers fork from, now, loading
    what :func:`preload` names in the background.  A pool made later in this process
    forks its workers from it (a no-op where there is no forkserver)."""
    import multiprocessing as mp

    if "forkserver" not in mp.get_all_start_methods():
        return
    from multiprocessing import forkserver

    mp.get_context("forkserver").set_forkserver_preload(preload(themes, batch))
    forkserver.ensure_running()
