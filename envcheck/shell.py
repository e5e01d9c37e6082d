"""Commands written for the shell that will read them: POSIX sh (bash, zsh, dash), cmd.exe and
PowerShell each have their own quoting rules, and a word quoted for one can run something else in
another (`a&calc` is two commands in cmd.exe; `%PATH%` is expanded by cmd even inside quotes).

envcheck's Windows commands are for cmd.exe (the Anaconda Prompt, and what PyTorch's own Windows
lines assume): the program sees them split by the MSVCRT / CommandLineToArgvW rules. A value cmd.exe
cannot hold as it is (`%`, `!`, a line break) is refused with one line naming the character,
rather than printed as a command that does something else. Nothing here runs a process.
"""

from __future__ import annotations

import re
import shlex

from envcheck.errors import UserError

POSIX, CMD, POWERSHELL = "posix", "cmd", "powershell"


class Unquotable(UserError):
    """A value the target shell cannot hold as it is, named with the character and why."""


def shell_for(os: str) -> str:
    """The shell the commands of a plan for this OS are written for."""
    return CMD if os == "windows" else POSIX


def line(argv, shell: str) -> str:
    """argv as one command line for `shell` that runs exactly argv."""
    return {POSIX: posix, CMD: cmd, POWERSHELL: powershell}[shell](argv)


def not_an_option(value: str, what: str) -> str:
    """A user's value that a command takes as a word of its own (an environment's name, a path):
    one that starts with '-' would be read as an option (`python -m venv --clear`)."""
    if value.startswith("-"):
        raise UserError(f"{what} {value!r}: a name that starts with '-' would be read as an option: choose another name")
    return value


# C0 and C1 control characters but tab and line feed: shown as escapes on the console, so a command
# holding one would not be the command printed.
_CONTROL = re.compile("[\x00-\x08\x0b-\x1f\x7f-\x9f]")


def _no_control(argv) -> None:
    for word in argv:
        found = _CONTROL.search(word)
        if found:
            raise Unquotable(f"{word!r}: the control character {found.group()!r} cannot be shown in a printed command")


# -- POSIX sh --------------------------------------------------------------------------------------


def posix(argv) -> str:
    """POSIX sh: each word bare when it holds only safe characters, else in single quotes, inside which
    nothing is special (a ' is closed, escaped and reopened: 'it'"'"'s'). By hand: shlex.join."""
    _no_control(argv)
    return shlex.join(argv)


# Words the shell would read as something else when they come first (keywords, and built-ins that
# change the shell itself): `VAR=1 cd /` runs nothing with VAR set.
_NOT_A_PROGRAM = {"!", "{", "}", "[[", "case", "cd", "coproc", "eval", "exec", "export", "for", "function", "if", "popd",
                  "pushd", "select", "set", "source", ".", "time", "until", "unset", "while", "alias", "builtin", "command"}


def posix_simple(command: str) -> bool:
    """Whether a command line is one program with its arguments, so that `VAR=1 command` gives it
    (and only it) VAR: no `&&`, `;`, `|`, redirection, comment, subshell or shell built-in first."""
    lexer = shlex.shlex(command, posix=True, punctuation_chars=True)
    lexer.commenters = ""
    lexer.wordchars += "#$`"
    try:
        words = list(lexer)
    except ValueError:  # an unbalanced quote
        return False
    if not words or any(set(w) <= set("();<>|&") or w.startswith("#") for w in words):
        return False
    program = next((w for w in words if not re.match(r"[A-Za-z_][A-Za-z0-9_]*=", w)), "")
    return bool(program) and program not in _NOT_A_PROGRAM and "`" not in command and "$(" not in command


# -- cmd.exe ---------------------------------------------------------------------------------------

# cmd.exe expands these wherever they stand, inside double quotes too, and no escape holds them on
# an interactive command line (^% does not; "!" only where delayed expansion is on, which a user may have).
_CMD_REFUSED = {
    "%": "cmd.exe expands %NAME% even inside quotes",
    "!": "cmd.exe expands !NAME! where delayed expansion is on",
    "\n": "cmd.exe ends the command at a line break",
    "\r": "cmd.exe ends the command at a line break",
}
# Outside double quotes cmd.exe reads these itself: & and | start another command, < > redirect, ^ escapes.
_CMD_SPECIAL = "&|<>^"


