"""Serving-time code: no paddle, no paddlenlp, only numpy (and ``tokenizers``).

The repository builder copies this folder into each Python-backend model as
``hiercls_runtime`` so that a model repository is self-contained: the NGC image
does not have hiercls installed.
"""
