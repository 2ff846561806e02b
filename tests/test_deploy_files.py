"""The Docker deployment: what can be checked without a Docker engine.

The compose file and Dockerfile are read as data; the build's collectstatic and the container's
entrypoint run here as they would in the image.
"""

import json
import os
import re
import socket
import stat
import subprocess
import sys
import tomllib
from pathlib import Path
from urllib.parse import urlparse

import pytest
import yaml
from packaging.specifiers import SpecifierSet

ROOT = Path(__file__).resolve().parent.parent
ENTRYPOINT = ROOT / "config" / "entrypoint.sh"
COMPOSE = yaml.safe_load((ROOT / "docker-compose.yml").read_text())
SERVICES = COMPOSE["services"]
VARIABLE = re.compile(r"\$\{(?P<name>\w+)(?:(?P<operator>:?-)(?P<default>[^}]*))?\}")


def interpolate(value, environ):
    """Compose's `${NAME}`, `${NAME-default}` and `${NAME:-default}` with these variables."""

    def replace(match):
        name, operator = match["name"], match["operator"]
        if operator == ":-" and not environ.get(name):
            return match["default"]
        if operator == "-" and name not in environ:
            return match["default"]
        return environ.get(name, "")

    return VARIABLE.sub(replace, str(value))


def container_environment(service, environ=None):
    return {
        name: interpolate(value, environ or {})
        for name, value in SERVICES[service]["environment"].items()
    }


def dockerfile_instructions():
    text = (ROOT / "Dockerfile").read_text()
    lines = [line for line in text.splitlines() if not line.lstrip().startswith("#")]
    joined = re.sub(r"\\\n\s*", " ", "\n".join(lines))
    instructions = []
    for line in joined.splitlines():
        if line.strip():
            keyword, _, arguments = line.strip().partition(" ")
            instructions.append((keyword.upper(), arguments.strip()))
    return instructions


def dockerfile_arguments(keyword):
    return [arguments for found, arguments in dockerfile_instructions() if found == keyword]


def exec_form(arguments):
    """An ENTRYPOINT or CMD as its argument list, in JSON (exec) form or shell form."""
    if arguments.startswith("["):
        return json.loads(arguments)
    return ["/bin/sh", "-c", arguments]


def as_text(command):
    return command if isinstance(command, str) else " ".join(command)


def web_shell_command():
    """What web runs: compose's `command`, else the image's CMD, as a `sh -c` script."""
    command = SERVICES["web"].get("command") or exec_form(dockerfile_arguments("CMD")[-1])
    if isinstance(command, str):
        return command
    assert command[:2] in (["sh", "-c"], ["/bin/sh", "-c"])
    return command[2]


def dockerfile_environment():
    """The image's ENV, as {name: value}."""
    return dict(
        pair.split("=", 1)
        for arguments in dockerfile_arguments("ENV")
        for pair in arguments.split()
    )


def published_ports(service):
    """[(host address or "", host port, container port)] of a service's `ports`."""
    published = []
    for port in SERVICES[service].get("ports", []):
        *address, host_port, container_port = str(port).split(":")
        published.append(("".join(address), host_port, container_port))
    return published


def named_volume_mounts(service):
    mounts = {}
    for volume in SERVICES[service].get("volumes", []):
        source, _, target = volume.partition(":")
        if source in (COMPOSE.get("volumes") or {}):
            mounts[target] = source
    return mounts


def run_entrypoint(*command, environ):
    return subprocess.run(  # noqa: S603
        [str(ENTRYPOINT), *command], env=environ, capture_output=True, text=True, check=False
    )


@pytest.fixture
def entrypoint_environ(tmp_path):
    """The process environment with no secret key and the key file in a tmp "volume"."""
    environ = {
        name: value
        for name, value in os.environ.items()
        if name not in {"DJANGO_SECRET_KEY", "SECRET_KEY_FILE"}
    }
    # The entrypoint calls `python`; in the image it is on the PATH, here it is the venv's.
    environ["PATH"] = f"{Path(sys.executable).parent}{os.pathsep}{environ.get('PATH', '')}"
    environ["SECRET_KEY_FILE"] = str(tmp_path / "secret_key")
    return environ


