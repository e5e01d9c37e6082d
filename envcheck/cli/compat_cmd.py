"""`envcheck compat`: questions about the compatibility tables; `compat refresh` reads what the
wheel indexes really hold and caches it."""

import sys
from typing import Annotated, Optional

import typer

from envcheck import compat_query as q
from envcheck.cli.options import Format, FormatOpt, JsonOpt, OfflineOpt, chosen_format
from envcheck.compat import tables
from envcheck.compat.sources import choose_source
from envcheck.errors import UserError
from envcheck.render import compat as render
from envcheck.render.console import control, live, write
from envcheck.render.output import emit
from envcheck.versions import check_torch, cuda_tuple, driver_tuple

app = typer.Typer(help="Answer questions from envcheck's driver / CUDA / torch / GPU tables.")


@app.callback(invoke_without_command=True)
def compat(
    ctx: typer.Context,
    driver: Annotated[Optional[str], typer.Option("--driver", help="Which CUDA versions and torch builds does this NVIDIA driver run?")] = None,
    torch: Annotated[Optional[str], typer.Option("--torch", help="torchvision/torchaudio, Python versions and builds of this torch release.")] = None,
    cuda: Annotated[Optional[str], typer.Option("--cuda", help="Minimum driver and torch releases of this CUDA version.")] = None,
    gpu: Annotated[Optional[str], typer.Option("--gpu", help="Compute capability, peaks and torch builds for this GPU.")] = None,
    windows: Annotated[bool, typer.Option("--windows", help="With --driver: use Windows driver minimums.")] = False,
    fmt: FormatOpt = Format.table,
    as_json: JsonOpt = False,
) -> None:
    """Answer questions from envcheck's driver / CUDA / torch / GPU tables (`compat refresh`: from the wheel indexes)."""
    if ctx.invoked_subcommand is not None:
        return

    asked = [x for x in (driver, torch, cuda, gpu) if x]
    if len(asked) != 1:
        raise UserError("envcheck compat takes exactly one of --driver, --torch, --cuda, --gpu (or: envcheck compat refresh)")
    t = tables()
    if driver:
        driver_tuple(driver)
        answer = q.answer_driver(t, driver.strip(), "windows" if windows else "linux")
    elif torch:
        answer = q.answer_torch(t, check_torch(torch))
    elif cuda:
        answer = q.answer_cuda(t, cuda_tuple(cuda))
    else:
        answer = q.answer_gpu(t, gpu)
    emit("compat", chosen_format(fmt, as_json), render.view(answer), 0)


@app.command("refresh")
def refresh(
    mirror: Annotated[Optional[str], typer.Option("--mirror", help="Package mirror, as install-cmd's --mirror: read its copy of PyTorch's index, "
                                                   "or for one without (tuna, ustc) the copy install-cmd sends torch through; none: PyTorch's own.")] = None,
    torch_mirror: Annotated[Optional[str], typer.Option("--torch-mirror", help="The copy of PyTorch's wheel index to read: sjtu, nju, aliyun, "
                                                         "pytorch (its own) or a URL (default: pip's configured mirror's copy, else PyTorch's own).")] = None,
    variants: Annotated[Optional[str], typer.Option("--variants", help="Only these builds, e.g. cu126,cpu (default: every build of torch 2.x in the tables).")] = None,
    budget: Annotated[float, typer.Option("--budget", min=1, help="Seconds for all listings together; what is read by "
                                          "then is kept and cached, the rest named (default: 120).")] = 120.0,
    offline: OfflineOpt = False,
    fmt: FormatOpt = Format.table,
    as_json: JsonOpt = False,
) -> None:
    """Read which torch builds and Python versions PyTorch's wheel index (or a mirror of it) holds, and cache them."""
    # only for refresh: the index reader's HTML and network modules stay off `compat`'s questions
    from envcheck.index_check import all_variants
    from envcheck.index_check import refresh as run_refresh
    from envcheck.probes.pip_config import read_pip_value
    from envcheck.render import index as index_render

    if offline:
        raise UserError("compat refresh reads the wheel indexes over the network, and --offline forbids that")
    t = tables()
    known = all_variants(t)
    wanted = all_variants(t, since=(2, 0))  # the 1.x builds live on pages PyTorch no longer changes
    if variants is not None:
        wanted = [v.strip().lower() for v in variants.split(",") if v.strip()]
        bad = [v for v in wanted if v not in known]
        if not wanted or bad:
            raise UserError(f"--variants {variants!r}: {', '.join(bad) or 'none given'} not a build envcheck knows ({', '.join(known)})")
    configured = None if (mirror or torch_mirror) else read_pip_value("index-url")
    source, note = choose_source(t, mirror, torch_mirror, configured, tuple(wanted))
    if note:
        write(sys.stderr, f"envcheck: {note}\n")
    progress = live(sys.stderr)
    if progress:  # a terminal: say what the wait is for
        write(sys.stderr, f"reading {len(wanted) * 3} listings of {source.name} …")
        control(sys.stderr, "return")
    result = run_refresh(t, source, wanted, budget=budget)
    if progress:
        control(sys.stderr, "erase line")
    if not result.knowledge.variants:  # nothing read: one line, and the cache stays as it was
        first = (result.errors or index_render.over_budget(result) or ["nothing listed"])[0]
        raise UserError(f"could not read {source.name}: {first}; envcheck keeps using its shipped tables")
    for line in index_render.refresh_problems(result):
        write(sys.stderr, f"envcheck: {line}\n")
    code = 1 if index_render.refresh_problems(result) else 0
    emit("compat refresh", chosen_format(fmt, as_json), index_render.refresh_view(result), code)
    raise typer.Exit(code)
