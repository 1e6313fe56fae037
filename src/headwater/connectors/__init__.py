"""Connectors: list and fetch the files of a source's server (FTP, FTPS, SFTP, S3)."""
