"""Stage 7, the client: ``SeqClsClient`` calls the served ensemble over gRPC.

    from hiercls.client import SeqClsClient
"""

from hiercls.client.grpc import SeqClsClient

__all__ = ["SeqClsClient"]
