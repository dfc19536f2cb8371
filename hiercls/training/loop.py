"""The training-loop skeleton shared by fine-tuning (with or without a teacher) and
DynaBERT pruning: seeding, AdamW with its schedule, the epoch/step iteration with
rate and ETA logging, and Ctrl-C honoured at a step boundary.

A loop subclasses ``EpochLoop`` and fills in what differs: how one batch makes a
loss, what happens after a step and at an epoch's end.
"""

from __future__ import annotations

import logging
import random
import signal
import threading
import time

import numpy as np

logger = logging.getLogger(__name__)


def seed_everything(seed: int) -> None:
    import paddle

    random.seed(seed)
    np.random.seed(seed)
    paddle.seed(seed)


def build_optimizer(
    model,
    learning_rate: float,
    total_steps: int,
    warmup_steps: int = 0,
    weight_decay: float = 0.0,
    max_grad_norm: float = 0.0,
):
    """(AdamW, its learning-rate schedule). The schedule is linear decay after
    ``warmup_steps`` of linear warm-up; weight decay spares biases and norms;
    ``max_grad_norm`` > 0 clips the global gradient norm."""
    import paddle
    from paddlenlp.transformers import LinearDecayWithWarmup

    lr = LinearDecayWithWarmup(learning_rate, total_steps, warmup_steps)
    decay = {p.name for n, p in model.named_parameters() if not any(k in n for k in ("bias", "norm"))}
    optimizer = paddle.optimizer.AdamW(
        learning_rate=lr,
        parameters=model.parameters(),
        weight_decay=weight_decay,
        apply_decay_param_fun=lambda name: name in decay,
        grad_clip=paddle.nn.ClipGradByGlobalNorm(max_grad_norm) if max_grad_norm > 0 else None,
    )
    return optimizer, lr


class GracefulInterrupt:
    """Turns Ctrl-C / SIGTERM into a request honoured at the next step boundary, so
    the saved state is never taken in the middle of an update."""

    def __init__(self) -> None:
        self.requested = False
        self._previous = {}
        if threading.current_thread() is threading.main_thread():
            for sig in (signal.SIGINT, signal.SIGTERM):
                self._previous[sig] = signal.signal(sig, self._handle)

    def _handle(self, signum, frame) -> None:
        if self.requested:  # a second Ctrl-C means now
            raise KeyboardInterrupt
        self.requested = True
        logger.warning("interrupt received: finishing this step and saving the training state")

    def restore(self) -> None:
        for sig, handler in self._previous.items():
            signal.signal(sig, handler)


class EpochLoop:
    """Runs ``epochs`` x ``steps_per_epoch`` optimizer steps from ``progress``
    (epoch from 1, batch and step done so far), so a restored progress resumes
    mid-epoch. ``samples_per_step`` counts every process's batch, for the rate."""

    def __init__(
        self, optimizer, lr, epochs: int, steps_per_epoch: int, samples_per_step: int, logging_steps: int
    ) -> None:
        self.optimizer, self.lr = optimizer, lr
        self.epochs, self.steps_per_epoch = epochs, steps_per_epoch
        self.samples_per_step, self.logging_steps = samples_per_step, logging_steps
        self.progress: dict = {"epoch": 1, "batch": 0, "step": 0}

    @property
    def total_steps(self) -> int:
        return self.epochs * self.steps_per_epoch

    # ---- what a loop fills in

    def start_epoch(self, epoch: int) -> None:
        """Before the epoch's first (or resumed) batch: train mode, this epoch's order."""

    def loss(self, epoch: int, batch: int):
        """Forward and backward of one batch; returns the loss (a Paddle scalar)."""
        raise NotImplementedError

    def after_step(self, step: int, last_of_epoch: bool) -> None:
        """After the optimizer step (periodic saves or evaluations)."""

    def end_epoch(self, epoch: int) -> bool:
        """After the epoch's last batch, with progress already at the next epoch; True stops."""
        return False

    def interrupted(self, step: int) -> None:
        """Ctrl-C / SIGTERM arrived during this step, which has finished: save and raise."""
        raise SystemExit(f"interrupted at step {step}")

    # ---- the skeleton

    def run(self) -> float:
        """Train; returns the seconds it took."""
        p = self.progress
        t_start, first_step = time.time(), p["step"]
        interrupt = GracefulInterrupt()
        try:
            while p["epoch"] <= self.epochs:
                epoch = p["epoch"]
                self.start_epoch(epoch)
                for b in range(p["batch"], self.steps_per_epoch):
                    loss = self.loss(epoch, b)
                    self.optimizer.step()
                    self.lr.step()
                    self.optimizer.clear_grad()
                    p.update(step=p["step"] + 1, batch=b + 1)
                    last = b == self.steps_per_epoch - 1
                    if p["step"] % self.logging_steps == 0 or last:
                        self._log(epoch, float(loss), p["step"] - first_step, time.time() - t_start)
                    if interrupt.requested:
                        self.interrupted(p["step"])
                    self.after_step(p["step"], last)
                p.update(epoch=epoch + 1, batch=0)
                if self.end_epoch(epoch):
                    break
        finally:
            interrupt.restore()
        return time.time() - t_start

    def _log(self, epoch: int, loss: float, steps_run: int, seconds: float) -> None:
        rate = steps_run * self.samples_per_step / max(seconds, 1e-9)
        eta = (self.total_steps - self.progress["step"]) * self.samples_per_step / max(rate, 1e-9)
        logger.info(
            "epoch %d step %d/%d loss %.4f lr %.2e %.1f samples/s ETA %.0fs",
            epoch,
            self.progress["step"],
            self.total_steps,
            loss,
            self.lr.get_lr(),
            rate,
            eta,
        )