def test_compose_defines_database_cache_mail_storage_web_and_worker_services():
    assert set(SERVICES) == {"db", "web", "worker", "redis", "mailpit", "minio", "createbuckets"}


def test_database_keeps_its_data_in_a_named_volume():
    # Outside a volume, `docker compose down` or a new image would lose every post.
    assert "/var/lib/postgresql/data" in named_volume_mounts("db")


def test_database_credentials_match_the_apps_database_url():
    db = SERVICES["db"]["environment"]
    user, password, name = db["POSTGRES_USER"], db["POSTGRES_PASSWORD"], db["POSTGRES_DB"]
    for service in ("web", "worker"):
        database_url = container_environment(service)["DATABASE_URL"]
        assert database_url == f"postgres://{user}:{password}@db:5432/{name}"


def test_every_service_waited_on_until_healthy_has_a_healthcheck():
    # Without one, compose fails the dependent service instead of starting it.
    waited_on = {
        name
        for service in SERVICES.values()
        for name, dependency in (service.get("depends_on") or {}).items()
        if dependency["condition"] == "service_healthy"
    }
    assert waited_on
    assert all(SERVICES[name]["healthcheck"]["test"] for name in waited_on)


def test_minio_keeps_its_objects_in_a_named_volume():
    # The server's data directory is the first argument after `server`.
    command = SERVICES["minio"]["command"]
    data_directory = command[command.index("server") + 1]
    assert data_directory in named_volume_mounts("minio")


@pytest.mark.parametrize(
    "environ",
    [{}, {"S3_BUCKET": "media", "S3_ACCESS_KEY_ID": "key", "S3_SECRET_ACCESS_KEY": "secret123"}],
    ids=["defaults", "dotenv"],
)
def test_apps_storage_settings_match_minio_and_the_bucket_created(environ):
    minio = container_environment("minio", environ)
    createbuckets = container_environment("createbuckets", environ)
    for service in ("web", "worker"):
        app = container_environment(service, environ)
        assert (app["S3_ACCESS_KEY_ID"], app["S3_SECRET_ACCESS_KEY"]) == (
            minio["MINIO_ROOT_USER"],
            minio["MINIO_ROOT_PASSWORD"],
        )
        assert app["S3_REGION"] == minio["MINIO_SITE_REGION"]
        assert app["S3_BUCKET"] == createbuckets["S3_BUCKET"]
        assert urlparse(app["S3_ENDPOINT_URL"]).hostname == "minio"
    # MinIO refuses a root password shorter than 8 characters.
    assert len(minio["MINIO_ROOT_PASSWORD"]) >= 8
    assert {"$$S3_BUCKET", "$$S3_ACCESS_KEY_ID", "$$S3_SECRET_ACCESS_KEY"} <= set(
        re.findall(r"\$\$\w+", as_text(SERVICES["createbuckets"]["command"]))
    )


def test_web_starts_once_minio_is_healthy_and_the_bucket_exists():
    depends_on = SERVICES["web"]["depends_on"]
    assert depends_on["minio"]["condition"] == "service_healthy"
    assert depends_on["createbuckets"]["condition"] == "service_completed_successfully"
    assert SERVICES["createbuckets"]["depends_on"]["minio"]["condition"] == "service_healthy"
    assert "--ignore-existing" in as_text(SERVICES["createbuckets"]["command"])


def test_minio_console_answers_on_this_machine_only():
    # The console signs in with the root credentials, which have every right on every bucket.
    ports = published_ports("minio")
    assert ports
    assert {address for address, _, _ in ports} == {"127.0.0.1"}


def test_mailpit_inbox_answers_on_this_machine_only():
    # The inbox has no login: published on every interface, anyone nearby could read the email.
    ports = published_ports("mailpit")
    assert ports
    assert {address for address, _, _ in ports} == {"127.0.0.1"}


