"""The errors rag-car raises on purpose: each says what failed, on which input, and what to do."""

from __future__ import annotations


class RagCarError(Exception):
    """Base of every error meant for the user.

    The message names what failed and on which input; ``fix`` says what to do about it.
    The CLI prints ``error: <message>: <fix>`` on one line and exits 1.
    """

    exit_code = 1

    def __init__(self, message: str, fix: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.fix = fix

    def __str__(self) -> str:
        return f"{self.message}: {self.fix}" if self.fix else self.message


class ConfigError(RagCarError):
    """A setting is invalid: an unknown backend key, a TOML file that does not parse,
    a --config file that does not exist, a missing optional dependency for the chosen backend."""


class IngestError(RagCarError):
    """A document could not be read or indexed: an encrypted PDF, a scanned PDF with no text,
    a file over the size limit, a malformed NHTSA row."""


class StoreError(RagCarError):
    """The vector store failed: a Chroma server not reachable, an index directory that is not
    writable, an index built with another embedding model."""


class EmptyIndexError(StoreError):
    """Nothing is indexed yet, so there is nothing to search."""


class BackendUnavailable(RagCarError):
    """An LLM backend cannot be used: Ollama not running, an OpenAI-compatible server that
    times out, a GGUF file that does not exist."""


class DbcError(RagCarError):
    """A DBC file cannot be loaded: it does not parse, it is empty, it does not exist."""


class BusError(RagCarError):
    """A CAN bus cannot be opened or went away: a bus spec with an unknown kind, a remote
    bus server that is not running, a log file that does not exist."""


class LogFormatError(RagCarError):
    """A CAN log file is in an unknown format or cannot be read."""


class ProfileError(ConfigError):
    """A vehicle profile cannot be used: its TOML does not parse, it names a DBC file that does not exist,
    its VIN pattern is not a valid pattern or overlaps another profile's, no profile has the name asked for."""
