"""The checks of a pull source that look past its own fields: where its host leads, where its archive
directory lies. Run when a source is created or changed, so a bad source is refused up front rather
than failing at every run."""

from __future__ import annotations

import posixpath
from dataclasses import replace
from urllib.parse import urlsplit

from headwater.domain import DataSourceType
from headwater.errors import ConnectionFailed, FieldProblem, RemotePathRefused
from headwater.ingest.connectors.hosts import HostPolicy
from headwater.ingest.connectors.paths import checked_directory

_DEFAULT_PORTS = {DataSourceType.FTP.value: 21, DataSourceType.SFTP.value: 22}
# A request waits for this long at most on the source's DNS, whatever connect_timeout says.
LOOKUP_TIMEOUT = 5.0


async def host_problem(
    policy: HostPolicy, data_source_type: str, host: str, port: int | None, endpoint_url: str | None
) -> FieldProblem | None:
    """``HostNotAllowed`` when the server the source would connect to is not a public one (unless the
    operator allows it), ``HostNotResolvable`` when its name does not resolve; else None.

    For S3 that server is the endpoint URL's host; without one it is AWS's own, checked at each run.
    """
    if policy.allow_private:
        return None
    if data_source_type == DataSourceType.S3.value:
        if not endpoint_url:
            return None
        field = "endpointUrl"
        try:
            endpoint = urlsplit(endpoint_url)
            name = endpoint.hostname or ""
            port = endpoint.port or (443 if endpoint.scheme == "https" else 80)
        except ValueError:  # a port out of range
            return FieldProblem(field, "InvalidEndpointUrl", "endpointUrl: must be an http or https URL")
    else:
        field, name, port = "host", host, port or _DEFAULT_PORTS.get(data_source_type, 0)
    bounded = replace(policy, lookup_timeout=min(policy.lookup_timeout, LOOKUP_TIMEOUT))
    try:
        addresses = await bounded.resolve(name, port)
    except ConnectionFailed as exc:
        return FieldProblem(field, "HostNotResolvable", f"{field}: {exc.message}")
    refused = bounded.first_refusal(name, addresses)
    if refused is not None:
        return FieldProblem(field, "HostNotAllowed", f"{field}: {refused}; headwater does not connect to it")
    return None


def archive_directory_problem(archive_directory: str, working_directory: str, *, is_s3: bool) -> str | None:
    """Why ``archive_directory`` cannot be where imported files are moved to, or None.

    Relative directories are under the working directory. Absolute ones must lie inside it too (for
    S3 anywhere in the bucket, the source's root): a source never moves files elsewhere on the server.
    """
    try:
        directory = checked_directory(archive_directory)
    except RemotePathRefused:
        return "must be a directory without '.', '..', '//' or '\\\\', and not the root"
    if is_s3 or not directory.startswith("/"):
        return None
    working = working_directory.strip()
    if not working.startswith("/"):
        return "must be relative: the working directory is relative to the login directory"
    working = posixpath.normpath(working)
    if working == "/" or directory.startswith(working.rstrip("/") + "/"):
        return None
    return f"must lie inside the working directory {working} (or be relative to it)"