def msvcrt_word(word: str) -> str:
    """One argument as a Windows program's start-up code (CommandLineToArgvW / the MSVCRT rules) splits
    it back: quoted when it holds a space, a tab or a character cmd.exe reads, a " as \\", and
    backslashes doubled only before a ". By hand: subprocess.list2cmdline, which quotes fewer words."""
    quoted = not word or any(c in word for c in " \t" + _CMD_SPECIAL)
    out, slashes = [], 0
    for c in word:
        if c == "\\":
            slashes += 1
            continue
        if c == '"':
            out.append("\\" * (slashes * 2 + 1) + '"')
        else:
            out.append("\\" * slashes + c)
        slashes = 0
    tail = "\\" * (slashes * 2 if quoted else slashes)
    body = "".join(out) + tail
    return f'"{body}"' if quoted else body


def cmd(argv) -> str:
    """cmd.exe: each word by the MSVCRT rules, then a ^ before each & | < > ^ that cmd.exe would see
    outside double quotes (cmd.exe toggles its quoting at every ", and knows no \\")."""
    _no_control([w.replace("\n", "").replace("\r", "") for w in argv])
    for word in argv:
        for c, why in _CMD_REFUSED.items():
            if c in word:
                shown = {"\n": "a line break", "\r": "a carriage return"}.get(c, repr(c))
                raise Unquotable(f"{word!r}: {why}, so a Windows command cannot hold {shown}: choose a name without it")
    if argv and '"' in argv[0]:  # cmd.exe and CreateProcess take a program's path up to the next ", with no escape
        raise Unquotable(f"{argv[0]!r}: a Windows program's path cannot hold a \"")
    text = " ".join(msvcrt_word(w) for w in argv)
    out, inside = [], False
    for c in text:
        if c == '"':
            inside = not inside
        elif not inside and c in _CMD_SPECIAL:
            out.append("^")
        out.append(c)
    return "".join(out)


# -- PowerShell ------------------------------------------------------------------------------------

# Bare in PowerShell's argument mode: anything else is quoted (, makes an array, $ @ ` ( ) { } ; & #
# ' " are syntax, and a leading - reads as a parameter).
_PS_BARE = re.compile(r"[A-Za-z0-9_./\\:+=][A-Za-z0-9_./\\:+=-]*")
_PS_QUOTES = "'\u2018\u2019\u201a\u201b"  # PowerShell takes the typographic single quotes for ' too


def powershell_word(word: str) -> str:
    """One word for PowerShell: bare when plain, else in single quotes, inside which nothing expands
    and a quote (any of ' ‘ ’ ‚ ‛) is doubled."""
    if _PS_BARE.fullmatch(word):
        return word
    return "'" + "".join(c * 2 if c in _PS_QUOTES else c for c in word) + "'"


def powershell(argv) -> str:
    """PowerShell: words as powershell_word, `& ` before a quoted program. A " inside a word is
    refused: Windows PowerShell 5.1 drops it on the way to a program."""
    _no_control(argv)
    for word in argv:
        if '"' in word:
            raise Unquotable(f"{word!r}: Windows PowerShell drops a \" inside an argument on its way to a program")
    words = [powershell_word(w) for w in argv]
    return ("& " if words and words[0].startswith("'") else "") + " ".join(words)


def powershell_set(name: str, value: str) -> str:
    """`$env:NAME='value'`: an environment variable for the rest of this PowerShell window."""
    _no_control([value])
    return f"$env:{name}=" + "'" + "".join(c * 2 if c in _PS_QUOTES else c for c in value) + "'"


# -- a job with environment variables --------------------------------------------------------------


def with_env(env: dict, command: str, shell: str) -> str:
    """The line(s) that run the user's own command line `command`, as written for `shell`, with the
    variables `env` set for it and everything it starts.

    POSIX: `VAR=1 command` when the command is one program; else `VAR=1 bash -c '<command>'`, since a
    compound line (`cd / && python train.py`) would give VAR to its first part only. cmd.exe: a
    `set "VAR=1"` line per variable, then the command (they hold for the rest of that window)."""
    if shell == POSIX:
        prefix = " ".join(f"{k}={shlex.quote(v)}" for k, v in env.items())
        return f"{prefix} {command}" if posix_simple(command) else f"{prefix} bash -c {shlex.quote(command)}"
    if shell == CMD:
        return "\n".join([*(env_line(k, v, CMD) for k, v in env.items()), command])
    raise ValueError(f"no job line for {shell}")


def env_line(name: str, value: str, shell: str) -> str:
    """The line that sets environment variable `name` for the rest of this shell window: `export
    NAME=value` (POSIX sh), `set "NAME=value"` (cmd.exe, which refuses what it cannot hold)."""
    if shell == POSIX:
        _no_control([value])
        return f"export {name}={shlex.quote(value)}"
    if shell == CMD:
        cmd([value])
        if '"' in value:
            raise Unquotable(f"{value!r}: cmd.exe's set \"NAME=value\" cannot hold a \"")
        return f'set "{name}={value}"'
    return powershell_set(name, value)