def test_web_publishes_and_checks_the_port_gunicorn_listens_on():
    image = dockerfile_environment()
    # gunicorn.conf.py binds HOST:PORT; on the container's loopback nothing outside could reach it.
    assert image["HOST"] in {"0.0.0.0", "::"}  # noqa: S104
    assert [container for _, _, container in published_ports("web")] == [image["PORT"]]
    assert dockerfile_arguments("EXPOSE") == [image["PORT"]]
    check = as_text(SERVICES["web"]["healthcheck"]["test"])
    assert f"urlopen('http://127.0.0.1:{image['PORT']}/healthz'" in check


def test_web_starts_once_database_and_redis_are_healthy():
    depends_on = SERVICES["web"]["depends_on"]
    assert depends_on["db"]["condition"] == "service_healthy"
    assert depends_on["redis"]["condition"] == "service_healthy"


@pytest.mark.django_db(transaction=True)
def test_web_healthcheck_passes_while_the_site_answers_and_fails_when_nothing_listens(
    live_server,
):
    check = SERVICES["web"]["healthcheck"]["test"]
    assert check[:3] == ["CMD", "python", "-c"]
    code = check[3]
    with socket.socket() as unused:
        unused.bind(("127.0.0.1", 0))
        closed_port = unused.getsockname()[1]

    def run_check(base_url):
        pointed = code.replace("http://127.0.0.1:8000", base_url)
        assert pointed != code
        return subprocess.run([sys.executable, "-c", pointed], capture_output=True, check=False)  # noqa: S603

    assert run_check(live_server.url).returncode == 0
    assert run_check(f"http://127.0.0.1:{closed_port}").returncode != 0


def test_worker_runs_db_worker_once_web_is_healthy():
    worker = SERVICES["worker"]
    assert re.search(r"(^|\s)python manage\.py db_worker$", as_text(worker["command"]))
    # Healthy web has run the migrations the worker's tables need.
    assert worker["depends_on"]["web"]["condition"] == "service_healthy"


def test_web_and_worker_run_the_same_image_with_the_same_settings():
    web, worker = SERVICES["web"], SERVICES["worker"]
    assert web["build"] == worker["build"] == "."
    assert web["environment"] == worker["environment"]


@pytest.mark.parametrize("service", ["web", "worker"])
def test_defaults_point_at_the_compose_services_and_the_published_site(service):
    environment = container_environment(service)
    assert urlparse(environment["REDIS_URL"]).hostname in SERVICES
    assert environment["EMAIL_HOST"] in SERVICES
    site = urlparse(environment["SITE_URL"])
    assert str(site.port) in {host_port for _, host_port, _ in published_ports("web")}
    assert site.hostname in environment["DJANGO_ALLOWED_HOSTS"].split(",")
    assert urlparse(environment["S3_ENDPOINT_URL"]).hostname in SERVICES
    # Empty, so the entrypoint generates a key of this deployment's own.
    assert environment["DJANGO_SECRET_KEY"] == ""


def test_a_dotenv_value_replaces_the_default():
    environment = container_environment(
        "web", {"SITE_URL": "https://blog.example.com", "DJANGO_SECRET_KEY": "from-dotenv"}
    )
    assert environment["SITE_URL"] == "https://blog.example.com"
    assert environment["DJANGO_SECRET_KEY"] == "from-dotenv"


def settings_in_web_container(values, *, unset):
    """`values` (Python, after `from django.conf import settings`) as Django computes them from
    the web service's environment, with this machine's variables that start with `unset` gone."""
    environ = {name: value for name, value in os.environ.items() if not name.startswith(unset)}
    environ |= container_environment("web")
    environ["DJANGO_SECRET_KEY"] = "generated-by-the-entrypoint"
    script = (
        "import json, django; from django.conf import settings; django.setup(); "
        f"from django.core.files.storage import storages; print(json.dumps([{values}]))"
    )
    result = subprocess.run(  # noqa: S603
        [sys.executable, "-c", script],
        cwd=ROOT,
        env={**environ, "DJANGO_SETTINGS_MODULE": "config.settings"},
        capture_output=True,
        text=True,
        check=True,
    )
    return json.loads(result.stdout)


