"""Stage 5, the Triton model repository: every config.pbtxt (``triton_config``),
assembling the repository from an export folder (``build``) and the limits a
repository is built with (``limits``). Imports no paddle."""
