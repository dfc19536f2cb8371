"""Postprocess step: logits [N, L] -> label ids, confidences and label paths per row.

Every row of every request is decoded (PaddleNLP's version read only row 0),
thresholds are per label, and the decoder never returns a child without its
parent. Outputs are [N, K], K the most labels any row of the request has; the
rest of a row is padding (label -1, confidence 0, path "").

With long-text windows on, the logits rows are windows and ``text_index`` [R, 1]
names each one's text: the window probabilities of a text are pooled per label
(``long_text_pool``: max or mean) before thresholds and decoding, so a request of
N texts still gets N rows.
"""

from __future__ import annotations

import numpy as np

try:
    from hiercls_runtime import contract
    from hiercls_runtime.artifacts import LABEL_FILE
    from hiercls_runtime.decoding import LabelDecoder, sigmoid
    from hiercls_runtime.hierarchy import LabelHierarchy
    from hiercls_runtime.long_text import fold_windows
    from hiercls_runtime.triton_args import output_dtypes, parse_args
except ImportError:
    from hiercls.runtime import contract
    from hiercls.runtime.artifacts import LABEL_FILE
    from hiercls.runtime.decoding import LabelDecoder, sigmoid
    from hiercls.runtime.hierarchy import LabelHierarchy
    from hiercls.runtime.long_text import fold_windows
    from hiercls.runtime.triton_args import output_dtypes, parse_args


def pack_predictions(
    probs: np.ndarray, pred: np.ndarray, hierarchy: LabelHierarchy
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Padded (label ids, confidences, label paths) arrays of shape [N, K]."""
    rows = [np.flatnonzero(p) for p in pred]
    k = max(1, max((len(r) for r in rows), default=0))
    labels = np.full((len(rows), k), contract.LABEL_PAD, dtype=np.int64)
    conf = np.zeros((len(rows), k), dtype=np.float32)
    paths = np.full((len(rows), k), b"", dtype=object)
    for r, ids in enumerate(rows):
        labels[r, : len(ids)] = ids
        conf[r, : len(ids)] = probs[r, ids]
        paths[r, : len(ids)] = [hierarchy.labels[i].encode("utf-8") for i in ids]
    return labels, conf, paths


class TritonPythonModel:
    def initialize(self, args: dict[str, str]) -> None:
        import triton_python_backend_utils as pb_utils

        self.pb = pb_utils
        config, params, version_dir = parse_args(args)
        self.dtypes = output_dtypes(pb_utils, config)
        # The decoder is the config's (the builder wrote the tuned one there, or a flag's).
        self.decoding = LabelDecoder.from_folder(version_dir, params.get("decoder", "closure"))
        self.pool = params.get("long_text_pool")  # None: one row per text, nothing to fold
        num_labels = int(params["num_labels"])
        if num_labels != len(self.decoding):
            raise ValueError(f"config says {num_labels} labels, {LABEL_FILE} has {len(self.decoding)}")

    def execute(self, requests):
        pb = self.pb
        responses = []
        for request in requests:
            try:
                logits = pb.get_input_tensor_by_name(request, contract.LOGITS).as_numpy()
                probs = sigmoid(logits)
                if self.pool is not None:
                    text_index = pb.get_input_tensor_by_name(request, contract.TEXT_INDEX).as_numpy()
                    probs = fold_windows(probs, text_index, self.pool)
                pred = self.decoding.decode(probs)
                labels, conf, paths = pack_predictions(probs, pred, self.decoding.hierarchy)
                responses.append(
                    pb.InferenceResponse(
                        output_tensors=[
                            pb.Tensor(contract.LABEL_OUTPUT, labels.astype(self.dtypes[contract.LABEL_OUTPUT])),
                            pb.Tensor(contract.CONFIDENCE_OUTPUT, conf.astype(self.dtypes[contract.CONFIDENCE_OUTPUT])),
                            pb.Tensor(contract.PATH_OUTPUT, paths),
                        ]
                    )
                )
            except Exception as e:
                responses.append(pb.InferenceResponse(error=pb.TritonError(f"postprocess: {e}")))
        return responses