def test_default_environment_gives_postgres_redis_smtp_settings():
    compose = container_environment("web")
    values = settings_in_web_container(
        "settings.DATABASES['default']['ENGINE'], settings.DATABASES['default']['HOST'], "
        "settings.CACHES['default']['LOCATION'], settings.EMAIL_BACKEND, settings.EMAIL_HOST, "
        "settings.EMAIL_PORT, settings.DEFAULT_FROM_EMAIL, settings.SITE_URL, "
        "settings.ALLOWED_HOSTS, settings.SECURE_SSL_REDIRECT",
        unset=("DJANGO_", "EMAIL_", "DATABASE_", "SITE_", "DEFAULT_FROM", "REDIS_URL"),
    )
    assert values == [
        "django.db.backends.postgresql",
        urlparse(compose["DATABASE_URL"]).hostname,
        compose["REDIS_URL"],
        "django.core.mail.backends.smtp.EmailBackend",
        compose["EMAIL_HOST"],
        int(compose["EMAIL_PORT"]),
        compose["DEFAULT_FROM_EMAIL"],
        compose["SITE_URL"],
        compose["DJANGO_ALLOWED_HOSTS"].split(","),
        False,
    ]


def test_default_environment_keeps_uploads_in_minio_and_serves_them_at_media():
    compose = container_environment("web")
    values = settings_in_web_container(
        "type(storages['default']).__name__, storages['default'].bucket_name, "
        "storages['default'].endpoint_url, storages['default'].access_key, "
        "storages['default'].secret_key, storages['default'].querystring_auth, "
        "settings.MEDIA_URL",
        unset=("DJANGO_", "S3_", "AWS_", "MEDIA_"),
    )
    assert values == [
        "S3Storage",
        compose["S3_BUCKET"],
        compose["S3_ENDPOINT_URL"],
        compose["S3_ACCESS_KEY_ID"],
        compose["S3_SECRET_ACCESS_KEY"],
        False,
        "/media/",
    ]


def test_web_and_worker_keep_the_generated_key_in_one_shared_volume():
    key_file = re.search(r"SECRET_KEY_FILE:-([^}]+)\}", ENTRYPOINT.read_text())[1]
    key_directory = str(Path(key_file).parent)
    web_volume = named_volume_mounts("web")[key_directory]
    assert named_volume_mounts("worker")[key_directory] == web_volume


def test_every_compose_variable_is_listed_in_env_example():
    listed = set(re.findall(r"^#?\s*([A-Z][A-Z0-9_]*)=", (ROOT / ".env.example").read_text(), re.M))
    used = {match["name"] for match in VARIABLE.finditer(json.dumps(COMPOSE))}
    assert used
    assert used - listed == set()


def test_web_serves_with_gunicorn_as_make_run_does_after_migrating():
    makefile = (ROOT / "Makefile").read_text()
    make_run = re.search(r"gunicorn (-c gunicorn\.conf\.py \S+)", makefile)[1]
    assert web_shell_command() == (
        f"python manage.py migrate --noinput && exec gunicorn {make_run}"
    )


def test_image_python_is_one_the_project_supports():
    python = re.fullmatch(r"python:(\d+\.\d+)\S*", dockerfile_arguments("FROM")[0])[1]
    requires = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["requires-python"]
    assert python in SpecifierSet(requires)


def test_image_runs_as_a_user_other_than_root():
    users = dockerfile_arguments("USER")
    assert users
    assert users[-1].split(":")[0] not in {"root", "0"}


def test_image_commands_use_files_that_exist():
    commands = dockerfile_arguments("RUN") + [
        as_text(exec_form(arguments))
        for arguments in dockerfile_arguments("CMD") + dockerfile_arguments("ENTRYPOINT")
    ]
    referenced = {
        path.removeprefix("/app/")
        for command in commands
        for path in re.findall(r"(?<![\w./-])[\w./-]+\.(?:py|sh)\b", command)
    }
    assert {"manage.py", "gunicorn.conf.py", "config/entrypoint.sh"} <= referenced
    assert all((ROOT / path).is_file() for path in referenced)
    assert ENTRYPOINT.stat().st_mode & stat.S_IXUSR


