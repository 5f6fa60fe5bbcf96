"""``python -m pulumi_render_kv.native <engine address>``: the provider, as a plugin."""

from pulumi_render_kv.native.server import main

if __name__ == "__main__":
    main()
