"""Reads of the network stop on time and follow only links pip could use: a server that drips its
headers is cut off at the deadline, several listings share one budget, and a listing's hostile links
(javascript:, file://, data:, a broken bracketed host) are skipped and counted, never an internal
error or an empty host name. Servers on 127.0.0.1; deadlines of a fraction of a second."""

from __future__ import annotations

import time

import pytest

from envcheck.probes.wheel_index import OVER_BUDGET, read_listing, read_listings
from tests.index_pages import HTML, Answer, IndexServer, pep503, pep691, wheel
from tests.test_index_cli import _serve, _stack, sites  # noqa: F401  (the fixture, by name)

FILES = [wheel("torch", "2.6.0+cu126", "cp312")]


@pytest.fixture
def server():
    with IndexServer() as s:
        yield s


def test_headers_dripped_a_byte_at_a_time_are_cut_off_at_the_deadline(server):
    """Each byte comes well within the per-read timeout, so only a deadline over the whole answer stops it."""
    server.pages["/drip/torch/"] = Answer(pep691("torch", FILES).body, header_drip=0.05)
    start = time.monotonic()
    listing = read_listing(server.url("/drip/torch/"), timeout=5, deadline=0.3)
    assert time.monotonic() - start < 2
    assert "not read within 0.3 s" in listing.error and "\n" not in listing.error


def test_hostile_links_are_skipped_and_counted(server):
    good = pep503("torch", FILES).body.decode()
    hostile = ['javascript:alert(1)//torch-2.6.0+cu126-cp312-cp312-manylinux_2_28_x86_64.whl',
               'file:///etc/torch-2.6.0+cu126-cp312-cp312-manylinux_2_28_x86_64.whl',
               'data:text/plain,torch-2.6.0+cu126-cp312-cp312-manylinux_2_28_x86_64.whl',
               'http://[::1/torch-2.6.0+cu126-cp312-cp312-manylinux_2_28_x86_64.whl',
               'http://evil\x07\x1bc\u202e.example/torch-2.6.0+cu126-cp312-cp312-manylinux_2_28_x86_64.whl',
               'ftp://elsewhere.example/torch-2.6.0+cu126-cp312-cp312-manylinux_2_28_x86_64.whl']
    links = "".join(f'<a href="{h}">x</a>' for h in hostile)
    server.pages["/hostile/torch/"] = Answer(good.replace("</body>", links + "</body>").encode(), HTML)
    listing = read_listing(server.url("/hostile/torch/"))
    assert listing.ok and [f.filename for f in listing.files] == [FILES[0].filename]
    assert all(f.url.startswith(server.base) for f in listing.files)
    assert listing.offsite == ()  # never an empty or escaped host name
    assert sorted(set(listing.refused)) == ["a data: link", "a file: link", "a ftp: link", "a host name that is not one",
                                            "a host that does not parse", "a javascript: link"]


def test_hostile_links_in_pep_691_json_are_skipped_too(server):
    answer = pep691("torch", FILES)
    body = answer.body.replace(b'"files": [', b'"files": [{"filename": "torch-2.6.0+cu126-cp312-cp312-manylinux_2_28_x86_64.whl", '
                                              b'"url": "http://[::1"}, ')
    server.pages["/json/torch/"] = answer._replace(body=body)
    listing = read_listing(server.url("/json/torch/"))
    assert listing.ok and len(listing.files) == 1 and listing.refused == ("a host that does not parse",)


def test_listings_share_one_budget(server):
    for i in range(6):
        server.pages[f"/slow{i}/torch/"] = Answer(pep691("torch", FILES).body, delay=3)
    start = time.monotonic()
    got = read_listings([server.url(f"/slow{i}/torch/") for i in range(6)], workers=2, budget=0.3, timeout=5)
    assert time.monotonic() - start < 2
    assert all(lst.error.endswith(OVER_BUDGET) for lst in got.values())


def test_refresh_stops_at_its_budget_keeps_what_it_read_and_names_the_rest(sites, run_cli):  # noqa: F811
    _serve(sites["sjtu"], "/pytorch-wheels", "cu126", _stack("cp312", "manylinux_2_28_x86_64"))
    for project in ("torch", "torchvision", "torchaudio"):
        sites["sjtu"].pages[f"/pytorch-wheels/cpu/{project}/"] = Answer(pep691(project, []).body, delay=5)
    start = time.monotonic()
    code, out, err = run_cli("compat", "refresh", "--mirror", "sjtu", "--variants", "cu126,cpu", "--budget", "1")
    assert time.monotonic() - start < 4
    assert code == 1
    lines = [x for x in err.splitlines() if "--budget" in x]
    assert lines == ["envcheck: warning: stopped after 1 s (--budget): not read: cpu; what was read is kept; "
                     "read the rest with --variants cpu"]
    assert "# read 1 variant listing(s)" in out and "# cached in" in out
