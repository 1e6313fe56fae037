"""Signed webhooks: a tenant's endpoints are told the moment an import succeeds, rejects rows or fails.

- ``events``: the event types and the payloads they carry;
- ``endpoints``: registering, changing and removing endpoints, with their signing secrets;
- ``outbox``: events written in the transaction of the outcome that causes them;
- ``signing``: the Standard Webhooks signature;
- ``client``: the guarded HTTP client that makes one attempt;
- ``delivery``: taking due deliveries, retrying with backoff, the delivery log, the loop that runs it.
"""
