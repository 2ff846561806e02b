"""The commands `make run` runs before serving: the demo content and the local admin account.

What the loaded demo looks like is in test_demo_content.py, which loads it once.
"""

import io
import re

from django.contrib.auth import get_user_model
from django.core.management import call_command

from blog.models import Post


def test_load_demo_twice_gives_26_posts(db):
    call_command("load_demo", verbosity=0)
    call_command("load_demo", verbosity=0)
    assert Post.objects.count() == 26
    assert Post.objects.published().count() == 26


def test_load_demo_says_what_it_loaded(db):
    out = io.StringIO()
    call_command("load_demo", stdout=out)
    call_command("load_demo", stdout=out)
    assert out.getvalue().splitlines() == [
        "Demo content: 26 post(s) loaded, 0 already there.",
        "Demo content: 0 post(s) loaded, 26 already there.",
    ]


def test_load_demo_says_nothing_at_verbosity_0(db):
    out = io.StringIO()
    call_command("load_demo", verbosity=0, stdout=out)
    assert out.getvalue() == ""


def test_create_local_admin_prints_password_once(db, capsys):
    call_command("create_local_admin")
    first = capsys.readouterr().out
    assert "http://127.0.0.1:8000/admin/" in first
    assert re.search(r"User name:\s+admin\n", first)
    password = re.search(r"Password:\s+(\S+)", first).group(1)
    assert get_user_model().objects.get(username="admin").check_password(password)

    call_command("create_local_admin")
    second = capsys.readouterr().out
    assert password not in second
    assert "http://127.0.0.1:8000/admin/" in second
    assert get_user_model().objects.count() == 1


def test_create_local_admin_says_how_to_reset_the_password_on_later_runs(db, capsys):
    get_user_model().objects.create_superuser(username="grace", password="x" * 20)
    call_command("create_local_admin", admin_url="http://127.0.0.1:9000/admin/")
    out = capsys.readouterr().out
    assert "http://127.0.0.1:9000/admin/ (user name grace)" in out
    assert "manage.py changepassword grace" in out
