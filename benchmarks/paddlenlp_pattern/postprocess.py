"""PaddleNLP-pattern postprocess: sigmoid and a fixed 0.5 threshold, every row
(PaddleNLP's read row 0 only). Outputs [N, K] padded with -1 / 0."""

import numpy as np
import triton_python_backend_utils as pb_utils


class TritonPythonModel:
    def initialize(self, args):
        pass

    def execute(self, requests):
        responses = []
        for request in requests:
            logits = pb_utils.get_input_tensor_by_name(request, "logits").as_numpy()
            probs = 1 / (1 + np.exp(-logits))
            rows = [np.flatnonzero(p > 0.5) for p in probs]
            k = max(1, max(len(r) for r in rows))
            labels = np.full((len(rows), k), -1, dtype=np.int64)
            conf = np.zeros((len(rows), k), dtype=np.float32)
            for i, r in enumerate(rows):
                labels[i, : len(r)] = r
                conf[i, : len(r)] = probs[i, r]
            responses.append(pb_utils.InferenceResponse(output_tensors=[
                pb_utils.Tensor("label", labels), pb_utils.Tensor("confidence", conf)]))
        return responses
