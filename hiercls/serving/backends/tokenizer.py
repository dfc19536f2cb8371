"""Tokenizer step of the ensemble: BYTES texts [N, 1] -> input_ids, token_type_ids [N, T].

T is the request's own longest text (rounded up to a bucket), never a global
maximum. A bad text fails only its own request. With long-text windows on
(``long_text_windows`` > 0 in the config), a text longer than max_seq_length
becomes several overlapping rows: R >= N rows, plus ``text_index`` [R, 1] naming
each row's text, which the postprocess uses to fold the rows back into N answers.
"""

from __future__ import annotations

try:  # inside a built model repository
    from hiercls_runtime import contract
    from hiercls_runtime.artifacts import TOKENIZER_FILE
    from hiercls_runtime.long_text import LongText
    from hiercls_runtime.tokenization import TextEncoder, TextError
    from hiercls_runtime.triton_args import output_dtypes, parse_args
except ImportError:  # from the source tree
    from hiercls.runtime import contract
    from hiercls.runtime.artifacts import TOKENIZER_FILE
    from hiercls.runtime.long_text import LongText
    from hiercls.runtime.tokenization import TextEncoder, TextError
    from hiercls.runtime.triton_args import output_dtypes, parse_args


class TritonPythonModel:
    def initialize(self, args: dict[str, str]) -> None:
        import triton_python_backend_utils as pb_utils

        self.pb = pb_utils
        config, params, version_dir = parse_args(args)
        self.dtypes = output_dtypes(pb_utils, config)
        self.encoder = TextEncoder(
            version_dir / TOKENIZER_FILE,
            max_seq_length=int(params["max_seq_length"]),
            pad_id=int(params["pad_token_id"]),
            pad_to_multiple_of=int(params["pad_to_multiple_of"]),
            max_text_chars=int(params["max_text_chars"]),
        )
        windows = int(params.get("long_text_windows", "0"))
        self.long_text = LongText(windows, int(params["long_text_stride"])) if windows else None

    def execute(self, requests):
        pb = self.pb
        responses = []
        for request in requests:
            try:
                texts = pb.get_input_tensor_by_name(request, contract.TEXT_INPUT).as_numpy()
                if texts.ndim != 2 or texts.shape[1] != 1:
                    raise TextError(f"{contract.TEXT_INPUT} must have shape [N, 1], got {list(texts.shape)}")
                if self.long_text is None:
                    ids, types = self.encoder.encode(texts[:, 0].tolist())
                else:
                    ids, types, text_index = self.encoder.encode_windows(texts[:, 0].tolist(), self.long_text)
                outputs = [
                    pb.Tensor(contract.INPUT_IDS, ids.astype(self.dtypes[contract.INPUT_IDS])),
                    pb.Tensor(contract.TOKEN_TYPE_IDS, types.astype(self.dtypes[contract.TOKEN_TYPE_IDS])),
                ]
                if self.long_text is not None:
                    index = text_index.reshape(-1, 1).astype(self.dtypes[contract.TEXT_INDEX])
                    outputs.append(pb.Tensor(contract.TEXT_INDEX, index))
                responses.append(pb.InferenceResponse(output_tensors=outputs))
            except TextError as e:  # the client's fault: INVALID_ARG, not INTERNAL
                responses.append(
                    pb.InferenceResponse(error=pb.TritonError(f"tokenizer: {e}", pb.TritonError.INVALID_ARG))
                )
            except Exception as e:  # one bad request must not take the others down
                responses.append(pb.InferenceResponse(error=pb.TritonError(f"tokenizer: {e}")))
        return responses
