"""`python -m bench serving|search|sending|images [options]`: the benchmarks, which are not
part of the installed product. `make bench` runs the serving one; `--help` after a name lists
its options."""

import os
import sys

import django


def main():
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
    django.setup()
    from bench import images, search, sending, serving

    commands = {
        "serving": serving.Command,
        "search": search.Command,
        "sending": sending.Command,
        "images": images.Command,
    }
    if len(sys.argv) < 2 or sys.argv[1] not in commands:
        sys.exit(f"usage: python -m bench {{{'|'.join(commands)}}} [options]")
    name = sys.argv[1]
    commands[name]().run_from_argv(["python -m bench", name, *sys.argv[2:]])


if __name__ == "__main__":
    main()
