"""`envcheck onnx` for real on the CPU provider: reference networks, a user's model built here with
onnx.helper, and the failures the command must name (corrupt file, missing op, wrong output,
a provider this onnxruntime does not have)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

onnx = pytest.importorskip("onnx")
ort = pytest.importorskip("onnxruntime")
np = pytest.importorskip("numpy")

from onnx import TensorProto, helper  # noqa: E402

from tests.pythons import needs_torch  # noqa: E402


def _save(model, path):
    path.write_bytes(model.SerializeToString())
    return str(path)


def user_model(path, op="Relu", domain="", ir_version=8):
    """y = op(x @ W + b) with a symbolic batch dimension 'batch'."""
    x = helper.make_tensor_value_info("x", TensorProto.FLOAT, ["batch", 8])
    y = helper.make_tensor_value_info("y", TensorProto.FLOAT, ["batch", 4])
    w = helper.make_tensor("W", TensorProto.FLOAT, [8, 4], np.linspace(-1, 1, 32).astype(np.float32).tolist())
    b = helper.make_tensor("b", TensorProto.FLOAT, [4], [0.1, -0.2, 0.3, -0.4])
    nodes = [helper.make_node("MatMul", ["x", "W"], ["xw"]), helper.make_node("Add", ["xw", "b"], ["z"]),
             helper.make_node(op, ["z"], ["y"], domain=domain)]
    opsets = [helper.make_opsetid("", 17)] + ([helper.make_opsetid(domain, 1)] if domain else [])
    graph = helper.make_graph(nodes, "user", [x], [y], initializer=[w, b])
    return _save(helper.make_model(graph, opset_imports=opsets, ir_version=ir_version), path)


def test_user_model_passes_on_cpu(run_cli, tmp_path):
    code, out, err = run_cli("onnx", "--model", user_model(tmp_path / "m.onnx"), "--dim", "batch=3", "--json")
    data = json.loads(out)
    result = data["results"][0]
    assert code == 0 and data["passed"]
    assert result["inputs"] == [["x", [3, 8], "float32"]]
    assert result["runs"][0]["provider"] == "CPUExecutionProvider" and result["runs"][0]["status"] == "pass"


@pytest.mark.parametrize("content", [b"", b"\x08\x07this is not a protobuf model" * 3, b"\x8f\x12" * 50],
                         ids=["empty", "not-protobuf", "random"])
def test_a_file_that_is_not_a_model_is_one_line(run_cli, tmp_path, content):
    path = tmp_path / "bad.onnx"
    path.write_bytes(content)
    code, out, err = run_cli("onnx", "--model", str(path), "--json")
    assert code == 2 and out == "" and len(err.strip().splitlines()) == 1 and str(path) in err


def test_a_cut_off_model_is_one_line(run_cli, tmp_path):
    whole = Path(user_model(tmp_path / "m.onnx")).read_bytes()
    (tmp_path / "cut.onnx").write_bytes(whole[: len(whole) // 3])
    code, out, err = run_cli("onnx", "--model", str(tmp_path / "cut.onnx"))
    assert code == 2 and out == "" and "not an ONNX model" in err


def test_inputs_too_large_to_generate_are_refused_before_allocation(run_cli, tmp_path):
    import onnx
    from onnx import TensorProto, helper

    x = helper.make_tensor_value_info("x", TensorProto.FLOAT, [100000, 100000, 100000])
    y = helper.make_tensor_value_info("y", TensorProto.FLOAT, [100000, 100000, 100000])
    graph = helper.make_graph([helper.make_node("Relu", ["x"], ["y"])], "g", [x], [y])
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])
    model.ir_version = 8
    onnx.save(model, str(tmp_path / "huge.onnx"))
    code, out, err = run_cli("onnx", "--model", str(tmp_path / "huge.onnx"))
    assert code == 2 and "GiB" in err and len(err.strip().splitlines()) == 1


def test_an_op_onnxruntime_cannot_run_is_named(run_cli, tmp_path):
    code, out, _ = run_cli("onnx", "--model", user_model(tmp_path / "m.onnx", op="Frobnicate", domain="com.example"), "--json")
    result = json.loads(out)["results"][0]
    assert code == 2
    failed = result["runs"][0] if result["runs"] else result
    assert "Frobnicate" in json.dumps(failed)


def test_a_model_newer_than_onnxruntime_reads_is_named(run_cli, tmp_path):
    """onnx's helper writes an IR version some onnxruntime releases cannot load yet."""
    code, out, _ = run_cli("onnx", "--model", user_model(tmp_path / "m.onnx", ir_version=onnx.IR_VERSION), "--json")
    if code == 0:
        pytest.skip(f"this onnxruntime reads IR version {onnx.IR_VERSION}")
    run = json.loads(out)["results"][0]["runs"][0]
    assert code == 2 and run["status"] == "error" and "IR version" in run["reason"] and "onnxruntime::" not in run["reason"]


