"""User-facing errors: each carries a message that can be shown as it is.

The CLI prints them without a stack trace and the app shows them in the page.
"""

from __future__ import annotations


class RadphiError(Exception):
    """Base class: the message is meant for the user."""


class InputError(RadphiError):
    """The input cannot be used: an empty field, an unknown task, text over the limit."""


class ModelLoadError(RadphiError):
    """A model could not be found or loaded (wrong path, corrupt file, missing package)."""


class BackendUnavailable(RadphiError):
    """A remote server did not answer or answered with an error."""


class RemoteNotAllowed(RadphiError):
    """Report text would leave the machine without the user's opt-in."""


class GenerationError(RadphiError):
    """The model failed while generating (out of GPU memory, a device error)."""
