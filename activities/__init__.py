"""Every side effect of Stepwise: AWS, Postgres and partner HTTP calls, one package per pipeline.

Each pipeline's package holds ``contracts.py`` (plain data: every input and output, the
error types, and an :class:`~activities.common.contracts.ActivityRef` per activity), its
activity classes (methods that receive their clients in ``__init__``) and ``catalog.py``,
which builds them from the worker's :class:`~activities.common.deps.ActivityDeps`.

One rule for blocking libraries: activities are ``async``; boto3, which blocks, is
always called through :meth:`activities.common.aws.AwsClients.call`, which runs it on a
thread with ``asyncio.to_thread`` and maps its errors through the AWS taxonomy.
"""
