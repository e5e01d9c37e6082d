"""`envcheck compat`: questions about the compatibility tables."""

from typing import Annotated, Optional

import typer

from envcheck.cli.options import Format, FormatOpt, JsonOpt, chosen_format
from envcheck.compat import tables
from envcheck.errors import UserError
from envcheck.versions import check_torch, cuda_tuple, driver_tuple


def compat(
    driver: Annotated[Optional[str], typer.Option("--driver", help="Which CUDA versions and torch builds does this NVIDIA driver run?")] = None,
    torch: Annotated[Optional[str], typer.Option("--torch", help="torchvision/torchaudio, Python versions and builds of this torch release.")] = None,
    cuda: Annotated[Optional[str], typer.Option("--cuda", help="Minimum driver and torch releases of this CUDA version.")] = None,
    gpu: Annotated[Optional[str], typer.Option("--gpu", help="Compute capability, peaks and torch builds for this GPU.")] = None,
    windows: Annotated[bool, typer.Option("--windows", help="With --driver: use Windows driver minimums.")] = False,
    fmt: FormatOpt = Format.table,
    as_json: JsonOpt = False,
) -> None:
    """Answer questions from envcheck's driver / CUDA / torch / GPU tables."""
    from envcheck import compat_query as q
    from envcheck.render import compat as render
    from envcheck.render.console import out, print_json

    asked = [x for x in (driver, torch, cuda, gpu) if x]
    if len(asked) != 1:
        raise UserError("envcheck compat takes exactly one of --driver, --torch, --cuda, --gpu")
    t = tables()
    if driver:
        driver_tuple(driver)
        answer, show = q.answer_driver(t, driver.strip(), "windows" if windows else "linux"), render.driver
    elif torch:
        answer, show = q.answer_torch(t, check_torch(torch)), render.torch
    elif cuda:
        answer, show = q.answer_cuda(t, cuda_tuple(cuda)), render.cuda
    else:
        answer, show = q.answer_gpu(t, gpu), render.gpu
    if chosen_format(fmt, as_json) is Format.json:
        print_json(render.as_dict(answer))
    else:
        show(answer, out())