def test_unavailable_provider_is_reported_not_faked(run_cli, tmp_path):
    code, out, _ = run_cli("onnx", "--model", user_model(tmp_path / "m.onnx"), "--provider", "CUDAExecutionProvider", "--json")
    runs = json.loads(out)["results"][0]["runs"]
    if "CUDAExecutionProvider" in ort.get_available_providers():
        pytest.skip("this onnxruntime has CUDA")
    assert code == 2 and runs == [{**runs[0], "provider": "CUDAExecutionProvider", "status": "unavailable"}]


@pytest.mark.parametrize("args,needle", [(["--exporter", "tf"], "--exporter 'tf'"), (["--dim", "batch"], "NAME=VALUE"),
                                         (["--model", "/nonexistent.onnx"], "--model /nonexistent.onnx"),
                                         (["--network", "resnet"], "--network 'resnet'"), (["--opset", "3"], "--opset 3")])
def test_bad_input_is_one_line(run_cli, args, needle):
    code, out, err = run_cli("onnx", *args)
    assert code == 2 and needle in err and len(err.strip().splitlines()) == 1


@needs_torch  # exports a reference network
def test_reference_networks_pass_with_torchscript(run_cli):
    code, out, _ = run_cli("onnx", "--exporter", "torchscript", "--json")
    results = json.loads(out)["results"]
    assert code == 0 and {r["model"] for r in results} == {"cifar_cnn", "transformer_block"}
    for r in results:
        run = r["runs"][0]
        assert run["status"] == "pass" and run["max_abs"] < 1e-4 and run["median_ms"] > 0


@needs_torch  # exports a reference network
def test_reference_cnn_passes_with_dynamo(run_cli):
    pytest.importorskip("onnxscript")
    code, out, _ = run_cli("onnx", "--exporter", "dynamo", "--network", "cifar_cnn", "--json")
    assert code == 0 and json.loads(out)["results"][0]["runs"][0]["status"] == "pass"


@needs_torch  # exports a reference network
def test_a_perturbed_export_is_a_mismatch(run_cli, monkeypatch):
    """The export is made wrong on purpose (one weight changed): the comparison must catch it."""
    from envcheck.onnxcheck import runner

    real = runner.export

    def perturbed(*args, **kwargs):
        model = onnx.load_from_string(real(*args, **kwargs))
        init = model.graph.initializer[0]
        arr = onnx.numpy_helper.to_array(init).copy()
        arr.flat[0] += 0.5
        init.CopyFrom(onnx.numpy_helper.from_array(arr, init.name))
        return model.SerializeToString()

    monkeypatch.setattr(runner, "export", perturbed)
    code, out, _ = run_cli("onnx", "--exporter", "torchscript", "--network", "cifar_cnn", "--json")
    run = json.loads(out)["results"][0]["runs"][0]
    assert code == 2 and run["status"] == "mismatch" and "max abs error" in run["reason"]


@needs_torch  # exports a reference network
def test_markdown_is_the_report_in_a_code_block(run_cli):
    code, out, _ = run_cli("onnx", "--exporter", "torchscript", "--network", "cifar_cnn", "--format", "markdown")
    assert code == 0 and out.startswith("## envcheck onnx\n\n```text\ntorch ") and out.endswith("```\n")
    assert "cifar_cnn" in out and "verdict: all pass" in out


@needs_torch  # exports a reference network
def test_an_onnxruntime_that_kills_the_interpreter_is_one_line(run_cli, tmp_path, monkeypatch):
    fake = tmp_path / "onnxruntime"
    fake.mkdir()
    (fake / "__init__.py").write_text("import os, signal\nos.kill(os.getpid(), signal.SIGABRT)\n")
    monkeypatch.setenv("PYTHONPATH", str(tmp_path))
    code, out, err = run_cli("onnx", "--network", "cifar_cnn", "--exporter", "torchscript")
    assert code == 2 and out == "" and "importing onnxruntime ended the interpreter" in err


# -- onnxruntime-gpu on a machine whose CUDA or TensorRT libraries are missing (tests/fakes/onnxruntime) --

TRT, CUDA, CPU = "TensorrtExecutionProvider", "CUDAExecutionProvider", "CPUExecutionProvider"
TORCH_SPECS = Path(__file__).parent / "fixtures" / "torch"


@pytest.fixture
def gpu_ort(monkeypatch, tmp_path):
    """gpu_ort(**spec): the fake onnxruntime-gpu here and in the children; their torch is the fake
    CPU build (fast to import), and this process imports none unless the test exports a network."""
    from tests.fakes import fake_ort

    def install(**spec):
        monkeypatch.setenv("FAKE_TORCH_SPEC", str(TORCH_SPECS / "cpu_build.json"))
        return fake_ort.install(monkeypatch, tmp_path, spec, also=(fake_ort.TORCH,))

    return install


def _runs(data: dict) -> dict:
    return {r["provider"]: r for r in data["results"][0]["runs"]}


