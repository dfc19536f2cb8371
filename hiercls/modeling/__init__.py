"""The Paddle model: making one (``models``), the offline pretrained encoders
(``encoders``), checkpoint folders (``checkpoint``), running a model on texts
(``inference``), the tokenizer.json the server uses (``fast_tokenizer``) and the
ERNIE -> BERT weight port (``bert_port``)."""
