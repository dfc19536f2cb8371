"""Python client for the ``seqcls`` ensemble over gRPC.

    from hiercls.client import SeqClsClient
    with SeqClsClient("localhost:8001") as client:
        for p in client.predict(["某公司宣布裁员"]):
            print(p.labels, p.confidences)

Long inputs are split into requests of at most the server's max_batch_size, read
from the model's config so client and server cannot disagree. A server that is
UNAVAILABLE (restarting, a replica going away) is retried with exponential backoff.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Iterator, Sequence
from typing import TypeVar

import numpy as np

from hiercls.runtime import contract
from hiercls.runtime.prediction import Prediction

logger = logging.getLogger(__name__)
T = TypeVar("T")
# Worth retrying: the server is starting, restarting or draining.
RETRY_STATUSES = ("StatusCode.UNAVAILABLE",)


def with_retries(call: Callable[[], T], retries: int, backoff: float, sleep: Callable[[float], None] = time.sleep) -> T:
    """call(), again after backoff, 2 x backoff, ... seconds while it fails UNAVAILABLE."""
    from tritonclient.utils import InferenceServerException

    for attempt in range(retries + 1):
        try:
            return call()
        except InferenceServerException as e:
            if e.status() not in RETRY_STATUSES or attempt == retries:
                raise
            delay = backoff * 2**attempt
            logger.warning("server unavailable (%s); retrying in %.1fs", e.message(), delay)
            sleep(delay)
    raise AssertionError("unreachable")


class SeqClsClient:
    def __init__(
        self,
        url: str = "localhost:8001",
        model_name: str = "seqcls",
        timeout: float = 120.0,
        retries: int = 4,
        backoff: float = 0.5,
    ) -> None:
        import tritonclient.grpc as grpcclient

        self._grpc = grpcclient
        self.url, self.model_name, self.timeout = url, model_name, timeout
        self.retries, self.backoff = retries, backoff
        self.client = grpcclient.InferenceServerClient(url)
        if not self._retry(lambda: self.client.is_model_ready(model_name)):
            raise ConnectionError(f"model {model_name!r} is not ready at {url}")
        config = self._retry(lambda: self.client.get_model_config(model_name)).config
        self.max_batch_size = int(config.max_batch_size) or 1

    def infer_raw(self, texts: Sequence[str]) -> dict[str, np.ndarray]:
        """One request: the ensemble's outputs as arrays (texts ≤ max_batch_size)."""
        data = np.array([[t.encode("utf-8")] for t in texts], dtype=object)
        inp = self._grpc.InferInput(contract.TEXT_INPUT, list(data.shape), "BYTES")
        inp.set_data_from_numpy(data)
        names = (contract.LABEL_OUTPUT, contract.CONFIDENCE_OUTPUT, contract.PATH_OUTPUT)
        outputs = [self._grpc.InferRequestedOutput(n) for n in names]
        result = self._retry(
            lambda: self.client.infer(self.model_name, [inp], outputs=outputs, client_timeout=self.timeout)
        )
        return {n: result.as_numpy(n) for n in names}

    def _retry(self, call: Callable[[], T]) -> T:
        return with_retries(call, self.retries, self.backoff)

    def iter_predict(self, texts: Sequence[str], batch_size: int = 32) -> Iterator[list[Prediction]]:
        """The predictions of each request as it is answered (requests of at most
        max_batch_size texts), so a caller can keep what arrived before a failure."""
        if isinstance(texts, str):
            raise TypeError("predict() takes a list of texts, not one string")
        batch_size = max(1, min(batch_size, self.max_batch_size))
        for start in range(0, len(texts), batch_size):
            chunk = list(texts[start : start + batch_size])
            yield unpack(chunk, self.infer_raw(chunk))

    def predict(self, texts: Sequence[str], batch_size: int = 32) -> list[Prediction]:
        return [p for chunk in self.iter_predict(texts, batch_size) for p in chunk]

    def close(self) -> None:
        self.client.close()

    def __enter__(self) -> SeqClsClient:
        return self

    def __exit__(self, *exc) -> None:
        self.close()


def unpack(texts: Sequence[str], raw: dict[str, np.ndarray]) -> list[Prediction]:
    """Strip the padding of the [N, K] outputs into one Prediction per text."""
    labels, conf, paths = (raw[contract.LABEL_OUTPUT], raw[contract.CONFIDENCE_OUTPUT], raw[contract.PATH_OUTPUT])
    out = []
    for r, text in enumerate(texts):
        keep = labels[r] != contract.LABEL_PAD
        out.append(
            Prediction(
                text,
                [p.decode("utf-8") for p in paths[r][keep]],
                labels[r][keep].astype(int).tolist(),
                conf[r][keep].astype(float).tolist(),
            )
        )
    return out
