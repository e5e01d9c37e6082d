"""The index reader against wheel indexes served on 127.0.0.1: PEP 503 and PEP 691 pages with
PyTorch's real naming, and every way a real server fails. None crashes; each failure is one line."""

from __future__ import annotations

import json
import time

import pytest

from envcheck.probes.wheel_index import read_listing
from tests.index_pages import JSON, Answer, IndexServer, pep503, pep691, wheel

FILES = [
    wheel("torch", "2.6.0+cu126", "cp312"),
    wheel("torch", "2.6.0+cu126", "cp313t"),
    wheel("torch", "2.6.0+cu126", "cp312", "win_amd64"),
    wheel("torch", "2.6.0+cu126", "cp312", "manylinux_2_28_aarch64"),
]


@pytest.fixture
def server():
    with IndexServer() as s:
        yield s


def _one_line(error: str) -> None:
    assert error and "\n" not in error and "Traceback" not in error


@pytest.mark.parametrize("form", [pep503, pep691])
def test_a_listing_is_read_in_both_formats(server, form):
    server.pages["/whl/cu126/torch/"] = form("torch", FILES)
    listing = read_listing(server.url("/whl/cu126/torch/"))
    assert listing.ok, listing.error
    assert listing.form == ("json" if form is pep691 else "html")
    names = [f.filename for f in listing.files]
    assert "torch-2.6.0+cu126-cp312-cp312-manylinux_2_28_x86_64.whl" in names  # %2B decoded
    first = listing.files[0]
    assert (first.project, first.version, first.local) == ("torch", "2.6.0", "cu126")
    assert first.requires_python == ">=3.9"  # &gt;= unescaped
    assert first.tags == ("cp312-cp312-manylinux_2_28_x86_64",)
    assert any(f.tags == ("cp313-cp313t-manylinux_2_28_x86_64",) for f in listing.files)
    assert listing.offsite == ()
    # PEP 691: JSON asked for first, HTML accepted
    assert server.requests[-1][1].startswith("application/vnd.pypi.simple.v1+json")


def test_a_server_that_does_not_answer_in_time(server):
    server.pages["/slow/torch/"] = Answer(pep691("torch", FILES).body, JSON, delay=3)
    start = time.monotonic()
    listing = read_listing(server.url("/slow/torch/"), timeout=0.5)
    assert time.monotonic() - start < 2.5
    _one_line(listing.error)
    assert "no answer within 0.5 s" in listing.error


def test_a_404(server):
    listing = read_listing(server.url("/whl/cu999/torch/"))
    _one_line(listing.error)
    assert "HTTP 404" in listing.error


def test_an_html_error_page_where_json_was_expected(server):
    page = b"<!DOCTYPE html><html><head><title>502 Bad Gateway</title></head><body>nginx</body></html>"
    server.pages["/json-says-html/torch/"] = Answer(page, JSON)
    server.pages["/error-page/torch/"] = Answer(page)
    listing = read_listing(server.url("/json-says-html/torch/"))
    _one_line(listing.error)
    assert "sent an HTML page" in listing.error
    listing = read_listing(server.url("/error-page/torch/"))
    _one_line(listing.error)
    assert "not an index page" in listing.error and "502 Bad Gateway" in listing.error


def test_truncated_json(server):
    body = pep691("torch", FILES).body
    server.pages["/cut/torch/"] = Answer(body[: len(body) // 2], JSON)
    listing = read_listing(server.url("/cut/torch/"))
    _one_line(listing.error)
    assert "truncated or not JSON" in listing.error


def test_links_and_redirects_to_another_host_are_reported(server):
    with IndexServer() as upstream:
        # a mirror whose links point back to the upstream host
        server.pages["/mirror/cu126/torch/"] = pep503("torch", FILES, prefix=upstream.url("/whl/cu126/"))
        listing = read_listing(server.url("/mirror/cu126/torch/"))
        assert listing.ok and listing.offsite == (upstream.base.split("//")[1],)
        assert listing.files[0].url.startswith(upstream.base)
        # a mirror that redirects the whole page upstream
        upstream.pages["/whl/cu126/torch/"] = pep691("torch", FILES)
        server.pages["/moved/cu126/torch/"] = Answer(status=302, location=upstream.url("/whl/cu126/torch/"))
        listing = read_listing(server.url("/moved/cu126/torch/"))
        assert listing.ok and listing.offsite == (upstream.base.split("//")[1],)


def test_a_huge_listing_is_cut_off_not_read_whole(server):
    server.pages["/huge/torch/"] = Answer(pep503("torch", FILES).body, stream=32 * 1024 * 1024)
    start = time.monotonic()
    listing = read_listing(server.url("/huge/torch/"), max_bytes=1024 * 1024)
    assert time.monotonic() - start < 10
    _one_line(listing.error)
    assert "larger than 1 MiB" in listing.error


def test_a_listing_that_drips_is_stopped_at_the_deadline(server):
    server.pages["/drip/torch/"] = Answer(pep503("torch", FILES).body, stream=64 * 1024 * 40, drip=0.2)
    start = time.monotonic()
    listing = read_listing(server.url("/drip/torch/"), deadline=1.0)
    assert time.monotonic() - start < 5
    _one_line(listing.error)
    assert "not read within 1 s" in listing.error


def test_nothing_listens(server):
    url = server.url("/whl/cu126/torch/")
    server.close()
    listing = read_listing(url, timeout=2)
    _one_line(listing.error)
    assert "cannot connect" in listing.error


def test_json_that_is_not_pep_691(server):
    server.pages["/odd/torch/"] = Answer(json.dumps({"projects": []}).encode(), JSON)
    listing = read_listing(server.url("/odd/torch/"))
    _one_line(listing.error)
    assert "PEP 691" in listing.error


def test_pips_proxy_setting_is_used(server, tmp_path, monkeypatch):
    """`proxy` in pip's configuration file: the listing of a host that does not exist comes through
    the proxy (here the local server, which answers absolute-URI requests)."""
    server.pages["/whl/cu126/torch/"] = pep691("torch", FILES)
    conf = tmp_path / "pip.conf"
    conf.write_text(f"[global]\nproxy = {server.base}\n", encoding="utf-8")
    monkeypatch.setenv("PIP_CONFIG_FILE", str(conf))
    monkeypatch.delenv("PIP_PROXY", raising=False)
    listing = read_listing("http://index.invalid/whl/cu126/torch/")
    assert listing.ok, listing.error
    assert listing.files[0].local == "cu126"


def test_offline_forbids_reading_and_ends_with_its_command(server, run_cli):
    from envcheck.probes.http_read import allow_network, forbid_network

    server.pages["/whl/cu126/torch/"] = pep691("torch", FILES)
    forbid_network()
    try:
        listing = read_listing(server.url("/whl/cu126/torch/"))
    finally:
        allow_network()
    assert listing.error.endswith("not fetched (--offline)") and server.requests == []
    code, out, _ = run_cli("install-cmd", "--offline", "--cpu", "--os", "linux", "--arch", "x86_64", "--python", "3.12")
    assert code == 0 and "pip install torch==" in out
    assert read_listing(server.url("/whl/cu126/torch/")).ok  # the next command may use the network again
