"""moto's server, with DynamoDB requests applied one at a time.

Real DynamoDB applies each write and each transaction atomically. moto's
threaded server does not: two transactions can interleave, and a canceled
one restores a snapshot of the whole table, erasing a concurrent write. The
service's guarantees (exact rate limits, one job per idempotency key) are
tested under concurrency, so this launcher serializes DynamoDB and DynamoDB
Streams calls. Everything else (SQS long polls, S3) stays concurrent.

moto also deep-copies every table a transaction touches, to roll back on
failure: a cost that grows with the table (seconds per call at a few thousand
items). Under the lock a cheaper way is as safe: evaluate every condition of
the transaction first, cancel without writing anything if one fails (exactly
DynamoDB's outcome), and otherwise let moto apply it without the copy. So no
stream record is ever written for a canceled transaction either.

Usage: python3 moto_server.py PORT
"""

import os
import sys
import threading

import copy
import types

import moto.dynamodb.models as ddb_models
from moto.dynamodb.comparisons import get_filter_expression
from moto.dynamodb.exceptions import TransactionCanceledException
from moto.dynamodb.models.table import Table
from moto.moto_server.werkzeug_app import DomainDispatcherApplication, create_backend_app
from werkzeug.serving import run_simple


def _check_then_apply(original):
    def transact_write_items(self, transact_items):
        reasons = []
        for entry in transact_items:
            op_type, op = next(iter(entry.items()))
            table = self.get_table(op["TableName"])
            if op_type == "Put":
                key = {table.hash_key_attr: op["Item"][table.hash_key_attr]}
                if table.range_key_attr is not None:
                    key[table.range_key_attr] = op["Item"][table.range_key_attr]
            else:
                key = op["Key"]
            condition = op.get("ConditionExpression")
            if condition is None:
                reasons.append((None, None, None))
                continue
            current = self.get_item(op["TableName"], key)
            check = get_filter_expression(
                condition,
                op.get("ExpressionAttributeNames"),
                op.get("ExpressionAttributeValues"),
            )
            if check.expr(current):
                reasons.append((None, None, None))
            else:
                old = None
                if op.get("ReturnValuesOnConditionCheckFailure") == "ALL_OLD" and current:
                    old = current.to_json()["Attributes"]
                reasons.append(("ConditionalCheckFailed", "The conditional request failed", old))
        if any(code is not None for code, _, _ in reasons):
            raise TransactionCanceledException(reasons)
        # Every condition holds: apply, skipping moto's whole-table copies.
        real_copy = ddb_models.copy
        ddb_models.copy = types.SimpleNamespace(
            deepcopy=lambda obj, *a: obj if isinstance(obj, Table) else copy.deepcopy(obj, *a)
        )
        try:
            return original(self, transact_items)
        finally:
            ddb_models.copy = real_copy

    return transact_write_items


ddb_models.DynamoDBBackend.transact_write_items = _check_then_apply(
    ddb_models.DynamoDBBackend.transact_write_items
)


def main() -> None:
    port = int(sys.argv[1])
    os.environ.setdefault("MOTO_PORT", str(port))
    app = DomainDispatcherApplication(create_backend_app)
    lock = threading.Lock()

    def serialized(environ, start_response):
        if environ.get("HTTP_X_AMZ_TARGET", "").startswith("DynamoDB"):
            with lock:
                # Produce the whole body inside the lock.
                return [b"".join(app(environ, start_response))]
        return app(environ, start_response)

    run_simple("127.0.0.1", port, serialized, threaded=True)


if __name__ == "__main__":
    main()
