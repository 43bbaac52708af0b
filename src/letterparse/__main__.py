"""The ``letterparse`` console script and ``python -m letterparse``."""

import sys


def main() -> None:
    """Run the CLI.  For the commands that parse, the workers' process server starts
    before the CLI is imported, so that it loads the pipeline and the theme model
    while this process imports Typer and reads the arguments: most of a one-file
    ``extract`` is start-up, and this runs its two halves side by side."""
    if len(sys.argv) > 1 and sys.argv[1] in ("extract", "batch"):
        from .batch import prestart

        prestart(themes="--no-themes" not in sys.argv, batch=sys.argv[1] == "batch")
    from .cli import app

    app()


if __name__ == "__main__":
    main()
