"""The Paddle model for multilingual-e5-small: PaddleNLP's ErnieModel (which is
BERT's post-LN encoder when ``use_task_id`` is off) with e5's mean pooling under a
linear classification head.

ErnieModel's layers fit e5-small as they are: positions run 0..L-1, and
``hidden_act="gelu"`` is paddle's exact erf GELU. ``embed()`` runs its embeddings and
encoder with the additive mask ErnieModel would build from ``pad_token_id``. Its LayerNorm
epsilon is only set to 1e-12 by PaddleNLP's weight-init hook, which loading with
``no_init_weights`` skips, so the constructor sets it from the config itself.
"""

from __future__ import annotations

import paddle
from paddle import nn
from paddlenlp.transformers import ErnieConfig, ErnieModel, ErniePretrainedModel


class E5ForSequenceClassification(ErniePretrainedModel):
    """ERNIE/BERT encoder -> mean over non-pad tokens -> dropout -> linear logits.

    e5 was trained with mean pooling (all tokens, ``<s>`` and ``</s>`` included), so
    the head reads the same vector whose L2-normalised form is the e5 embedding.
    ERNIE's CLS pooler (tanh over ``<s>``) has no weights in the file and is removed."""

    def __init__(self, config: ErnieConfig):
        super().__init__(config)
        self.ernie = ErnieModel(config)
        self.num_labels = config.num_labels
        self.pad_token_id = config.pad_token_id
        dropout = config.classifier_dropout if config.classifier_dropout is not None else config.hidden_dropout_prob
        self.dropout = nn.Dropout(dropout)
        # A fresh linear head on pretrained features learns at head_lr_scale times the
        # encoder's rate: mean-pooled e5 states share one large common direction and vary
        # little between texts (per-dimension std ~0.09), so at an encoder-friendly rate
        # (1e-4) the head sits on the label-prior plateau for hundreds of steps.
        head = paddle.ParamAttr(learning_rate=float(getattr(config, "head_lr_scale", 1.0)))
        self.classifier = nn.Linear(config.hidden_size, config.num_labels, weight_attr=head, bias_attr=head)
        # The CLS pooler would be a parameter that never gets a gradient (which
        # DataParallel rejects) and weights nobody trained: drop it, and run the
        # embeddings and encoder directly in embed().
        del self.ernie.pooler
        for layer in self.sublayers():
            if isinstance(layer, nn.LayerNorm):
                layer._epsilon = config.layer_norm_eps

    def reset_head(self) -> None:
        """A fresh head: BERT's N(0, 0.02) weights, zero bias."""
        w = self.classifier.weight
        w.set_value(paddle.normal(0.0, self.config.initializer_range, w.shape).astype(w.dtype))
        self.classifier.bias.set_value(paddle.zeros_like(self.classifier.bias))

    def embed(self, input_ids, token_type_ids=None):
        """Mean of the last hidden states over non-pad tokens, [batch, hidden]."""
        keep = (input_ids != self.pad_token_id).astype(self.classifier.weight.dtype)
        # ErnieModel's own additive mask: -1e4 on padding, broadcast over heads and queries.
        attn_mask = ((1.0 - keep) * -1e4).unsqueeze([1, 2])
        hidden = self.ernie.embeddings(input_ids=input_ids, token_type_ids=token_type_ids)
        hidden = self.ernie.encoder(hidden, src_mask=attn_mask)
        keep = keep.unsqueeze(-1)
        return (hidden * keep).sum(axis=1) / keep.sum(axis=1).clip(min=1.0)

    def forward(self, input_ids, token_type_ids=None):
        return self.classifier(self.dropout(self.embed(input_ids, token_type_ids)))
