"""Python client for the ``seqcls`` ensemble over gRPC.

    from hiercls.client import SeqClsClient
    with SeqClsClient("localhost:8001") as client:
        for p in client.predict(["某公司宣布裁员"]):
            print(p.labels, p.confidences)

Long inputs are split into requests of at most the server's max_batch_size, read
from the model's config so client and server cannot disagree.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from hiercls.prediction import Prediction
from hiercls.runtime import contract


class SeqClsClient:
    def __init__(self, url: str = "localhost:8001", model_name: str = "seqcls", timeout: float = 120.0) -> None:
        import tritonclient.grpc as grpcclient

        self._grpc = grpcclient
        self.url, self.model_name, self.timeout = url, model_name, timeout
        self.client = grpcclient.InferenceServerClient(url)
        if not self.client.is_model_ready(model_name):
            raise ConnectionError(f"model {model_name!r} is not ready at {url}")
        config = self.client.get_model_config(model_name).config
        self.max_batch_size = int(config.max_batch_size) or 1

    def infer_raw(self, texts: Sequence[str]) -> dict[str, np.ndarray]:
        """One request: the ensemble's outputs as arrays (texts ≤ max_batch_size)."""
        data = np.array([[t.encode("utf-8")] for t in texts], dtype=object)
        inp = self._grpc.InferInput(contract.TEXT_INPUT, list(data.shape), "BYTES")
        inp.set_data_from_numpy(data)
        names = (contract.LABEL_OUTPUT, contract.CONFIDENCE_OUTPUT, contract.PATH_OUTPUT)
        result = self.client.infer(
            self.model_name,
            [inp],
            outputs=[self._grpc.InferRequestedOutput(n) for n in names],
            client_timeout=self.timeout,
        )
        return {n: result.as_numpy(n) for n in names}

    def predict(self, texts: Sequence[str], batch_size: int = 32) -> list[Prediction]:
        if isinstance(texts, str):
            raise TypeError("predict() takes a list of texts, not one string")
        batch_size = max(1, min(batch_size, self.max_batch_size))
        out: list[Prediction] = []
        for start in range(0, len(texts), batch_size):
            chunk = list(texts[start : start + batch_size])
            raw = self.infer_raw(chunk)
            out.extend(unpack(chunk, raw))
        return out

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
