"""Generated config.pbtxt files: exact text, ensemble wiring, cpu vs gpu targets."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from hiercls.repository.triton_config import RepositorySpec, parse, render, repository_configs
from hiercls.runtime import contract

EXPECTED = Path(__file__).parent / "expected"
SPEC = dict(num_labels=20, max_seq_length=128, max_batch_size=64, preferred_batch_sizes=(16, 32, 64))


@pytest.mark.parametrize("target", ["cpu", "gpu"])
def test_configs_match_expected_text(target):
    # To accept an intended change: HIERCLS_UPDATE_EXPECTED=1 pytest tests/test_triton_config.py
    configs = repository_configs(RepositorySpec(target=target, **SPEC))
    for name, config in configs.items():
        path = EXPECTED / target / name / "config.pbtxt"
        text = render(config)
        if os.environ.get("HIERCLS_UPDATE_EXPECTED"):
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(text, encoding="utf-8")
        assert text == path.read_text(encoding="utf-8"), f"{path} differs"
        assert parse(text) == config


@pytest.mark.parametrize("target", ["cpu", "gpu"])
def test_ensemble_wiring_matches_step_tensors(target):
    spec = RepositorySpec(target=target, **SPEC)
    configs = repository_configs(spec)
    ensemble = configs[spec.names.ensemble]
    available = {t.name: (t.data_type, list(t.dims)) for t in ensemble.input}
    for step in ensemble.ensemble_scheduling.step:
        cfg = configs[step.model_name]
        assert cfg.max_batch_size >= ensemble.max_batch_size
        for model_tensor, ensemble_tensor in step.input_map.items():
            declared = next(t for t in cfg.input if t.name == model_tensor)
            assert available[ensemble_tensor] == (declared.data_type, list(declared.dims)), model_tensor
        assert set(step.input_map) == {t.name for t in cfg.input}
        for model_tensor, ensemble_tensor in step.output_map.items():
            declared = next(t for t in cfg.output if t.name == model_tensor)
            available[ensemble_tensor] = (declared.data_type, list(declared.dims))
    for out in ensemble.output:
        assert available[out.name] == (out.data_type, list(out.dims))
    assert [s.model_name for s in ensemble.ensemble_scheduling.step] == [
        "tokenizer",
        "seqcls_model",
        "seqcls_postprocess",
    ]


def test_gpu_target_uses_onnxruntime_on_gpu_and_optional_tensorrt():
    from tritonclient.grpc import model_config_pb2 as mc

    spec = RepositorySpec(target="gpu", tensorrt_fp16=True, model_instances=2, **SPEC)
    model = repository_configs(spec)[spec.names.model]
    assert model.backend == "onnxruntime"
    assert model.instance_group[0].kind == mc.ModelInstanceGroup.KIND_GPU
    assert model.instance_group[0].count == 2
    (acc,) = model.optimization.execution_accelerators.gpu_execution_accelerator
    assert acc.name == "tensorrt" and acc.parameters["precision_mode"] == "FP16"
    assert list(model.dynamic_batching.preferred_batch_size) == [16, 32, 64]
    assert [w.batch_size for w in model.model_warmup] == [1, 16, 32, 64]


def test_cpu_target_model_step_is_python_backend():
    spec = RepositorySpec(target="cpu", **SPEC)
    model = repository_configs(spec)[spec.names.model]
    assert model.backend == "python"
    assert model.output[0].name == contract.LOGITS and list(model.output[0].dims) == [20]


def test_other_base_name_prefixes_every_step():
    names = RepositorySpec(name="news", **SPEC).names
    assert (names.ensemble, names.tokenizer, names.model, names.postprocess) == (
        "news",
        "news_tokenizer",
        "news_model",
        "news_postprocess",
    )


@pytest.mark.parametrize(
    "bad", [dict(target="tpu"), dict(preferred_batch_sizes=(128,)), dict(num_labels=0), dict(name="a b")]
)
def test_invalid_spec_is_refused(bad):
    with pytest.raises(ValueError):
        _ = RepositorySpec(**{**SPEC, **bad}).names


def test_build_repository_flags_default_to_the_spec_and_map_onto_its_fields():
    from hiercls.cli.build_repository import build_parser
    from hiercls.repository.triton_config import spec_defaults, spec_fields

    parser = build_parser()

    given = spec_fields(vars(parser.parse_args([])))
    # Defaults are the dataclass's own; None (the export's max_seq_length, decoder) is left out.
    assert given == {k: v for k, v in spec_defaults().items() if k in given}
    assert RepositorySpec(**SPEC, **{k: v for k, v in given.items() if k not in SPEC}) == RepositorySpec(**SPEC)
    flags = "--model_name news --preferred_batch_size 8 16 --max_queue_delay_us 0 --intra_op_threads 2 --no_warmup"
    given = spec_fields(vars(parser.parse_args(flags.split())))
    assert given["name"] == "news" and given["preferred_batch_sizes"] == (8, 16)
    assert given["max_queue_delay_microseconds"] == 0 and given["intra_op_num_threads"] == 2
    assert given["warmup"] is False and "decoder" not in given and "max_seq_length" not in given
