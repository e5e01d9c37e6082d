"""What can be wrong with a request, as facts: the planner names no command-line option, so the
CLI (envcheck/cli/install_cmd.py) words each error with its own flags, and doctor's fix and tests
read the facts."""

from __future__ import annotations

from envcheck.errors import UserError


class UnknownRelease(UserError):
    """A torch release the tables do not know: newer than all of them, or not a release at all."""

    def __init__(self, torch: str, near: tuple[str, ...], newer: bool, span: tuple[str, str]):
        self.torch, self.near, self.newer, self.span = torch, near, newer, span
        if newer:
            text = (f"torch {torch} is newer than envcheck's tables ({span[0]} … {span[1]}); "
                    f"newest known: {', '.join(near)} — upgrade envcheck for newer releases")
        else:
            text = f"torch {torch} is not a release: nearest are {', '.join(near)}"
        super().__init__(text)


class UnknownMirror(UserError):
    """A mirror name or URL envcheck does not know; `text` is the tables' sentence with the nearest names."""

    def __init__(self, name: str, text: str):
        self.name, self.text = name, text
        super().__init__(f"mirror {text}")


class NotACarrier(UserError):
    """A name for the copy of PyTorch's wheel index that names none: unknown, or a mirror that copies
    only the default index (`known`)."""

    def __init__(self, name: str, known: bool, choices: tuple[str, ...]):
        self.name, self.known, self.choices = name, known, choices
        what = ("copies only the default index, not PyTorch's wheels" if known
                else "is not a copy of PyTorch's wheel index envcheck knows")
        super().__init__(f"{name!r} {what}: choose {', '.join(choices)}")


class CarrierLacksBuild(UserError):
    """The chosen copy of PyTorch's wheel index has no wheels of the build chosen."""

    def __init__(self, carrier: str, variant: str, choices: tuple[str, ...]):
        self.carrier, self.variant, self.choices = carrier, variant, choices
        super().__init__(f"{carrier}: its copy of PyTorch's index has no {variant} builds "
                         f"(compat/mirrors.toml): choose {', '.join(choices)}")


class NoBuildFits(UserError):
    """No build satisfies the request. `rejected` says why each one considered was turned down;
    `python_fits` is the newest Python that would have wheels, when the Python alone was the reason."""

    def __init__(self, message: str, rejected: tuple = (), python_fits: str | None = None):
        super().__init__(message)
        self.message, self.rejected, self.python_fits = message, tuple(rejected), python_fits


class BadRequest(UserError):
    """Several arguments are wrong at once: each error, in the order a user would fix them."""

    def __init__(self, errors: tuple[UserError, ...]):
        self.errors = errors
        super().__init__("; ".join(str(e) for e in errors))
