"""Command-line entry points, one module per command (``hiercls-train`` ->
``hiercls.cli.train:main``). They map flags to one library call; the script paths
(training/train.py, builders/*.py, clients/seqcls_grpc_client.py) call the same mains."""
