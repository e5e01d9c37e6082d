"""The catalogue of finding codes (envcheck/checks/codes/): every code a check or a signature row
names is catalogued, every catalogued variant is produced somewhere, and the torch-stack plan is
worked out once per run however many findings carry it."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

from envcheck.checks import fixes, run_all, with_pasted
from envcheck.checks.codes import CODES, finding
from envcheck.compat import Tables
from tests.snapshots import cpu_torch, pkgs, snapshot

T = Tables()
PACKAGE = Path(__file__).parent.parent / "envcheck"


def _literals(node, scope) -> set[str]:
    """The strings an argument can be: a literal, a conditional of literals, or a local name
    assigned only such values in the same function."""
    if isinstance(node, ast.Constant) and isinstance(node.value, str):
        return {node.value}
    if isinstance(node, ast.IfExp):
        return _literals(node.body, scope) | _literals(node.orelse, scope)
    if isinstance(node, ast.Name):
        values = [a.value for a in ast.walk(scope) if isinstance(a, ast.Assign)
                  and any(isinstance(t, ast.Name) and t.id == node.id for t in a.targets)]
        if values:
            return set().union(*(_literals(v, scope) for v in values))
    raise AssertionError(f"line {node.lineno}: a finding's code and variant must be literals the test can read")


def produced_in_source() -> set[tuple[str, str]]:
    """(code, variant) of every `finding(...)` call in envcheck/, except the pasted check's, which
    names the rows of compat/error_signatures.toml (sig.code, sig.variant)."""
    found = set()
    for path in PACKAGE.rglob("*.py"):
        tree = ast.parse(path.read_text(encoding="utf-8"))
        for scope in ast.walk(tree):
            if not isinstance(scope, ast.FunctionDef):
                continue
            for call in ast.walk(scope):
                if not (isinstance(call, ast.Call) and isinstance(call.func, ast.Name) and call.func.id == "finding"):
                    continue
                code_arg, variant_arg = call.args[0], call.args[1]
                if isinstance(code_arg, ast.Attribute):  # sig.code: a row of the signatures table
                    continue
                try:
                    codes, variants = _literals(code_arg, scope), _literals(variant_arg, scope)
                except AssertionError as exc:
                    raise AssertionError(f"{path.relative_to(PACKAGE)}: {exc}") from None
                found |= {(c, v) for c in codes for v in variants}
    return found


def produced_by_signatures() -> set[tuple[str, str]]:
    return {(s.code, s.variant) for s in T.signatures}


def test_every_code_a_check_or_signature_names_is_catalogued():
    used = produced_in_source() | produced_by_signatures()
    assert len(produced_in_source()) > 40  # the scan sees the checks' calls
    unknown = sorted((c, v) for c, v in used if c not in CODES or v not in CODES[c].variants)
    assert not unknown, f"not in envcheck/checks/codes/: {unknown}"


def test_every_catalogued_variant_is_produced_somewhere():
    catalogued = {(c.code, v) for c in CODES.values() for v in c.variants}
    unused = sorted(catalogued - produced_in_source() - produced_by_signatures())
    assert not unused, f"catalogued but never produced: {unused}"


def test_a_typo_in_a_code_or_variant_is_an_error_not_a_new_code():
    with pytest.raises(KeyError, match="not a finding code"):
        finding("no-drvier", "no-gpu", {})
    with pytest.raises(KeyError, match="has no variant"):
        finding("no-driver", "no-gpus", {})


def test_the_catalogue_fills_its_templates_from_facts_and_words():
    f = finding("driver-too-old", "too-old", {"driver": "470.82.01", "torch_cuda": "12.1"}, minimum="525.60.13")
    assert (f.severity, f.area) == ("error", "driver")
    assert f.summary == "driver 470.82.01 is too old for torch's CUDA 12.1 (needs ≥ 525.60.13)"
    assert f.facts == {"driver": "470.82.01", "torch_cuda": "12.1"}  # words stay out of the JSON facts
    assert f.fix is None  # a STACK variant gets its fix from the run, never a template
    assert finding("driver-library-mismatch", "", {}).fix == "sudo reboot"
    assert "?" in finding("arch-unsupported", "torch-capability-not-compatible", {}).summary  # a fact a paste lacks


def test_the_torch_stack_plan_is_computed_once_per_run(monkeypatch):
    calls = []
    real = fixes.stack_plan
    monkeypatch.setattr(fixes, "stack_plan", lambda s, t, interpreter=None: calls.append(1) or real(s, t, interpreter))
    s = snapshot(torch=cpu_torch("2.2.1+cpu"), packages=pkgs(torchvision="0.15.2+cpu"))
    found = [f for f in run_all(s, T) if f.fix and f.code in ("cpu-only-build", "torchvision-mismatch")]
    assert {f.code for f in found} == {"cpu-only-build", "torchvision-mismatch"}
    assert len({(f.fix, f.verify, f.alternative, f.fix_notes) for f in found}) == 1  # one plan, shared
    assert len(calls) == 1


def test_a_pasted_error_and_the_facts_give_one_finding_per_code_the_more_severe():
    facts = [finding("gpu-health", "hot", {"gpu": 0, "temperature_c": 90}, name="GPU 0"),
             finding("gpu-health", "mig", {"gpu": 0, "mig_mode": True}, name="GPU 0")]
    lost = finding("gpu-health", "nvsmi-gpu-lost", {"pasted": "GPU is lost"})
    assert with_pasted(facts, [lost]) == [lost]  # the error proves more than the warning
    busy = finding("device-count-mismatch", "", {"nvml_visible": 2, "torch_device_count": 1})
    ordinal = finding("cuda-hidden", "cuda-invalid-device-ordinal", {})
    assert with_pasted([busy], [ordinal]) == [busy, ordinal]  # another code: both stay
    hidden = finding("cuda-hidden", "malformed", {}, value="x", problem="not an index")
    assert with_pasted([hidden], [ordinal]) == [hidden]  # a tie keeps the facts' finding, which says more
