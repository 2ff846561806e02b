import re

from django.contrib.auth import get_user_model
from django.core.management import call_command

from blog.models import Post


def test_load_demo_twice_gives_26_posts(db):
    call_command("load_demo")
    call_command("load_demo")
    assert Post.objects.count() == 26
    assert Post.objects.published().count() == 26


def test_create_local_admin_prints_password_once(db, capsys):
    call_command("create_local_admin")
    first = capsys.readouterr().out
    password = re.search(r"password:\s+(\S+)", first).group(1)
    assert get_user_model().objects.get(username="admin").check_password(password)

    call_command("create_local_admin")
    second = capsys.readouterr().out
    assert password not in second
    assert "http://127.0.0.1:8000/admin/" in second
    assert get_user_model().objects.count() == 1
