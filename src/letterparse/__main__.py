"""The ``letterparse`` console script and ``python -m letterparse``."""

import sys

_STATUS = [1]  # the exit status, until main knows it (1: an uncaught exception)


def main() -> None:
    """Run the CLI.  Most of a one-file ``extract`` is start-up, so for the commands
    that parse, the workers' process server starts before the CLI is imported: it
    loads the pipeline and the theme model while this process imports Typer and
    reads the arguments.  Their garbage collector runs less often (see
    :func:`letterparse.batch.tune_gc`)."""
    command = sys.argv[1] if len(sys.argv) > 1 else ""
    if command in ("extract", "batch"):
        import atexit

        atexit.register(_end_without_teardown)  # registered first, so it runs last
        from ._forkserver import prestart

        prestart(themes="--no-themes" not in sys.argv, batch=command == "batch")
        from .batch import tune_gc

        tune_gc()
    from .cli import app

    try:
        app()
        _STATUS[0] = 0
    except SystemExit as exc:
        code = exc.code
        _STATUS[0] = 0 if code is None else code if isinstance(code, int) else 1
        raise
    except KeyboardInterrupt:
        _STATUS[0] = 130
        raise


def _end_without_teardown() -> None:
    """The last exit handler of an ``extract`` or a ``batch``: end the process without
    the interpreter's teardown of its modules and objects (about 0.1 s with the model
    and Typer loaded, a tenth of an ``extract``; 0.3 s after a batch, with DuckDB,
    pyarrow and pandas loaded).  The other exit handlers (the pool's and
    multiprocessing's clean-up) have run; ``extract`` writes only to stdout and
    stderr, flushed here, and a batch has closed its store before the CLI returns;
    the status is the one Python would give."""
    import os

    for stream in (sys.stdout, sys.stderr):
        try:
            stream.flush()
        except Exception:  # noqa: BLE001 - a closed pipe: nothing more can be written
            pass
    os._exit(_STATUS[0])


if __name__ == "__main__":
    main()