def test_dockerignore_keeps_local_state_secrets_and_tests_out_of_the_image():
    ignored = set((ROOT / ".dockerignore").read_text().split())
    expected = {".git", ".venv", ".env", ".secret_key", "db.sqlite3", "staticfiles", "var"}
    assert expected | {"tests", "**/__pycache__"} <= ignored


def test_image_collectstatic_writes_the_manifest_and_compressed_css(tmp_path):
    (collect,) = [run for run in dockerfile_arguments("RUN") if "collectstatic" in run]
    environ = {
        name: value
        for name, value in os.environ.items()
        if name not in {"DJANGO_SECRET_KEY", "DJANGO_DEBUG", "DATABASE_URL", "REDIS_URL"}
    }
    environ["PATH"] = f"{Path(sys.executable).parent}{os.pathsep}{environ.get('PATH', '')}"
    environ["DJANGO_STATIC_ROOT"] = str(tmp_path)
    subprocess.run(  # noqa: S603
        ["/bin/sh", "-c", collect], cwd=ROOT, env=environ, capture_output=True, check=True
    )
    hashed = json.loads((tmp_path / "staticfiles.json").read_text())["paths"]["css/site.css"]
    assert hashed != "css/site.css"
    for suffix in ("", ".gz", ".br"):
        assert (tmp_path / f"{hashed}{suffix}").is_file()


def test_entrypoint_generates_a_private_key_and_gives_it_to_the_command(entrypoint_environ):
    key_file = Path(entrypoint_environ["SECRET_KEY_FILE"])
    result = run_entrypoint(
        "sh", "-c", 'printf %s "$DJANGO_SECRET_KEY"', environ=entrypoint_environ
    )
    assert result.returncode == 0, result.stderr
    assert len(result.stdout) >= 50
    assert key_file.read_text().strip() == result.stdout
    assert stat.S_IMODE(key_file.stat().st_mode) == 0o600
    assert list(key_file.parent.iterdir()) == [key_file]


def test_entrypoint_reuses_the_stored_key_on_the_next_start(entrypoint_environ):
    print_key = ("sh", "-c", 'printf %s "$DJANGO_SECRET_KEY"')
    first = run_entrypoint(*print_key, environ=entrypoint_environ).stdout
    second = run_entrypoint(*print_key, environ=entrypoint_environ).stdout
    assert first
    assert second == first


def test_entrypoint_generates_a_key_when_compose_passes_an_empty_one(entrypoint_environ):
    environ = {**entrypoint_environ, "DJANGO_SECRET_KEY": ""}
    result = run_entrypoint("sh", "-c", 'printf %s "$DJANGO_SECRET_KEY"', environ=environ)
    assert len(result.stdout) >= 50
    assert Path(environ["SECRET_KEY_FILE"]).read_text().strip() == result.stdout


def test_entrypoint_leaves_a_key_from_the_environment_alone(entrypoint_environ):
    environ = {**entrypoint_environ, "DJANGO_SECRET_KEY": "set-by-the-operator"}
    result = run_entrypoint("sh", "-c", 'printf %s "$DJANGO_SECRET_KEY"', environ=environ)
    assert result.stdout == "set-by-the-operator"
    assert not Path(environ["SECRET_KEY_FILE"]).exists()


def test_entrypoint_runs_the_command_with_its_arguments_and_exit_status(entrypoint_environ):
    result = run_entrypoint("printf", "%s|", "two words", "one", environ=entrypoint_environ)
    assert result.stdout == "two words|one|"
    assert run_entrypoint("sh", "-c", "exit 3", environ=entrypoint_environ).returncode == 3


def test_web_and_worker_starting_together_end_up_with_one_key(entrypoint_environ):
    starts = [
        subprocess.Popen(  # noqa: S603
            [str(ENTRYPOINT), "sh", "-c", 'printf %s "$DJANGO_SECRET_KEY"'],
            env=entrypoint_environ,
            stdout=subprocess.PIPE,
            text=True,
        )
        for _ in range(4)
    ]
    keys = {start.communicate()[0] for start in starts}
    assert keys == {Path(entrypoint_environ["SECRET_KEY_FILE"]).read_text().strip()}
