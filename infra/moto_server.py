"""moto's server for the test command, with conditional writes made atomic.

moto serves requests on threads and checks a write's condition and applies it without a
lock, so two concurrent conditional writes can both pass their conditions — which DynamoDB
and Secrets Manager never allow. Inlet's contract tests check exactly that (concurrent
creates of one userName, compare-and-swap of one document or secret), so here every write of
moto's DynamoDB and Secrets Manager backends runs under one lock. Everything else is moto as
installed.
"""
import functools
import sys
import threading

from moto.dynamodb.models import DynamoDBBackend
from moto.secretsmanager.models import SecretsManagerBackend
from moto.server import main

_WRITES = threading.RLock()  # re-entrant: a transaction applies its writes through put_item and friends

WRITES = {
    DynamoDBBackend: ("put_item", "update_item", "delete_item", "transact_write_items"),
    SecretsManagerBackend: ("create_secret", "put_secret_value", "update_secret_version_stage"),
}

for backend, name in ((b, n) for b, names in WRITES.items() for n in names):
    method = getattr(backend, name)

    @functools.wraps(method)
    def atomic(self, *args, _method=method, **kwargs):
        with _WRITES:
            return _method(self, *args, **kwargs)

    setattr(backend, name, atomic)

if __name__ == "__main__":
    sys.exit(main())
