"""Every config.pbtxt of the model repository, generated from one ``RepositorySpec``.

Configs are built as ``ModelConfig`` protobufs and written in text format, so a
name or size can only disagree between the ensemble and a step if the spec
itself is wrong. The same spec gives the ``cpu`` target (model step = Python
backend running onnxruntime, for the tritonserver bundled in nvidia-pytriton) and
the ``gpu`` target (model step = Triton's onnxruntime backend, NGC image).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import MISSING, asdict, dataclass, fields
from typing import Any, Literal

from google.protobuf import text_format
from tritonclient.grpc import model_config_pb2 as mc

from hiercls.runtime import contract
from hiercls.runtime.artifacts import ONNX_FILE
from hiercls.runtime.bucketing import DEFAULT_CALL_OVERHEAD_TOKENS
from hiercls.runtime.contract import ModelNames, model_names
from hiercls.runtime.long_text import DEFAULT_POOL, DEFAULT_STRIDE, LongText
from hiercls.runtime.tokenization import DEFAULT_MAX_TEXT_CHARS

Target = Literal["cpu", "gpu"]
Runtime = Literal["onnx", "paddle"]
# Token width of the warm-up requests.
WARMUP_WIDTH = 16
TARGETS: tuple[str, ...] = ("cpu", "gpu")
RUNTIMES: tuple[str, ...] = ("onnx", "paddle")


@dataclass(frozen=True)
class RepositorySpec:
    """The serving contract's numbers. Written to repository.json next to the models."""

    num_labels: int
    max_seq_length: int
    pad_token_id: int = 0
    name: str = "seqcls"
    target: Target = "cpu"
    max_batch_size: int = 64
    preferred_batch_sizes: tuple[int, ...] = (16, 32, 64)
    max_queue_delay_microseconds: int = 2000
    model_instances: int = 1
    # cpu target: single-threaded onnxruntime calls, one worker per core running
    # length buckets side by side (runtime/onnx_runner.py); 0 workers = one per core.
    intra_op_num_threads: int = 1
    model_workers: int = 0
    # None: 1 on the cpu target (ragged batches, no padding to share), 16 on the gpu
    # target, whose onnxruntime backend batches only equal widths (see __post_init__).
    pad_to_multiple_of: int | None = None
    bucket_call_overhead_tokens: int = DEFAULT_CALL_OVERHEAD_TOKENS
    max_text_chars: int = DEFAULT_MAX_TEXT_CHARS
    decoder: str = "closure"
    warmup: bool = True
    tensorrt_fp16: bool = False
    vocab_size: int = 0  # the cpu model step refuses ids outside it (0: unknown, not checked)
    # cpu target: what runs the model step. onnx: model.onnx on onnxruntime (the
    # faster one measured, benchmarks/results/paddle_vs_onnx.md); paddle: the
    # exported static graph on Paddle Inference (the serving image then needs paddle).
    runtime: Runtime = "onnx"
    paddle_mkldnn: bool = False
    # Long texts (runtime/long_text.py): 0 = truncate to max_seq_length (the default);
    # K > 0 = the tokenizer emits up to K overlapping windows a text with a text_index
    # row map, and the postprocess pools them back into one answer per text.
    long_text_windows: int = 0
    long_text_stride: int = DEFAULT_STRIDE
    long_text_pool: str = DEFAULT_POOL

    def __post_init__(self) -> None:
        if self.target not in TARGETS:
            raise ValueError(f"target must be one of {TARGETS}, got {self.target!r}")
        if self.runtime not in RUNTIMES:
            raise ValueError(f"runtime must be one of {RUNTIMES}, got {self.runtime!r}")
        if self.runtime == "paddle" and self.target != "cpu":
            raise ValueError(
                "runtime 'paddle' is for the cpu target only: the gpu target serves model.onnx with Triton's "
                "onnxruntime backend (build with --target cpu --runtime paddle, or --runtime onnx)"
            )
        if self.pad_to_multiple_of is None:
            # The cpu model step takes ragged batches and buckets rows itself, so any
            # padding the tokenizer adds is pure waste; the gpu target's onnxruntime
            # backend needs rectangular batches, and the batcher merges only requests
            # of one width, so its texts are padded to width buckets of 16.
            object.__setattr__(self, "pad_to_multiple_of", 1 if self.target == "cpu" else 16)
        if self.num_labels < 1 or self.max_seq_length < 3 or self.max_batch_size < 1:
            raise ValueError(f"invalid sizes in {self}")
        if self.long_text_windows:
            LongText(self.long_text_windows, self.long_text_stride, self.long_text_pool)  # validates
            if self.long_text_stride >= self.max_seq_length - 2:
                raise ValueError(
                    f"long_text_stride {self.long_text_stride} must be below max_seq_length - 2 "
                    f"({self.max_seq_length - 2}): windows would never advance"
                )
        too_big = [b for b in self.preferred_batch_sizes if b > self.max_batch_size or b < 1]
        if too_big:
            raise ValueError(f"preferred batch sizes {too_big} must lie in 1..max_batch_size={self.max_batch_size}")

    @property
    def names(self) -> ModelNames:
        return model_names(self.name)

    @property
    def max_rows(self) -> int:
        """Most rows a request may carry past the tokenizer: with windows, each of
        max_batch_size texts may become long_text_windows rows."""
        return self.max_batch_size * max(1, self.long_text_windows)

    def to_dict(self) -> dict:
        d = asdict(self)
        d["preferred_batch_sizes"] = list(self.preferred_batch_sizes)
        return d

    @classmethod
    def from_dict(cls, d: dict) -> RepositorySpec:
        d = dict(d)
        d["preferred_batch_sizes"] = tuple(d.get("preferred_batch_sizes", ()))
        return cls(**d)


