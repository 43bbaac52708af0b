"""Typed errors.  The library raises these; only ``cli.py`` turns them into messages."""

from __future__ import annotations


class LetterparseError(Exception):
    """Base class: every error the library raises on bad input is one of these."""

    code = "error"

    def __init__(self, path: str, message: str):
        super().__init__(f"{path}: {message}")
        self.path = path
        self.message = message


class InputNotFound(LetterparseError):
    code = "not_found"

    def __init__(self, path: str):
        super().__init__(path, "no such file")


class IsADirectory(LetterparseError):
    code = "is_directory"

    def __init__(self, path: str):
        super().__init__(path, "is a directory; use `letterparse batch` for folders")


class EmptyFile(LetterparseError):
    code = "empty_file"

    def __init__(self, path: str):
        super().__init__(path, "the file is empty")


class UnsupportedFileType(LetterparseError):
    code = "unsupported_type"

    def __init__(self, path: str, suffix: str):
        super().__init__(path, f"unsupported file type {suffix!r}; give a .pdf or .txt file")


class NotAPdf(LetterparseError):
    code = "not_a_pdf"

    def __init__(self, path: str, looks_like: str):
        super().__init__(path, f"not a PDF (the content looks like {looks_like})")
        self.looks_like = looks_like


class CorruptPdf(LetterparseError):
    code = "corrupt_pdf"

    def __init__(self, path: str, detail: str):
        super().__init__(path, f"corrupt or truncated PDF ({detail})")
        self.detail = detail


class EncryptedPdf(LetterparseError):
    code = "encrypted_pdf"

    def __init__(self, path: str):
        super().__init__(path, "the PDF is encrypted and needs a password")


class NoTextLayer(LetterparseError):
    code = "no_text_layer"

    def __init__(self, path: str, pages: int):
        super().__init__(path, f"none of its {pages} pages has a text layer (scanned?); run OCR first")
        self.pages = pages


class TooLarge(LetterparseError):
    code = "too_large"

    def __init__(self, path: str, what: str, value: int, limit: int):
        super().__init__(path, f"{what} {value} exceeds the limit of {limit}")
        self.what, self.value, self.limit = what, value, limit


class Timeout(LetterparseError):
    code = "timeout"

    def __init__(self, path: str, seconds: float):
        super().__init__(path, f"parsing took longer than {seconds:g} s and was stopped")
        self.seconds = seconds


class BadTextEncoding(LetterparseError):
    code = "bad_encoding"

    def __init__(self, path: str):
        super().__init__(path, "the text file is not valid UTF-8 text")


class NotOfsted(LetterparseError):
    code = "not_ofsted"

    def __init__(self, path: str):
        super().__init__(path, "not an Ofsted inspection document (it names no Ofsted and has no inspection title)")


class ModelError(LetterparseError):
    code = "model_error"


class StoreError(LetterparseError):
    code = "store_error"


class Interrupted(LetterparseError):
    """A batch stopped by Ctrl-C (SIGINT): what was saved, and how to finish."""

    code = "interrupted"

    def __init__(self, store: str, saved: int, left: int, command: str):
        super().__init__(
            store,
            f"interrupted: {saved} files are saved in the store, {left} are not; "
            f"to finish, run: {command}",
        )
        self.saved, self.left, self.command = saved, left, command


class WorkerError(LetterparseError):
    """A batch's worker processes keep dying before they parse any file (a broken
    installation or start-up, not a bad input file)."""

    code = "worker_error"

    def __init__(self, message: str):
        super().__init__("batch", message)


class LinkOutside(LetterparseError):
    """A link in an input folder whose target is outside that folder (not followed
    unless asked: ``batch --follow-links``)."""

    code = "link_outside"

    def __init__(self, path: str, target: str):
        super().__init__(path, f"a link to {target}, outside the folder given; not followed (--follow-links follows it)")
        self.target = target


class BrokenLink(LetterparseError):
    """A link in an input folder whose target does not exist (or a loop of links)."""

    code = "broken_link"

    def __init__(self, path: str, target: str, loop: bool = False):
        super().__init__(path, f"a link to {target}, " + ("a loop of links" if loop else "which does not exist"))
        self.target, self.loop = target, loop


class NotAFile(LetterparseError):
    """A FIFO, socket or device among the inputs: never opened (opening a FIFO blocks)."""

    code = "not_a_file"

    def __init__(self, path: str, kind: str):
        super().__init__(path, f"a {kind}, not a regular file; not read")
        self.kind = kind


class Unreadable(LetterparseError):
    """An input file or folder the operating system refuses to read (permissions...)."""

    code = "unreadable"

    def __init__(self, path: str, reason: str):
        super().__init__(path, f"cannot be read: {reason}")
        self.reason = reason
