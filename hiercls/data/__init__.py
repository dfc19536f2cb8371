"""Stage 1, data: reading PaddleNLP-format files (``reading``), carving a test split
(``split``) and batching token ids (``batching``)."""
