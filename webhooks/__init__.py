"""The outer shell: the aiohttp application (composition root), HTTP routes and the CLI."""