def test_tensorrt_is_not_run_unless_asked_and_json_stays_one_document(run_cli, tmp_path, gpu_ort):
    """onnxruntime-gpu lists TensorRT without TensorRT installed, and a session asked for it made
    ORT's Python layer print its fallback banner on stdout, inside the JSON."""
    gpu_ort(providers=[TRT, CUDA, CPU], load={TRT: "missing"}, raises=[TRT])
    code, out, err = run_cli("onnx", "--model", user_model(tmp_path / "m.onnx"), "--json")
    data = json.loads(out)
    runs = _runs(data)
    assert code == 0 and {p: r["status"] for p, r in runs.items()} == {CUDA: "pass", CPU: "pass"}, err
    assert "--provider TensorrtExecutionProvider" in data["not_run"][TRT]
    # fp32 compared as fp32 on CUDA: TF32 off, as ORT itself reports the option back
    assert runs[CUDA]["options"] == {"use_tf32": "0"} and runs[CUDA]["cpu_nodes"] is False and runs[CPU]["cpu_nodes"] is None


def test_tensorrt_asked_for_is_reported_with_its_own_library(run_cli, tmp_path, gpu_ort):
    gpu_ort(providers=[TRT, CUDA, CPU], load={TRT: "missing"}, raises=[TRT])
    code, out, _ = run_cli("onnx", "--model", user_model(tmp_path / "m.onnx"), "--provider", TRT, "--json")
    data = json.loads(out)  # the banner ORT printed stays off stdout
    run = _runs(data)[TRT]
    assert code == 2 and run["status"] == "fallback"
    assert "libnvinfer.so.10 not found" in run["reason"] and "TensorRT is optional" in run["reason"] and "cuDNN" not in run["reason"]
    assert [x["provider"] for x in data["without_torch"] if x["loads"] is False] == [TRT]


def test_cuda_that_cannot_load_names_the_missing_library_and_the_fix(run_cli, tmp_path, gpu_ort):
    gpu_ort(version="1.22.0", providers=[CUDA, CPU], load={CUDA: "missing"})
    code, out, _ = run_cli("onnx", "--model", user_model(tmp_path / "m.onnx"), "--json")
    data = json.loads(out)
    run = _runs(data)[CUDA]
    assert code == 2 and run["status"] == "fallback" and run["providers_used"] == [CPU]
    assert "libcublasLt.so.12 not found" in run["reason"] and "pip install 'onnxruntime-gpu[cuda,cudnn]==1.22.0'" in run["reason"]
    alone = data["without_torch"][0]
    assert (alone["provider"], alone["loads"], alone["missing"], alone["after_preload"]) == (CUDA, False, ["libcublasLt.so.12"], False)


def test_an_onnxruntime_without_the_tf32_option_runs_and_says_so(run_cli, tmp_path, gpu_ort):
    gpu_ort(providers=[CUDA, CPU], tf32_option=False)
    code, out, _ = run_cli("onnx", "--model", user_model(tmp_path / "m.onnx"), "--json")
    run = _runs(json.loads(out))[CUDA]
    assert code == 0 and run["status"] == "pass" and run["options"] == {} and "no use_tf32 option" in run["reason"]


def test_nodes_left_on_the_cpu_inside_a_cuda_session_are_reported(run_cli, tmp_path, gpu_ort):
    gpu_ort(providers=[CUDA, CPU], cpu_nodes=[CUDA])
    code, out, _ = run_cli("onnx", "--model", user_model(tmp_path / "m.onnx"))
    assert code == 0 and "verdict: all pass" in out
    assert "CUDA: some nodes ran on the CPU inside this session" in out.replace("\n    ", " ")


def test_a_provider_that_fails_while_running_is_a_fallback_and_json_stays_one_document(run_cli, tmp_path, gpu_ort):
    gpu_ort(providers=[CUDA, CPU], fails_running=[CUDA])
    code, out, _ = run_cli("onnx", "--model", user_model(tmp_path / "m.onnx"), "--json")
    run = _runs(json.loads(out))[CUDA]  # ORT printed "EP Error: ... using [...]" while running
    assert code == 2 and run["status"] == "fallback" and run["providers_used"] == [CPU]
    assert "failed while running" in run["reason"] and "out of memory" in run["reason"]


@needs_torch  # exports a reference network, so this process imports torch
def test_cuda_that_loads_only_after_torch_is_a_warning_not_a_pass(run_cli, gpu_ort):
    gpu_ort(version="1.22.0", providers=[CUDA, CPU], load={CUDA: "needs_preload"})
    code, out, _ = run_cli("onnx", "--network", "cifar_cnn", "--exporter", "torchscript", "--json")
    data = json.loads(out)
    run = _runs(data)[CUDA]
    assert code == 1 and data["exit_code"] == 1 and run["status"] == "torch_only"
    assert "only because envcheck had imported torch" in run["reason"] and "onnxruntime.preload_dlls()" in run["reason"]
    alone = data["without_torch"][0]
    assert (alone["loads"], alone["after_preload"]) == (False, True)
