"""The planner checks a whole request before it solves, and says what is wrong as facts; the CLI
words those facts with its own flags, in one line."""

from __future__ import annotations

import pytest

from envcheck.cli.install_cmd import worded
from envcheck.compat import Tables
from envcheck.errors import UserError
from envcheck.index_check import wanted_files
from envcheck.install import (
    BadRequest,
    Install,
    Machine,
    NoBuildFits,
    NotACarrier,
    Pin,
    Request,
    UnknownMirror,
    UnknownRelease,
    solve,
)

T = Tables()
ELSEWHERE = Machine("linux", "x86_64", "3.11", local=False)
NEWEST = [r.torch for r in sorted(T.releases, key=lambda r: r.key)[-3:]]


def _error(request: Request) -> UserError:
    with pytest.raises(UserError) as exc:
        solve(T, ELSEWHERE, request)
    return exc.value


# -- every argument before solving ------------------------------------------------------------------


def test_an_unknown_mirror_is_reported_when_the_release_is_wrong_too(run_cli):
    code, out, err = run_cli("install-cmd", "--mirror", "tunaa", "--torch", "9.9")
    assert code == 2 and out == "" and len(err.strip().splitlines()) == 1, err
    assert err.startswith("envcheck: error: --mirror 'tunaa' is not a mirror envcheck knows: did you mean tuna")
    assert "torch 9.9 is newer than envcheck's tables" in err  # both, in one line, the mirror first


def test_every_wrong_argument_comes_back_as_facts_in_the_order_a_user_fixes_them():
    exc = _error(Request(mirror="tunaa", torch_mirror="tuna", torch="9.9"))
    assert isinstance(exc, BadRequest)
    assert [type(e) for e in exc.errors] == [UnknownMirror, NotACarrier, UnknownRelease]


def test_a_wrong_mirror_is_reported_even_when_the_request_could_never_be_solved():
    """Before, the mirror was looked up after solving, so an impossible request hid it."""
    exc = _error(Request(mirror="tunaa", torch="2.2.1", cuda=(11, 3)))
    assert isinstance(exc, UnknownMirror) and exc.name == "tunaa"


# -- a release that does not exist -------------------------------------------------------------------


@pytest.mark.parametrize("asked", ["9.9", "2.51", "3.0"])
def test_a_release_past_the_tables_names_the_newest_known(asked, run_cli):
    exc = _error(Request(torch=asked))
    assert isinstance(exc, UnknownRelease) and exc.newer and list(exc.near) == NEWEST
    code, _, err = run_cli("install-cmd", "--torch", asked)
    assert code == 2 and f"newest known: {', '.join(NEWEST)} — upgrade envcheck" in err, err


def test_a_release_between_known_ones_names_its_neighbours_in_version_order():
    exc = _error(Request(torch="2.2.7"))
    assert isinstance(exc, UnknownRelease) and not exc.newer
    assert str(exc) == "torch 2.2.7 is not a release: nearest are 2.2.1, 2.2.2, 2.3.0"


# -- the planner names no flag; the CLI does -----------------------------------------------------------


@pytest.mark.parametrize("request_", [
    Request(mirror="nowhere"),
    Request(torch_mirror="tuna"),
    Request(torch_mirror="nowhere"),
    Request(torch="1.12.1", python="3.11"),
    Request(torch="9.9"),
])
def test_the_planner_names_no_command_line_flag(request_):
    assert "--" not in str(_error(request_))


def test_the_cli_words_a_python_without_wheels_with_its_flags():
    exc = _error(Request(torch="1.12.1", python="3.11"))
    assert isinstance(exc, NoBuildFits) and exc.python_fits == "3.10"
    assert worded(exc).endswith("; plan for Python 3.10 with --python 3.10 --env NAME (a new environment)")


# -- the install as a record ------------------------------------------------------------------------


def test_the_install_argv_is_derived_from_its_fields():
    install = Install(("uv", "pip"), (Pin("torch", "2.4.1", "cu121"), Pin("torchaudio", "2.4.1")), "https://m.example/simple",
                      ("https://x.example/cu121",), ("https://f.example/cu121/",))
    assert install.argv == ("uv", "pip", "install", "torch==2.4.1+cu121", "torchaudio==2.4.1", "-f", "https://f.example/cu121/",
                            "--index-url", "https://m.example/simple", "--extra-index-url", "https://x.example/cu121")


@pytest.mark.parametrize("torch_mirror", ["aliyun", "sjtu", "pytorch"])
def test_check_index_reads_the_install_record_not_its_argv(torch_mirror):
    plan = solve(T, ELSEWHERE, Request(torch="2.6.0", cuda=(12, 6), mirror="tuna", torch_mirror=torch_mirror))
    install = plan.install
    # --check-index does not read the step's argv: blank it, and the files wanted stay the same.
    steps = tuple(s._replace(argv=("pip", "install")) if s.install else s for s in plan.steps)
    wanted = wanted_files(type(plan)(**{**plan.__dict__, "steps": steps}), T, None)
    assert [(w.project, w.version, w.local) for w in wanted] == [(p.project, p.version, p.local or None) for p in install.pins]
    wheels = [u for u in (install.index_url, *install.extra_index_urls) if u != T.mirrors.get("tuna").pypi]
    listing = install.find_links[0] if install.find_links else wheels[0].rstrip("/") + "/torch/"
    assert wanted[0].where == listing and not wanted[0].default_index
