"""A real S3 API on loopback (moto's standalone server) and the blog's default storage in it.

Register with `pytest_plugins = ["tests.s3_server"]` in tests/conftest.py, then ask for
`s3_storage` in a test: a fresh bucket, with the default storage pointed at it.
"""

import itertools
import logging
from dataclasses import dataclass

import boto3
import pytest
from django.test import override_settings
from moto.server import ThreadedMotoServer

REGION = "us-east-1"
# moto accepts any keys; these only have to be the same for boto3 and django-storages.
ACCESS_KEY = "testing-access-key"
SECRET_KEY = "testing-secret-key"  # noqa: S105

bucket_numbers = itertools.count(1)


@dataclass
class S3Bucket:
    name: str
    client: object  # boto3's S3 client, signed in to the loopback server
    endpoint_url: str

    def object_keys(self):
        """Every object's key in the bucket, sorted."""
        paginator = self.client.get_paginator("list_objects_v2")
        return sorted(
            item["Key"]
            for page in paginator.paginate(Bucket=self.name)
            for item in page.get("Contents", [])
        )

    def read(self, key):
        return self.client.get_object(Bucket=self.name, Key=key)["Body"].read()


def storage_options(bucket_name, endpoint_url):
    """The default storage's OPTIONS, as config/settings.py builds them with S3_BUCKET set."""
    return {
        "bucket_name": bucket_name,
        "endpoint_url": endpoint_url,
        "region_name": REGION,
        "access_key": ACCESS_KEY,
        "secret_key": SECRET_KEY,
        "default_acl": None,
        "querystring_auth": False,
        "addressing_style": "path",
    }


@pytest.fixture(scope="session")
def s3_server():
    """moto's S3 on 127.0.0.1 and a port the system picked; yields its endpoint URL."""
    # Port 0: the server binds a free port itself, so no other process can take it meanwhile.
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    # werkzeug logs every request at INFO, which the project's logging would print.
    werkzeug = logging.getLogger("werkzeug")
    level = werkzeug.level
    werkzeug.setLevel(logging.WARNING)
    server.start()
    host, port = server.get_host_and_port()
    yield f"http://{host}:{port}"
    server.stop()
    werkzeug.setLevel(level)


@pytest.fixture
def s3_storage(s3_server, settings):
    """A new, empty bucket with the default storage (`default_storage`) pointed at it."""
    client = boto3.client(
        "s3",
        endpoint_url=s3_server,
        region_name=REGION,
        aws_access_key_id=ACCESS_KEY,
        aws_secret_access_key=SECRET_KEY,
    )
    name = f"blog-media-{next(bucket_numbers)}"
    client.create_bucket(Bucket=name)
    storages = {
        **settings.STORAGES,
        "default": {
            "BACKEND": "storages.backends.s3.S3Storage",
            "OPTIONS": storage_options(name, s3_server),
        },
    }
    # Changing STORAGES makes Django drop the storages it made, default_storage included.
    with override_settings(STORAGES=storages):
        yield S3Bucket(name=name, client=client, endpoint_url=s3_server)
