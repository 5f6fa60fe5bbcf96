# The engine runs `venv/bin/python <this folder> <engine address> ...`: start the provider.
from pulumi_render_kv.native.server import main

main()
