"""The shared epoch/step skeleton (hiercls.training.loop.EpochLoop), without Paddle: which
batches run after a mid-epoch resume, when a loop stops, and a Ctrl-C at a step boundary."""

from __future__ import annotations

import os
import signal

import pytest

from hiercls.training.loop import EpochLoop


class Counter:
    """Stands in for the optimizer and the schedule: counts steps."""

    def __init__(self) -> None:
        self.steps = 0

    def step(self) -> None:
        self.steps += 1

    def clear_grad(self) -> None:
        pass

    def get_lr(self) -> float:
        return 0.1


class Recorder(EpochLoop):
    def __init__(self, epochs: int = 3, steps_per_epoch: int = 4, stop_after: int | None = None) -> None:
        super().__init__(Counter(), Counter(), epochs, steps_per_epoch, samples_per_step=8, logging_steps=2)
        self.batches: list[tuple[int, int]] = []
        self.events: list[str] = []
        self.stop_after = stop_after

    def start_epoch(self, epoch: int) -> None:
        self.events.append(f"start {epoch}")

    def loss(self, epoch: int, batch: int) -> float:
        self.batches.append((epoch, batch))
        return 0.5

    def after_step(self, step: int, last_of_epoch: bool) -> None:
        if last_of_epoch:
            self.events.append(f"last {step}")

    def end_epoch(self, epoch: int) -> bool:
        self.events.append(f"end {epoch} -> next {self.progress['epoch']}")
        return epoch == self.stop_after


def test_runs_every_step_once_and_advances_the_schedule():
    loop = Recorder()
    loop.run()
    assert loop.batches == [(e, b) for e in (1, 2, 3) for b in range(4)]
    assert loop.optimizer.steps == loop.lr.steps == 12 == loop.progress["step"]
    assert loop.events[:3] == ["start 1", "last 4", "end 1 -> next 2"]
    assert loop.progress == {"epoch": 4, "batch": 0, "step": 12}


def test_a_restored_progress_resumes_mid_epoch():
    loop = Recorder()
    loop.progress.update(epoch=2, batch=3, step=7)
    loop.run()
    assert loop.batches == [(2, 3), (3, 0), (3, 1), (3, 2), (3, 3)]
    assert loop.progress["step"] == 12


def test_end_epoch_true_stops():
    loop = Recorder(stop_after=1)
    loop.run()
    assert loop.batches[-1] == (1, 3) and loop.progress["epoch"] == 2


def test_an_interrupt_finishes_the_step_then_calls_interrupted():
    class Interrupted(Recorder):
        def loss(self, epoch: int, batch: int) -> float:
            if (epoch, batch) == (1, 2):
                os.kill(os.getpid(), signal.SIGINT)
            return super().loss(epoch, batch)

    loop = Interrupted()
    previous = signal.getsignal(signal.SIGINT)
    with pytest.raises(SystemExit, match="interrupted at step 3"):
        loop.run()
    assert loop.progress == {"epoch": 1, "batch": 3, "step": 3}  # the step in flight finished
    assert signal.getsignal(signal.SIGINT) is previous  # the handler is put back
