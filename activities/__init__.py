"""Every side effect of Stepwise: AWS, Postgres and partner HTTP calls.

Activities are methods of classes that receive their clients in ``__init__``; the
worker (``worker.registry``) builds those clients once and registers the methods.

One rule for blocking libraries: activities are ``async``; boto3, which blocks, is
always called through :meth:`activities.aws.AwsClients.call`, which runs it on a
thread with ``asyncio.to_thread`` and maps its errors through the AWS taxonomy.
"""