def spec_defaults() -> dict[str, Any]:
    """RepositorySpec's field defaults, for CLIs to show and fall back to: a serving
    default is written once, in the dataclass."""
    return {f.name: f.default for f in fields(RepositorySpec) if f.default is not MISSING}


def spec_fields(values: Mapping[str, Any]) -> dict[str, Any]:
    """The RepositorySpec fields among ``values`` (a CLI's ``vars(args)``, whose flags
    store under the field names), None (not given) left out and lists made tuples."""
    names = {f.name for f in fields(RepositorySpec)}
    return {k: tuple(v) if isinstance(v, list) else v for k, v in values.items() if k in names and v is not None}


def tensor(cls, name: str, dtype: str, dims: list[int]):
    return cls(name=name, data_type=getattr(mc, dtype), dims=dims)


def _params(config: mc.ModelConfig, **values) -> None:
    for key, value in values.items():
        config.parameters[key].string_value = str(value)


def _cpu_instances(config: mc.ModelConfig, count: int = 1) -> None:
    config.instance_group.add(count=count, kind=mc.ModelInstanceGroup.KIND_CPU)


def _merge_queued(config: mc.ModelConfig) -> None:
    """Hand every request already waiting to one execute() without waiting for more:
    a Python-backend call costs a round trip to its stub process, shared this way by
    all queued requests, and a delay would only add latency to a cheap step. Each
    request is still answered on its own (the backends loop over requests)."""
    config.dynamic_batching.max_queue_delay_microseconds = 0


def tokenizer_config(spec: RepositorySpec) -> mc.ModelConfig:
    c = mc.ModelConfig(name=spec.names.tokenizer, backend="python", max_batch_size=spec.max_batch_size)
    c.input.append(tensor(mc.ModelInput, contract.TEXT_INPUT, "TYPE_STRING", [1]))
    c.output.append(tensor(mc.ModelOutput, contract.INPUT_IDS, "TYPE_INT64", [-1]))
    c.output.append(tensor(mc.ModelOutput, contract.TOKEN_TYPE_IDS, "TYPE_INT64", [-1]))
    if spec.long_text_windows:
        c.output.append(tensor(mc.ModelOutput, contract.TEXT_INDEX, "TYPE_INT64", [1]))
    _merge_queued(c)
    _cpu_instances(c)
    _params(
        c,
        max_seq_length=spec.max_seq_length,
        pad_token_id=spec.pad_token_id,
        pad_to_multiple_of=spec.pad_to_multiple_of,
        max_text_chars=spec.max_text_chars,
    )
    if spec.long_text_windows:  # only when on, so default configs stay as they were
        _params(c, long_text_windows=spec.long_text_windows, long_text_stride=spec.long_text_stride)
    return c


def model_config(spec: RepositorySpec) -> mc.ModelConfig:
    c = mc.ModelConfig(name=spec.names.model, max_batch_size=spec.max_rows)
    c.input.append(tensor(mc.ModelInput, contract.INPUT_IDS, "TYPE_INT64", [-1]))
    c.input.append(tensor(mc.ModelInput, contract.TOKEN_TYPE_IDS, "TYPE_INT64", [-1]))
    c.output.append(tensor(mc.ModelOutput, contract.LOGITS, "TYPE_FP32", [spec.num_labels]))
    c.dynamic_batching.preferred_batch_size.extend(spec.preferred_batch_sizes)
    c.dynamic_batching.max_queue_delay_microseconds = spec.max_queue_delay_microseconds
    if spec.target == "cpu":
        c.backend = "python"
        # Ragged: the batcher may merge requests of different widths; the model step
        # pads and length-buckets the rows itself (hiercls.runtime.bucketing).
        for t in c.input:
            t.allow_ragged_batch = True
        _cpu_instances(c, spec.model_instances)
        _params(
            c,
            pad_token_id=spec.pad_token_id,
            intra_op_num_threads=spec.intra_op_num_threads,
            model_workers=spec.model_workers,
            bucket_call_overhead_tokens=spec.bucket_call_overhead_tokens,
        )
        # Bounds for direct callers of the model step (issue 14; hiercls/runtime/guards.py).
        _params(c, max_seq_length=spec.max_seq_length, **({"vocab_size": spec.vocab_size} if spec.vocab_size else {}))
        if spec.runtime == "paddle":
            # Only when set, so an onnx repository's config stays as it was.
            _params(c, paddle_mkldnn=str(spec.paddle_mkldnn).lower())
    else:
        c.backend = "onnxruntime"
        c.default_model_filename = ONNX_FILE
        c.instance_group.add(count=spec.model_instances, kind=mc.ModelInstanceGroup.KIND_GPU)
        if spec.tensorrt_fp16:
            trt = c.optimization.execution_accelerators.gpu_execution_accelerator.add(name="tensorrt")
            trt.parameters["precision_mode"] = "FP16"
            trt.parameters["max_workspace_size_bytes"] = str(1 << 30)
    if spec.warmup:
        # Padding-width inputs at the batch sizes the batcher will form, so the first
        # real requests do not pay for allocation and kernel selection.
        for batch in sorted({1, *spec.preferred_batch_sizes}):
            w = c.model_warmup.add(name=f"batch_{batch}", batch_size=batch)
            for name in (contract.INPUT_IDS, contract.TOKEN_TYPE_IDS):
                w.inputs[name].data_type = mc.TYPE_INT64
                w.inputs[name].dims.append(min(WARMUP_WIDTH, spec.max_seq_length))
                w.inputs[name].zero_data = True
    return c


def postprocess_config(spec: RepositorySpec) -> mc.ModelConfig:
    # Its input rows are windows (up to max_rows), its output rows texts.
    c = mc.ModelConfig(name=spec.names.postprocess, backend="python", max_batch_size=spec.max_rows)
    c.input.append(tensor(mc.ModelInput, contract.LOGITS, "TYPE_FP32", [spec.num_labels]))
    if spec.long_text_windows:
        c.input.append(tensor(mc.ModelInput, contract.TEXT_INDEX, "TYPE_INT64", [1]))
    c.output.append(tensor(mc.ModelOutput, contract.LABEL_OUTPUT, "TYPE_INT64", [-1]))
    c.output.append(tensor(mc.ModelOutput, contract.CONFIDENCE_OUTPUT, "TYPE_FP32", [-1]))
    c.output.append(tensor(mc.ModelOutput, contract.PATH_OUTPUT, "TYPE_STRING", [-1]))
    _merge_queued(c)
    _cpu_instances(c)
    _params(c, num_labels=spec.num_labels, decoder=spec.decoder)
    if spec.long_text_windows:
        _params(c, long_text_pool=spec.long_text_pool)
    return c


def ensemble_config(spec: RepositorySpec) -> mc.ModelConfig:
    names = spec.names
    c = mc.ModelConfig(name=names.ensemble, platform="ensemble", max_batch_size=spec.max_batch_size)
    c.input.append(tensor(mc.ModelInput, contract.TEXT_INPUT, "TYPE_STRING", [1]))
    c.output.extend(postprocess_config(spec).output)
    wire_steps(c, [tokenizer_config(spec), model_config(spec), postprocess_config(spec)])
    return c


def wire_steps(ensemble: mc.ModelConfig, steps: list[mc.ModelConfig]) -> None:
    """Add ``steps`` to the ensemble in order. Each step's tensors keep their own
    names in the ensemble, so the wiring is the identity map and cannot drift from
    the step configs."""
    for step in steps:
        s = ensemble.ensemble_scheduling.step.add(model_name=step.name, model_version=-1)
        for t in step.input:
            s.input_map[t.name] = t.name
        for t in step.output:
            s.output_map[t.name] = t.name


def repository_configs(spec: RepositorySpec) -> dict[str, mc.ModelConfig]:
    """model name -> its config, for every model of the repository."""
    configs = [tokenizer_config(spec), model_config(spec), postprocess_config(spec), ensemble_config(spec)]
    return {c.name: c for c in configs}


def render(config: mc.ModelConfig) -> str:
    return text_format.MessageToString(config, as_utf8=True)


def parse(text: str) -> mc.ModelConfig:
    return text_format.Parse(text, mc.ModelConfig())
